"""Authors: counts kept by triggers must equal a GROUP BY over mentions, whatever happens.

The cases that go through ``AuthorStore`` run on both backends (``backend``, tests/backends.py).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from listener.cli import cli
from listener.model import Mention, Page
from listener.records import utc_iso
from storage import Store
from storage.authors import AuthorRow
from tests.backends import Backend
from tests.harness import vm_steps

T0 = datetime(2024, 5, 2, 8, tzinfo=UTC)
LABELS = (None, "negative", "neutral", "positive")
OWN = [("x", "aurora_official"), ("reddit", "AuroraCare")]

# An author: (author_id, handle, name); some have no id (keyed by handle), one is ours.
AUTHORS = [
    ("u1", "mario", "Mario"),
    ("u1", "mario_new", "Mario R."),  # renamed: same id, new handle and name
    (None, "jane", "Jane"),
    (None, "jane", None),
    ("u3", "bot", "Bot"),
    (None, None, None),  # no author at all: not counted
    (None, "aurora_official", "Caffè Aurora"),
    (None, "@AuroraCare", "Aurora Care"),
]

mention_ops = st.tuples(
    st.just("post"),
    st.sampled_from(["x", "reddit"]),
    st.integers(0, 11),  # native id: repeats are re-collections or edits
    st.integers(0, len(AUTHORS) - 1),
    st.integers(0, 3),  # text variant: a different one is an edit
    st.integers(0, 240),  # minutes after T0
    st.one_of(st.none(), st.integers(0, 11)),  # in reply to
)
score_ops = st.tuples(st.just("score"), st.integers(0, 30), st.sampled_from(LABELS[1:]))
ops = st.lists(st.one_of(mention_ops, score_ops), min_size=1, max_size=40)


def expected(backend: Backend) -> dict[tuple[str, str], dict[str, Any]]:
    """The authors table as a GROUP BY over mentions would give it, replies counted in Python."""
    rows: list[Any] = backend.rows(
        "SELECT network, native_id, author_id, author_handle, author_name, created_at, sentiment_label, "
        "in_reply_to_id FROM mentions ORDER BY created_at, id"
    )
    own = {(net, handle.lower().lstrip("@")) for net, handle in OWN}
    out: dict[tuple[str, str], dict[str, Any]] = {}
    key_of = {}
    for net, nid, aid, handle, name, created, label, _ in rows:
        key = aid or handle
        key_of[(net, nid)] = key
        if not key:
            continue
        a = out.setdefault((net, key), {"names": set(), "first": created, "last": created, "mentions": 0,
                                        "replies": 0, **{str(k): 0 for k in LABELS}})  # fmt: skip
        a["mentions"] += 1
        a[str(label)] += 1
        a["first"], a["last"] = min(a["first"], created), max(a["last"], created)
        if name:
            a["names"].add(name)
    for net, _, aid, handle, _, _, _, parent in rows:
        mine = (net, (handle or "").lower().lstrip("@")) in own or (net, (aid or "").lower()) in own
        if mine and parent and (net, parent) in key_of and key_of[(net, parent)]:
            out[(net, key_of[(net, parent)])]["replies"] += 1
    return out


def actual(rows: list[AuthorRow]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (a.network, a.author_key): {
            "names": set(a.names), "first": a.first_seen, "last": a.last_seen, "mentions": a.mentions,
            "replies": a.replies_received, "None": a.unscored, "negative": a.negative, "neutral": a.neutral,
            "positive": a.positive,
        }
        for a in rows
    }  # fmt: skip


@settings(
    max_examples=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)  # fmt: skip
@given(ops)
def test_author_counts_match_the_mentions_after_inserts_edits_recollection_and_scoring(
    backend: Backend, steps: list[tuple[Any, ...]]
) -> None:
    store = backend.store
    for table in ("mention_versions", "mentions"):  # one store for every example: each starts empty
        store.conn.execute(f"DELETE FROM {table}")
    store.authors.set_own_accounts(OWN)
    assert store.authors.all() == []
    for step in steps:
        if step[0] == "score":
            _, pick, label = step
            ids = [row[0] for row in backend.rows("SELECT id FROM mentions ORDER BY id")]
            if ids:
                store.set_sentiment([(ids[pick % len(ids)], label, 0.9, "test", None)])
            continue
        _, network, nid, who, variant, minutes, parent = step
        aid, handle, name = AUTHORS[who]
        m = Mention(network, f"n{nid}", f"text {variant}", T0 + timedelta(minutes=minutes), author_id=aid,
                    author_handle=handle, author_name=name,
                    in_reply_to_id=f"n{parent}" if parent is not None else None)  # fmt: skip
        # Twice: the second is a re-collection of the same page, which must change nothing.
        store.save_page(Page(network, "w", [m]))
        store.save_page(Page(network, "w", [m]))
    assert actual(store.authors.all()) == expected(backend)


def test_the_migration_backfills_authors_from_existing_mentions(tmp_path: Path) -> None:
    import sqlite3

    from storage.migrations import MIGRATIONS, migrate

    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    migrate(conn, MIGRATIONS[:7])
    conn.executemany(
        "INSERT INTO mentions (network, native_id, author_id, author_handle, author_name, text, created_at, "
        "collected_at, raw, sentiment_label) VALUES (?, ?, ?, ?, ?, 't', ?, ?, '{}', ?)",
        [
            (
                "x",
                "1",
                None,
                "jane",
                "Jane",
                "2024-05-01T10:00:00+00:00",
                "2024-05-01T10:00:00+00:00",
                "negative",
            ),
            (
                "x",
                "2",
                None,
                "jane",
                "Jane D",
                "2024-05-02T10:00:00+00:00",
                "2024-05-02T10:00:00+00:00",
                None,
            ),
            (
                "x",
                "3",
                "7",
                "bob",
                None,
                "2024-05-03T10:00:00+00:00",
                "2024-05-03T10:00:00+00:00",
                "positive",
            ),
        ],
    )
    conn.close()
    with Store.open(tmp_path / "old.db") as store:
        jane = store.authors.get("x", "jane")
        assert jane is not None
        assert (jane.mentions, jane.negative, jane.unscored) == (2, 1, 1)
        assert (jane.first_seen, jane.last_seen, set(jane.names)) == (
            "2024-05-01T10:00:00+00:00", "2024-05-02T10:00:00+00:00", {"Jane", "Jane D"})  # fmt: skip
        bob = store.authors.get("x", "7")  # keyed by author id
        assert bob is not None and (bob.handle, bob.positive, bob.names) == ("bob", 1, ())
        # Every mention got a pending cluster row too (migration 9).
        assert store.clusters.count_pending() == 3


def test_deleting_a_mention_takes_it_back_out(backend: Backend) -> None:
    backend.store.save_page(Page("x", "w", [
        Mention("x", "1", "a", T0, author_handle="jane"),
        Mention("x", "2", "b", T0 + timedelta(hours=2), author_handle="jane"),
        Mention("x", "3", "c", T0, author_handle="solo"),
    ]))  # fmt: skip
    # Only the test deletes so (listener keeps mentions as evidence); one statement, autocommitted.
    backend.store.conn.execute("DELETE FROM mentions WHERE native_id IN ('2', '3')")
    assert actual(backend.store.authors.all()) == expected(backend)
    assert [(a.author_key, a.last_seen) for a in backend.store.authors.all()] == [("jane", utc_iso(T0))]


def seed_cli(db: Path) -> None:
    with Store.open(db) as store:
        seed(store)


def seed(store: Any) -> None:
    """Three negative posts of a troll, two of them answered by our own account, one happy post."""
    store.authors.set_own_accounts([("x", "@Aurora_Official")])
    mentions = [Mention("x", f"t{i}", f"pessimo {i}", T0 + timedelta(hours=i), author_handle="troll",
                        author_name="Troll \x1b[31m") for i in range(3)]  # fmt: skip
    mentions += [
        Mention("x", "h1", "bello", T0, author_handle="happy"),
        Mention(
            "x",
            "o1",
            "Ci scusiamo",
            T0 + timedelta(hours=5),
            author_handle="aurora_official",
            in_reply_to_id="t0",
        ),
        Mention(
            "x",
            "o2",
            "Ci scusiamo ancora",
            T0 + timedelta(hours=6),
            author_handle="aurora_official",
            in_reply_to_id="t1",
        ),
    ]
    store.save_page(Page("x", "w", mentions))
    ids = {nid: i for nid, i in store.conn.execute("SELECT native_id, id FROM mentions").fetchall()}
    store.set_sentiment([(ids[f"t{i}"], "negative", 0.9, "m", None) for i in range(3)])


def test_cli_lists_repeat_negative_authors_without_our_own(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    seed_cli(db)
    runner = CliRunner()
    result = runner.invoke(cli, ["--db", str(db), "authors", "--negative", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["handle"], r["negative"], r["mentions"], r["replies_received"]) for r in rows] == [
        ("troll", 3, 3, 2)
    ]
    assert rows[0]["names"] == ["Troll \x1b[31m"]

    every = json.loads(runner.invoke(cli, ["--db", str(db), "authors", "--json"]).output)
    assert {r["handle"] for r in every} == {"troll", "happy"}  # our own account is left out

    table = runner.invoke(cli, ["--db", str(db), "authors", "--negative"]).output
    assert "troll" in table and "\x1b" not in table  # a hostile name is shown inert

    csv = runner.invoke(cli, ["--db", str(db), "authors", "--min", "4", "--negative", "--csv"]).output
    assert csv.splitlines() == [",".join(__import__("listener.cli.authors").cli.authors.COLUMNS)]


def test_own_accounts_are_replaced_not_added(backend: Backend) -> None:
    backend.store.authors.set_own_accounts([("x", "@A"), ("reddit", "b"), ("x", " ")])
    assert backend.store.authors.own_accounts() == [("reddit", "b"), ("x", "a")]
    backend.store.authors.set_own_accounts([("x", "@C")])
    assert backend.store.authors.own_accounts() == [("x", "c")]


def test_by_network_counts(backend: Backend) -> None:
    backend.store.save_page(Page("x", "w", [Mention("x", "1", "a", T0, author_handle="jane")]))
    backend.store.save_page(Page("reddit", "w", [Mention("reddit", "1", "a", T0, author_handle="jane")]))
    per: dict[str, int] = defaultdict(int)
    for a in backend.store.authors.top(network="reddit"):
        per[a.network] += a.mentions
    assert dict(per) == {"reddit": 1}


def test_top_orders_by_count_leaves_our_own_out_and_counts_their_replies(backend: Backend) -> None:
    """``listener authors`` and the digest's reads, through ``top`` and ``get``, as the CLI test seeds them."""
    store = backend.store
    seed(store)
    negative = store.authors.top(negative=True)
    assert [(a.handle, a.negative, a.mentions, a.replies_received, a.names) for a in negative] == [
        ("troll", 3, 3, 2, ("Troll \x1b[31m",))
    ]
    assert [a.handle for a in store.authors.top()] == ["troll", "happy"]  # our own account is left out
    assert store.authors.top(negative=True, at_least=4) == []
    assert [a.handle for a in store.authors.top(since=utc_iso(T0 + timedelta(hours=1)))] == ["troll"]
    troll = store.authors.get("x", "troll")
    assert troll is not None and (troll.first_seen, troll.last_seen) == (
        utc_iso(T0), utc_iso(T0 + timedelta(hours=2)))  # fmt: skip
    assert store.authors.get("x", "nobody") is None


def test_forgetting_an_author_costs_what_they_posted_not_the_whole_table(tmp_path: Path) -> None:
    """Each lookup goes through an index: ten times the other mentions, about the same work."""

    def work(others: int) -> int:
        store = Store.open(tmp_path / f"{others}.db")
        start = datetime(2026, 3, 1, tzinfo=UTC)
        mentions = [
            Mention(
                "x", f"o{i}", "caffè aurora", start + timedelta(seconds=i), author_handle=f"someone{i % 97}"
            )
            for i in range(others)
        ] + [
            Mention("x", f"g{i}", "caffè aurora", start + timedelta(minutes=i), author_handle="Gone")
            for i in range(40)
        ]
        store.save_page(Page("x", "brand", mentions))
        gone: list[int] = []
        steps = vm_steps(store.conn, lambda: gone.append(store.forget_author("x", "@gone")))
        assert gone == [40]
        store.close()
        return steps

    small, large = work(400), work(4000)
    assert large < 1.5 * small, (small, large)
