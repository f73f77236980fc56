"""The digest, ``watches`` and clustering's prune read kept aggregates and index ranges, never every mention.

Two kinds of check: the aggregates of migration 14 (``watch_totals``, ``watch_hours``,
``mention_buckets``) equal what a GROUP BY over the raw rows gives after inserts,
re-scoring, unmatching and deletes; and EXPLAIN QUERY PLAN of each hot query shows no
full scan of ``mentions`` (or of the big aggregates) and no temporary B-tree over
all rows.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from listener.clusters import assign_clusters
from listener.digest.build import DigestOptions, build_digest
from listener.model import Mention, Page, SaveResult
from listener.records import utc_iso
from storage import Store
from tests.harness import statements

T0 = datetime(2026, 11, 20, 23, 0, tzinfo=UTC)
NETWORKS = ("x", "reddit", "mastodon")
LABELS = ("negative", "neutral", "positive", None)


def fill(store: Store, n: int = 400, seed: int = 3) -> None:
    rng = random.Random(seed)
    store.sync_watches([("a", "a"), ("b", "b"), ("c", "c")])
    for network in NETWORKS:
        mentions, matches = [], {}
        for i in range(n):
            created = T0 + timedelta(seconds=rng.randrange(4 * 86400))
            native = f"{network}{i}"
            mentions.append(
                Mention(network, native, f"text {i} about aurora", created, author_handle=f"u{rng.randrange(20)}",
                        in_reply_to_id=f"{network}{rng.randrange(n)}" if rng.random() < 0.2 else None)
            )  # fmt: skip
            matches[native] = rng.sample(["a", "b", "c"], rng.randint(1, 2))
        store.save_page(Page(network, "a", mentions, matches=matches))
    for k in range(120):  # runs every 40 minutes, some failing, some still going
        at = T0 + timedelta(minutes=40 * k)
        run = store.start_run(NETWORKS[k % 3], "ab"[k % 2], at)
        if k % 13:
            store.finish_run(run, SaveResult(new=k % 4), 5, error="auth" if k % 5 == 0 else None,
                             error_message="denied" if k % 5 == 0 else None, now=at + timedelta(seconds=9))  # fmt: skip
    ids = [row[0] for row in store.conn.execute("SELECT id FROM mentions")]
    store.set_sentiment([(i, rng.choice(LABELS[:3]), 0.9, "test", None) for i in ids if rng.random() < 0.8])


def grouped(conn: sqlite3.Connection, sql: str) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    return {tuple(row[:-3]): tuple(row[-3:]) for row in conn.execute(sql) if any(row[-3:])}


def check_aggregates(store: Store) -> None:
    conn = store.conn
    assert dict(conn.execute("SELECT watch_id, mentions FROM watch_totals WHERE mentions <> 0")) == dict(
        conn.execute("SELECT watch_id, count(*) FROM mention_watches GROUP BY watch_id")
    )
    assert grouped(conn, "SELECT watch_id, hour, volume, negative, unscored FROM watch_hours") == grouped(
        conn,
        "SELECT watch_id, bucket / 12, sum(volume), sum(negative), sum(unscored) FROM watch_buckets GROUP BY 1, 2",
    )
    assert grouped(
        conn, "SELECT bucket, network, volume, negative, unscored FROM mention_buckets"
    ) == grouped(
        conn,
        "SELECT CAST(strftime('%s', created_at) AS INTEGER) / 300, network, count(*), "
        "count(CASE WHEN sentiment_label = 'negative' THEN 1 END), count(CASE WHEN sentiment_label IS NULL THEN 1 END) "
        "FROM mentions GROUP BY 1, 2",
    )


def test_run_hours_equal_a_group_by_over_the_runs(store: Store) -> None:
    fill(store)
    with store.conn:
        store.conn.execute("DELETE FROM runs WHERE id % 7 = 0")  # pruned
    assert grouped(store.conn, "SELECT network, watch, hour, runs, failed, new FROM run_hours") == grouped(
        store.conn,
        "SELECT network, watch, CAST(strftime('%s', started_at) AS INTEGER) / 3600, count(*), count(error), "
        "sum(new) FROM runs GROUP BY 1, 2, 3",
    )


def test_network_runs_equal_counting_the_runs(store: Store) -> None:
    fill(store)
    for start in (T0 + timedelta(hours=5), T0 + timedelta(hours=5, minutes=45)):  # on and off the hour
        end = start + timedelta(days=1)
        runs = {r.network: r for r in store.digest.network_runs(start, end, [("x", "a"), ("reddit", "b")])}
        for network, watch in (("x", "a"), ("reddit", "b")):
            count, failed, new = store.conn.execute(
                "SELECT count(*), count(error), total(new) FROM runs WHERE network = ? AND watch = ? "
                "AND started_at >= ? AND started_at < ?",
                (network, watch, utc_iso(start), utc_iso(end)),
            ).fetchone()
            assert (runs[network].runs, runs[network].failed, runs[network].new) == (count, failed, new)
        assert set(runs) == {"x", "reddit"}
        assert {r.network for r in store.digest.network_runs(start, end)} == {"x", "reddit", "mastodon"}


def test_the_kept_aggregates_equal_a_group_by_over_the_rows(store: Store) -> None:
    fill(store)
    check_aggregates(store)
    ids = [row[0] for row in store.conn.execute("SELECT id FROM mentions ORDER BY id")]
    store.set_sentiment([(i, "negative", 0.7, "test", None) for i in ids[::7]])  # re-scored
    check_aggregates(store)
    with store.conn:
        store.conn.execute("DELETE FROM mention_watches WHERE mention_id % 5 = 0")  # unmatched
        store.conn.execute("UPDATE mentions SET created_at = ? WHERE id % 11 = 0", (utc_iso(T0),))  # moved
    check_aggregates(store)
    assert store.forget_author("x", "u3") > 0  # deleted
    check_aggregates(store)


def test_watches_counts_the_last_24_hours_to_the_second(store: Store) -> None:
    fill(store)
    for now in (T0 + timedelta(days=2, seconds=7), T0 + timedelta(days=3, hours=5, minutes=2, seconds=59)):
        since = utc_iso(now - timedelta(hours=24))
        expected = dict(
            store.conn.execute(
                "SELECT w.name, count(CASE WHEN m.created_at >= ? THEN 1 END) FROM watches w "
                "JOIN mention_watches mw ON mw.watch_id = w.id JOIN mentions m ON m.id = mw.mention_id GROUP BY w.id",
                (since,),
            )
        )
        totals = dict(
            store.conn.execute(
                "SELECT w.name, count(*) FROM watches w JOIN mention_watches mw ON mw.watch_id = w.id GROUP BY w.id"
            )
        )
        rows = store.watches(now=now)
        assert {r.name: r.last_24h for r in rows} == expected
        assert {r.name: r.mentions for r in rows} == totals


def test_the_digest_totals_equal_counting_the_day(store: Store) -> None:
    fill(store)
    options = DigestOptions(timezone="Asia/Kathmandu", watches=("a", "b", "c"))  # a day that starts at :15
    d = build_digest(store, options, date(2026, 11, 22))
    day = store.conn.execute(
        "SELECT count(*), count(CASE WHEN sentiment_label = 'negative' THEN 1 END) FROM mentions "
        "WHERE created_at >= ? AND created_at < ?",
        (utc_iso(d.start), utc_iso(d.end)),
    ).fetchone()
    assert (d.total.volume, d.total.negative) == day
    per_watch = dict(
        store.conn.execute(
            "SELECT w.name, count(*) FROM watches w JOIN mention_watches mw ON mw.watch_id = w.id "
            "JOIN mentions m ON m.id = mw.mention_id WHERE m.created_at >= ? AND m.created_at < ? GROUP BY w.id",
            (utc_iso(d.start), utc_iso(d.end)),
        )
    )
    assert {w.name: w.volume for w in d.watches} == per_watch


# -- query plans ---------------------------------------------------------------------

BIG = (
    "mentions",
    "mention_watches",
    "watch_buckets",
    "watch_hours",
    "mention_clusters",
    "cluster_bands",
    "runs",
    "run_hours",
)


def plan_of(store: Store, call: Callable[[], Any]) -> list[tuple[str, str]]:
    """(statement, plan line) of every statement ``call`` runs, read off a trace."""
    with statements(store.conn) as seen:
        call()
    out = []
    for sql in seen:
        if not sql.lstrip().upper().startswith(("SELECT", "WITH", "DELETE")):
            continue
        for row in store.conn.execute(f"EXPLAIN QUERY PLAN {sql}"):
            out.append((sql, str(row[3])))
    return out


def bad(plan: list[tuple[str, str]]) -> list[str]:
    found = []
    for sql, line in plan:
        words = line.split()
        if line.startswith("SCAN") and len(words) > 1 and words[1] in BIG:
            found.append(f"{line}  <- {sql[:120]}")
    return found


@pytest.fixture
def filled(store: Store) -> Store:
    fill(store)
    store.authors.set_own_accounts([("x", "u1")])
    return store


def test_the_digest_reads_no_table_whole(filled: Store) -> None:
    options = DigestOptions(watches=("a", "b", "c"), own_accounts=(("x", "u1"),), sources=(("x", "a"),))
    plan = plan_of(filled, lambda: build_digest(filled, options, date(2026, 11, 22)))
    assert plan and bad(plan) == []
    # Sorts are of one day's rows (ORDER BY engagement ... LIMIT), never of a whole table.
    sorts = [sql for sql, line in plan if "TEMP B-TREE" in line and "created_at >=" not in sql]
    assert [s for s in sorts if "FROM mentions" in s and "created_at" not in s] == []


def test_each_day_query_reads_its_range_not_the_history(filled: Store) -> None:
    """Per watch and day, one key range; per repeat author, the day's mentions through its index."""
    start, end = T0 + timedelta(days=1), T0 + timedelta(days=2)
    buckets = [(int(start.timestamp()) // 300 + 3, int(end.timestamp()) // 300 + 3)]  # starts off the hour
    lines = [line for _, line in plan_of(filled, lambda: filled.digest.watch_days(buckets, ("a", "b")))]
    assert "SEARCH h USING PRIMARY KEY (watch_id=? AND hour>? AND hour<?)" in lines, lines
    assert "SEARCH b USING PRIMARY KEY (watch_id=? AND bucket>? AND bucket<?)" in lines, lines
    lines = [line for _, line in plan_of(filled, lambda: filled.digest.repeat_authors(start, end, 1, 5))]
    assert any("mentions_author_key" in line and "created_at>? AND created_at<?" in line for line in lines), (
        lines
    )
    assert any("mentions_reply" in line for line in lines), lines
    assert not any("mentions_own" in line for line in lines), lines


def test_answered_reads_the_own_posts_and_what_they_answered(filled: Store) -> None:
    """The stories' "answered?": the own posts since the day's start (the author key's range),
    then each story member looked up by key in what they answered, their reply targets and
    their conversations (automatic indexes over a handful of rows), never a mention's replies."""
    start, end = T0 + timedelta(days=1), T0 + timedelta(days=2)
    plan = plan_of(filled, lambda: filled.stories.stories(start, end, [("x", "u1")]))
    assert plan and bad(plan) == []
    lines = [line for _, line in plan]
    assert any("mentions_author_key (network=? AND <expr>=? AND created_at>?" in line for line in lines), (
        lines
    )
    answered = [line for sql, line in plan if "own_replies" in sql]
    assert "SEARCH m USING INTEGER PRIMARY KEY (rowid=?)" in answered, answered
    assert "SEARCH o USING AUTOMATIC COVERING INDEX (network=? AND target=?)" in answered, answered
    assert "SEARCH t USING AUTOMATIC COVERING INDEX (network=? AND conversation_id=?)" in answered, answered
    assert not any(index in line for line in answered for index in ("mentions_day", "reply")), answered


def test_watches_reads_hours_and_the_first_hours_buckets_per_watch(filled: Store) -> None:
    """Whole hours from ``watch_hours``; of ``watch_buckets`` only those before the first whole hour."""
    plan = plan_of(filled, lambda: filled.watches(now=T0 + timedelta(days=2, minutes=7)))
    assert plan and bad(plan) == []
    lines = [line for _, line in plan]
    assert any("h USING PRIMARY KEY (watch_id=? AND hour>?)" in line for line in lines), lines
    assert any("b USING PRIMARY KEY (watch_id=? AND bucket>? AND bucket<?)" in line for line in lines), lines
    assert not any("USING PRIMARY KEY (watch_id=? AND bucket>?)" in line for line in lines), lines


def test_the_alerts_list_and_the_cluster_prune_use_indexes(filled: Store) -> None:
    assign_clusters(filled)
    plan = plan_of(filled, lambda: filled.clusters.prune(utc_iso(T0 + timedelta(days=2))))
    assert plan and bad(plan) == []
    assert any("mentions_day (created_at>? AND created_at<?)" in line for _, line in plan)
    assert not any("mention_clusters_created" in line for _, line in plan)
    plan = plan_of(filled, lambda: filled.alerts.list(limit=50))
    assert all("SCAN alerts" not in line or "INDEX" in line for _, line in plan), plan


def test_the_prune_keeps_what_the_window_needs(filled: Store) -> None:
    assign_clusters(filled)
    before = utc_iso(T0 + timedelta(days=2))
    keep = filled.conn.execute(
        "SELECT count(*) FROM cluster_bands b JOIN mention_clusters c ON c.mention_id = b.mention_id "
        "WHERE c.created_at >= ?",
        (before,),
    ).fetchone()[0]
    filled.clusters.prune(before)
    left = filled.conn.execute(
        "SELECT count(*), min(c.created_at) FROM cluster_bands b JOIN mention_clusters c ON c.mention_id = b.mention_id"
    ).fetchone()
    assert left[0] == keep and left[1] >= before
    assert json.loads(json.dumps(filled.clusters.prune(before))) == 0  # nothing older is left
