"""``listener status`` and ``listener watches`` count 24 hours from hours, to the second.

``status`` reads per-source hours (``source_hours``), ``watches`` per-watch hours
(``watch_hours``). ``source_hours`` must equal a GROUP BY over ``watch_buckets`` whatever
happens to the mentions, an upgraded database must have it filled, and each source's
and each watch's count of the last 24 hours must equal counting its mentions, for
windows that start off the hour and off the 5 minutes. The counting cases run on both
backends (PostgreSQL counts from mentions, not from kept hours); the kept tables' are SQLite's.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from listener.model import Mention, Page
from listener.records import utc_iso
from storage import Store
from storage.interfaces import ListenerStore
from storage.migrations import MIGRATIONS
from tests.backends import Backend

T0 = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
# The migration that adds source_hours, found by its text: its number may shift on a merge.
SOURCE_HOURS = next(i for i, sql in enumerate(MIGRATIONS) if "CREATE TABLE IF NOT EXISTS source_hours" in sql)
NETWORKS = ("x", "reddit", "mastodon")
WATCHES = ("a", "b", "c")
# Windows that start: off the hour and the 5 minutes; on the 5 minutes only; on the hour;
# one second before a 5-minute mark.
NOWS = (
    T0 + timedelta(days=3, hours=5, minutes=2, seconds=59),
    T0 + timedelta(days=3, hours=17, minutes=35),
    T0 + timedelta(days=3, hours=9),
    T0 + timedelta(days=3, hours=21, minutes=44, seconds=59),
)


def fill(store: ListenerStore, seed: int = 5) -> None:
    """Mentions over three days on three networks, each matched by one or two watches.

    Besides random times, each window's edges get mentions of their own: at its first
    second, inside its first partial 5 minutes and its first partial hour, and one
    second before it starts.
    """
    rng = random.Random(seed)
    store.sync_watches([(name, name) for name in WATCHES])
    edges = [
        now - timedelta(hours=24) + timedelta(seconds=offset)
        for now in NOWS
        for offset in (-1, 0, 1, 100, 299, 300, 1300, 3599, 3600)
    ]
    for network in NETWORKS:
        times = [T0 + timedelta(seconds=rng.randrange(3 * 86400)) for _ in range(300)] + edges
        mentions = [
            Mention(network, f"{network}{i}", f"text {i}", at, author_handle=f"u{i % 10}")
            for i, at in enumerate(times)
        ]
        matches = {m.native_id: rng.sample(WATCHES, rng.randint(1, 2)) for m in mentions}
        store.save_page(Page(network, "a", mentions, matches=matches))


def counted(backend: Backend, since: datetime) -> dict[tuple[str, str], int]:
    """Each source's mentions created at or after ``since``, counted one by one."""
    rows = backend.rows(
        "SELECT m.network, w.name, count(*) FROM mentions m JOIN mention_watches mw ON mw.mention_id = m.id "
        f"JOIN watches w ON w.id = mw.watch_id WHERE m.created_at >= '{utc_iso(since)}' GROUP BY 1, 2"
    )
    return {(str(network), str(watch)): int(n) for network, watch, n in rows}  # type: ignore[call-overload]


def counted_per_watch(backend: Backend, since: datetime) -> dict[str, int]:
    """Each watch's mentions (on any network) created at or after ``since``, counted one by one."""
    rows = backend.rows(
        "SELECT w.name, count(m.id) FROM watches w LEFT JOIN mention_watches mw ON mw.watch_id = w.id "
        f"LEFT JOIN mentions m ON m.id = mw.mention_id AND m.created_at >= '{utc_iso(since)}' GROUP BY w.id"
    )
    return {str(name): int(n) for name, n in rows}  # type: ignore[call-overload]


def hours_match_buckets(conn: sqlite3.Connection) -> bool:
    kept = set(conn.execute("SELECT watch_id, network, hour, volume FROM source_hours WHERE volume <> 0"))
    grouped = set(
        conn.execute(
            "SELECT watch_id, network, bucket / 12, sum(volume) FROM watch_buckets GROUP BY 1, 2, 3 "
            "HAVING sum(volume) <> 0"
        )
    )
    return kept == grouped


def test_the_24_hours_of_each_source_equal_counting_its_mentions(backend: Backend) -> None:
    store = backend.store
    fill(store)
    sources = [(network, watch) for network in NETWORKS for watch in WATCHES] + [("bluesky", "a")]
    for now in NOWS:
        expected = counted(backend, now - timedelta(hours=24))
        got = {(r.network, r.watch): r.mentions_24h for r in store.status(now, expected=sources)}
        assert got == {source: expected.get(source, 0) for source in sources}, now
        assert all(got[(network, "a")] > 0 for network in NETWORKS)


def test_the_24_hours_of_each_watch_equal_counting_its_mentions(backend: Backend) -> None:
    store = backend.store
    fill(store)
    store.sync_watches([("quiet", "quiet")])  # a watch that matched nothing
    totals = counted_per_watch(backend, T0 - timedelta(days=1))
    for now in NOWS:
        expected = counted_per_watch(backend, now - timedelta(hours=24))
        rows = store.watches(now)
        assert {r.name: r.last_24h for r in rows} == expected, now
        assert {r.name: r.mentions for r in rows} == totals
        assert all(expected[watch] > 0 for watch in WATCHES) and expected["quiet"] == 0


def test_source_hours_follow_matches_rescores_unmatches_deletes_and_moves(store: Store) -> None:
    backend = Backend("sqlite", store, sqlite3.IntegrityError)
    fill(store)
    assert hours_match_buckets(store.conn)
    ids = [row[0] for row in store.conn.execute("SELECT id FROM mentions ORDER BY id")]
    store.set_sentiment([(i, "negative", 0.7, "test", None) for i in ids[::3]])  # re-scored
    assert hours_match_buckets(store.conn)
    with store.conn:
        store.conn.execute("DELETE FROM mention_watches WHERE mention_id % 5 = 0")  # unmatched
    assert hours_match_buckets(store.conn)
    assert store.forget_author("reddit", "u3") > 0  # deleted
    assert hours_match_buckets(store.conn)
    late = Mention("x", "late", "late", NOWS[0] - timedelta(minutes=1), author_handle="u1")
    store.save_page(Page("x", "a", [late], matches={"late": ["a", "b"]}))  # new matches, old buckets
    assert hours_match_buckets(store.conn)
    sources = [(network, watch) for network in NETWORKS for watch in WATCHES]
    for now in NOWS:
        expected = counted(backend, now - timedelta(hours=24))
        got = {(r.network, r.watch): r.mentions_24h for r in store.status(now, expected=sources)}
        assert got == {source: expected.get(source, 0) for source in sources}, now
        per_watch = {r.name: r.last_24h for r in store.watches(now)}
        assert per_watch == counted_per_watch(backend, now - timedelta(hours=24)), now
    with store.conn:  # a bucket row given another key: nothing does this today, the triggers follow
        store.conn.execute(
            "UPDATE watch_buckets SET bucket = bucket + 105120 WHERE network = 'x' AND watch_id = 1"
        )
        store.conn.execute(
            "UPDATE watch_buckets SET network = 'y' WHERE network = 'mastodon' AND watch_id = 2"
        )
    assert hours_match_buckets(store.conn)
    with store.conn:
        store.conn.execute("DELETE FROM watch_buckets WHERE watch_id = 3")
    assert hours_match_buckets(store.conn)


def test_upgrading_fills_source_hours_and_running_it_again_changes_nothing(db_path: Path) -> None:
    with Store.open(db_path) as store:
        fill(store)
        before = store.conn.execute("SELECT * FROM source_hours ORDER BY 1, 2, 3").fetchall()
        with store.conn:  # the database as the migration before it left it
            for trigger in ("insert", "update", "moved", "delete"):
                store.conn.execute(f"DROP TRIGGER source_hours_{trigger}")
            store.conn.execute("DROP TABLE source_hours")
            store.conn.execute(f"PRAGMA user_version = {SOURCE_HOURS}")
    with Store.open(db_path) as store:
        assert store.conn.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
        assert store.conn.execute("SELECT * FROM source_hours ORDER BY 1, 2, 3").fetchall() == before
        store.conn.executescript(MIGRATIONS[SOURCE_HOURS])  # should the numbering shift under a database
        assert store.conn.execute("SELECT * FROM source_hours ORDER BY 1, 2, 3").fetchall() == before
        triggers = store.conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'source_hours_%'"
        ).fetchone()
        assert triggers == (4,)
