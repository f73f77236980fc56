"""The alert poll's health inputs and ``listener status`` read summaries, never history.

Every statement these paths run is captured as SQLite ran it (with its values) and
its EXPLAIN QUERY PLAN asserted: nothing is scanned whole but the sources (no
``runs``, ``mentions``, ``watch_buckets``, ``watch_times``, ``mention_watches``), and no
temporary B-tree sorts anything but the sources.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from listener.alerts.evaluate import every_source_runs
from listener.model import Mention, Page, SaveResult
from storage import Store
from storage.rows import WindowMention
from tests.harness import statements

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
# What a plan may scan whole: the sources (a json_each list, the ``sources`` and ``limits``
# CTEs, ``source_health``) and their watches (status's ``chosen``), as these statements
# name them (aliases ``s``, ``h``, ``l``, ``c``).
SMALL = {"source_health", "sources", "limits", "chosen", "s", "h", "l", "c", "CONSTANT"}


@pytest.fixture
def busy(store: Store) -> Store:
    """A store with a few sources, mentions and runs, and fresh statistics (as ANALYZE leaves them)."""
    store.sync_watches([("brand", "aurora"), ("rival", "zenith")])
    for n in range(60):
        at = T0 + timedelta(hours=n)
        ms = [Mention(net, f"{n}", "aurora", at) for net in ("x", "reddit")]
        for m in ms:
            store.save_page(Page(m.network, "brand", [m], matches={m.native_id: ["brand", "rival"]}), now=at)
        for net in ("x", "reddit"):
            for watch in ("brand", "rival"):
                run_id = store.start_run(net, watch, now=at)
                store.finish_run(run_id, SaveResult(new=1), 1, units=1, now=at + timedelta(seconds=2))
    store.conn.execute("ANALYZE")
    return store


def plans(store: Store, sql: list[str]) -> list[tuple[str, str]]:
    """(statement, plan line) for each planned statement."""
    out = []
    for statement in sql:
        if not statement.lstrip().upper().startswith(("SELECT", "WITH", "INSERT", "UPDATE", "DELETE")):
            continue
        if statement.lstrip().startswith("--"):
            continue  # a trigger's statement
        for row in store.conn.execute(f"EXPLAIN QUERY PLAN {statement}"):
            out.append((statement, row[3]))
    return out


def assert_bounded(store: Store, call: Callable[[], object]) -> list[str]:
    with statements(store.conn) as seen:
        call()
    lines = plans(store, seen)
    assert lines, "nothing was planned"
    for statement, line in lines:
        words = line.split()
        if words[0] == "SCAN" and "VIRTUAL TABLE" not in line:
            assert words[1] in SMALL, f"{line!r} in {statement}"
        if "TEMP B-TREE" in line:
            assert any(small in statement for small in ("json_each", "source_health")), (line, statement)
    return [line for _, line in lines]


def test_the_pass_loads_every_source_from_summaries(busy: Store) -> None:
    sources = [(net, watch) for net in ("x", "reddit") for watch in ("brand", "rival")]
    lines = assert_bounded(busy, lambda: every_source_runs(busy, sources, T0 + timedelta(days=3)))
    assert "SEARCH h USING PRIMARY KEY (network=? AND watch=?)" in lines  # source_health
    assert "SEARCH t USING PRIMARY KEY (watch_id=? AND network=?)" in lines  # watch_times


def test_mention_times_are_a_range_of_the_newest(busy: Store) -> None:
    lines = assert_bounded(busy, lambda: busy.mention_times("x", "brand"))
    assert any(
        line.startswith("SEARCH watch_times USING PRIMARY KEY (watch_id=? AND network=?)") for line in lines
    )
    assert not any("TEMP B-TREE" in line for line in lines)
    assert busy.mention_times("x", "brand", 3) == [T0 + timedelta(hours=n) for n in (59, 58, 57)]


def test_status_reads_summaries_and_a_day_of_hours(busy: Store) -> None:
    lines = assert_bounded(
        busy, lambda: busy.status(T0 + timedelta(hours=60), expected=[("x", "brand"), ("mastodon", "brand")])
    )
    # Each source's whole hours: one key range of at most 24 rows.
    assert "SEARCH t USING PRIMARY KEY (watch_id=? AND network=? AND hour>?)" in lines  # source_hours
    # Before the first whole hour: its 5-minute buckets once per watch, then under 5 minutes
    # of mentions, counted once for every source.
    assert "SEARCH b USING PRIMARY KEY (watch_id=? AND bucket>? AND bucket<?)" in lines  # watch_buckets
    assert "SEARCH m USING COVERING INDEX mentions_day (created_at>? AND created_at<?)" in lines
    assert "SEARCH mw USING PRIMARY KEY (mention_id=?)" in lines
    assert "SEARCH e USING AUTOMATIC COVERING INDEX (watch_id=? AND network=?)" in lines


def test_rate_limits_budgets_and_feeds_read_summaries(busy: Store) -> None:
    now = T0 + timedelta(days=3)
    assert_bounded(busy, lambda: busy.rate_limited_until("x", now))
    assert_bounded(busy, lambda: busy.feed_sources(["x"], now - timedelta(days=7)))
    lines = assert_bounded(busy, lambda: busy.fetched_since("x", T0 + timedelta(hours=5)))
    assert any("run_days USING PRIMARY KEY (network=? AND day>?)" in line for line in lines)
    assert any("runs USING INDEX runs_network_started (network=? AND started_at>? AND started_at<?)" in line
               for line in lines)  # fmt: skip


def test_writing_a_run_touches_its_source_only(busy: Store) -> None:
    at = T0 + timedelta(days=3)
    with statements(busy.conn) as seen:
        run_id = busy.start_run("x", "brand", now=at)
        busy.finish_run(run_id, SaveResult(new=2), 2, now=at + timedelta(seconds=1))
    lines = [line for _, line in plans(busy, [s for s in seen if "BEGIN" not in s and "COMMIT" not in s])]
    assert not [line for line in lines if line.startswith("SCAN")]
    prune = ("runs USING INDEX runs_network_started (network=? AND started_at<?)",
             "runs USING COVERING INDEX runs_network_started (network=? AND started_at<?)")  # fmt: skip
    assert any(plan in line for line in lines for plan in prune)


def test_plans_hold_on_an_empty_database(store: Store) -> None:
    """Without statistics (a fresh file), the planner must still pick the indexes."""
    store.sync_watches([("brand", "aurora")])
    assert_bounded(store, lambda: every_source_runs(store, [("x", "brand")], T0))
    assert_bounded(store, lambda: store.status(T0, expected=[("x", "brand")]))


def test_trace_gives_bound_values(store: Store) -> None:
    with statements(store.conn) as seen:
        store.conn.execute("SELECT ?", (42,))
    assert seen == ["SELECT 42"], "this sqlite3 module traces unexpanded SQL: plans would not be checked"
    assert sqlite3.sqlite_version_info >= (3, 38)


def test_an_explanation_window_walks_the_cheaper_way_and_finds_the_same_rows(store: Store) -> None:
    """A quiet watch's mentions are walked directly; a busy one's by time until the limit is met."""
    from storage.mentions import _WINDOW_BY_TIME, _WINDOW_BY_WATCH

    start = datetime(2026, 3, 1, tzinfo=UTC)
    store.sync_watches([("busy", "aurora"), ("quiet", "rara")])
    mentions = [Mention("x", f"b{i}", "aurora", start + timedelta(minutes=i % 997)) for i in range(3000)]
    mentions += [Mention("x", f"q{i}", "rara", start + timedelta(minutes=7 * i)) for i in range(20)]
    store.save_page(Page("x", "busy", mentions, matches={m.native_id: [(m.text == "aurora" and "busy") or "quiet"]
                                                         for m in mentions}))  # fmt: skip
    end = start + timedelta(days=1)
    for watch, walked in (("quiet", "mention_watches_watch ON"), ("busy", "INDEXED BY mentions_day")):
        with statements(store.conn) as seen:
            got = store.window(watch, start, end, limit=500)
        assert any(walked in sql for sql in seen), watch
        params = (watch, start.isoformat(), end.isoformat(), "", "", 500)
        for walk in (_WINDOW_BY_WATCH, _WINDOW_BY_TIME):
            assert [WindowMention(*r) for r in store.conn.execute(walk, params)] == got
        assert len(got) == (500 if watch == "busy" else 20)
