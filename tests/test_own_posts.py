"""Own posts without an index of their own (migration 16): the same answers as a plain scan, by index.

The own-account guard's posts, the stories' "answered in the thread" and the bounded
``watch_times`` are checked against what the rows say, on histories with handles in
mixed case, with and without ``@`` and author ids, and a handle of only punctuation.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from listener.model import Mention, Page
from listener.records import utc_iso
from storage import Store
from storage.accounts import own_post_ids
from storage.interfaces import ListenerStore
from tests.backends import Backend
from tests.harness import statements

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HANDLES = ("Aurora", "aurora", "@aurora", "AURORA_it", "fan1", "fan2", "___", None)
IDS = ("42", "Aurora", None, "", "7")


def history(store: ListenerStore, n: int = 3000, seed: int = 5) -> None:
    rng = random.Random(seed)
    store.sync_watches([("brand", "aurora")])
    for network in ("x", "mastodon"):
        ms = [
            Mention(network, f"{network}{i}", f"aurora {i}", T0 + timedelta(minutes=rng.randrange(6 * 1440)),
                    author_handle=rng.choice(HANDLES), author_id=rng.choice(IDS),
                    conversation_id=f"c{rng.randrange(40)}" if rng.random() < 0.7 else None)
            for i in range(n)
        ]  # fmt: skip
        store.save_page(Page(network, "brand", ms, matches={m.native_id: ["brand"] for m in ms}))


def scanned(store: Store, network: str, key: str, since: str, until: str) -> list[int]:
    """The guard's posts as the dropped indexes found them (migration 10's query), by a plain scan."""
    return [row[0] for row in store.conn.execute(
        "SELECT id FROM mentions NOT INDEXED WHERE network = ? AND created_at >= ? AND created_at < ? "
        "AND (lower(author_handle) = ? OR author_id = ?) ORDER BY id",
        (network, since, until, key.lower(), key),
    )]  # fmt: skip


KEYS = ["aurora", "Aurora", "AURORA_IT", "@aurora", "42", "7", "___", "nobody"]


@pytest.mark.parametrize("key", KEYS)
def test_own_post_ids_are_what_a_scan_finds(store: Store, key: str) -> None:
    history(store)
    for days in (0, 2, 5):
        since, until = utc_iso(T0 + timedelta(days=days)), utc_iso(T0 + timedelta(days=days + 1, hours=3))
        for network in ("x", "mastodon"):
            assert own_post_ids(store.conn, [(network, key)], since, until) == scanned(
                store, network, key, since, until
            )


@pytest.mark.parametrize("key", KEYS)
def test_own_posts_are_what_a_scan_finds(backend: Backend, key: str) -> None:
    history(backend.store, n=600)
    total = 0
    for days in (0, 2, 5):
        since, until = T0 + timedelta(days=days), T0 + timedelta(days=days + 1, hours=3)
        for network in ("x", "mastodon"):
            found = backend.rows(
                "SELECT native_id, created_at FROM mentions WHERE "
                f"network = '{network}' AND created_at >= '{utc_iso(since)}' AND created_at < '{utc_iso(until)}' "
                f"AND (lower(author_handle) = '{key.lower()}' OR author_id = '{key}')"
            )
            posts = backend.store.accounts.posts(network, key, since, until)
            assert [(p.native_id, utc_iso(p.created_at)) for p in posts] == sorted(
                found, key=lambda r: (r[1], r[0])
            )
            assert all(p.network == network and p.raw == {} for p in posts)
            total += len(posts)
        assert backend.store.accounts.posts("x", key, since, since) == []
    assert (total > 0) == (key != "nobody")


def test_replies_count_each_posts_replies_and_negatives(backend: Backend) -> None:
    ms = [Mention("x", "p1", "our post", T0, author_handle="aurora"), Mention("x", "p2", "another", T0)]
    ms += [Mention("x", f"r{i}", "reply", T0, in_reply_to_id="p1") for i in range(3)]
    ms += [Mention("mastodon", "r9", "reply elsewhere", T0, in_reply_to_id="p1")]
    for network in ("x", "mastodon"):
        backend.store.save_page(Page(network, "brand", [m for m in ms if m.network == network]))
    # Both connections commit each statement (autocommit): the scorer's write, without the scorer.
    backend.store.conn.execute("UPDATE mentions SET sentiment_label = 'negative' WHERE native_id = 'r0'")
    assert backend.store.accounts.replies("x", ["p1", "p2", "p404"]) == {
        "p1": (3, 1),
        "p2": (0, 0),
        "p404": (0, 0),
    }
    assert backend.store.accounts.replies("x", []) == {}


def test_unanswered_negatives_match_the_thread_rule(store: Store) -> None:
    """Every negative of the day is a story of its own (no clusters): those not answered are
    what the thread rule says, our own accounts found by handle in any case and by author id.
    On SQLite only: the rule is written as SQLite SQL (ifnull, row values IN VALUES)."""
    history(store, n=800)
    ids = [row[0] for row in store.conn.execute("SELECT id FROM mentions")]
    store.set_sentiment([(i, "negative", 0.9, "test", None) for i in ids])
    own = [("x", "aurora"), ("mastodon", "42")]
    start, end = T0 + timedelta(days=2), T0 + timedelta(days=3)
    stories = store.stories.stories(start, end, own, limit=1000)  # the day's every negative
    total = sum(not s.answered for s in stories)
    owned = "(ifnull((network, lower(author_handle)) IN (VALUES ('x', 'aurora'), ('mastodon', '42')), 0) " \
            "OR ifnull((network, author_id) IN (VALUES ('x', 'aurora'), ('mastodon', '42')), 0))"  # fmt: skip
    expected = store.conn.execute(
        f"""SELECT count(*) FROM mentions m WHERE created_at >= ? AND created_at < ? AND NOT {owned}
        AND NOT EXISTS (SELECT 1 FROM mentions r WHERE r.network = m.network AND r.in_reply_to_id = m.native_id
                        AND {owned.replace("network", "r.network").replace("(author", "(r.author")})
        AND NOT (m.conversation_id IS NOT NULL AND EXISTS (
            SELECT 1 FROM mentions r WHERE r.network = m.network AND r.conversation_id = m.conversation_id
              AND r.created_at > m.created_at AND {owned.replace("network", "r.network").replace("(author", "(r.author")}))
        """,
        (utc_iso(start), utc_iso(end)),
    ).fetchone()[0]
    assert 0 < total == expected


def test_own_posts_read_an_author_key_range_and_the_handle_words(store: Store) -> None:
    history(store)
    store.conn.execute("ANALYZE")
    with statements(store.conn) as seen:
        store.accounts.posts("x", "aurora", T0 + timedelta(days=1), T0 + timedelta(days=2))
    queries = [sql for sql in seen if sql.lstrip().upper().startswith(("SELECT", "WITH"))]
    lines = [row[3] for sql in queries for row in store.conn.execute(f"EXPLAIN QUERY PLAN {sql}")]
    assert any(
        "mentions_author_key (network=? AND <expr>=? AND created_at>? AND created_at<?)" in line
        for line in lines
    ), lines
    assert any(line.startswith("SCAN mentions_fts VIRTUAL TABLE") for line in lines), lines
    assert not [line for line in lines if line.startswith("SCAN") and line.split()[1] == "mentions"], lines
    assert not any("mentions_day" in line for line in lines), lines


def test_watch_times_keep_the_newest_256_per_source(store: Store) -> None:
    store.sync_watches([("brand", "aurora")])
    times = [T0 + timedelta(minutes=7 * i) for i in range(400)]
    random.Random(1).shuffle(times)
    ms = [Mention("x", str(i), "aurora", at) for i, at in enumerate(times)]
    store.save_page(Page("x", "brand", ms, matches={m.native_id: ["brand"] for m in ms}))
    assert store.conn.execute("SELECT count(*) FROM watch_times").fetchone() == (256,)
    assert store.mention_times("x", "brand") == sorted(times, reverse=True)[:200]
    # A mention moved to a newer time is among the newest at once.
    later = T0 + timedelta(days=30)
    store.conn.execute("UPDATE mentions SET created_at = ? WHERE native_id = '0'", (utc_iso(later),))
    assert store.mention_times("x", "brand", 1) == [later]
    assert store.newest_mentions([("x", "brand")]) == {("x", "brand"): later}
