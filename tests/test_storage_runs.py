"""The run side of the storage contract on both backends (#22): watches, sources, budgets, jobs.

The methods the daemon, the alert pass and the CLI call and that tests/test_storage.py does not
reach through the interface alone; then what PostgreSQL adds: several daemons finishing runs
of one source at once lose none of them from its summary.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from listener.model import Mention, Page, SaveResult
from listener.records import utc_iso
from storage.pg.store import PgStore
from tests.backends import Backend

T0 = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def ran(backend: Backend, network: str, watch: str, at: datetime, fetched: int = 1, **outcome: Any) -> int:
    """A run of a source started at ``at``, finished a minute later; its id."""
    store = backend.store
    run_id: int = store.start_run(network, watch, now=at)
    store.finish_run(run_id, SaveResult(new=1), fetched, now=at + timedelta(minutes=1), **outcome)
    return run_id


def test_pruning_a_watch_takes_its_links_cursors_and_health_never_its_mentions(backend: Backend) -> None:
    store = backend.store
    store.sync_watches([("brand", "aurora"), ("rival", "borealis"), ("gone", "x")])
    ms = [Mention("x", str(i), "aurora borealis", T0) for i in range(3)]
    store.save_page(
        Page("x", "rival", ms, matches={"0": ["brand", "rival"], "1": ["rival"], "2": ["rival"]}, cursor="c")
    )
    for watch in ("brand", "rival"):
        ran(backend, "x", watch, T0)
    assert store.prune_watches(["brand", "gone"]) == [("rival", 3)]
    assert [w.name for w in store.watches(T0)] == ["brand", "gone"]
    assert store.get_cursor("x", "rival") is None
    assert [(r.network, r.watch) for r in store.status(T0)] == [("x", "brand")]
    assert store.count_mentions() == 3 and backend.rows("SELECT count(*) FROM runs") == [(2,)]
    assert store.prune_watches(["brand", "gone"]) == []
    assert store.prune_watches([]) == [("brand", 1), ("gone", 0)]
    assert backend.rows("SELECT count(*) FROM watch_buckets") == [(0,)]  # no counts of a watch that is gone


def test_networks_seen_are_those_with_a_mention_or_a_run(backend: Backend) -> None:
    assert backend.store.networks_seen() == []
    backend.store.save_page(Page("x", "brand", [Mention("x", "1", "t", T0)]))
    backend.store.save_page(Page("bluesky", "brand", [Mention("bluesky", "1", "t", T0)]))
    ran(backend, "Mastodon", "brand", T0)
    ran(backend, "x", "brand", T0)
    assert backend.store.networks_seen() == ["Mastodon", "bluesky", "x"]  # byte order, as SQLite sorts


def test_feeds_are_the_sources_that_ran_and_are_no_watch(backend: Backend) -> None:
    store = backend.store
    store.sync_watches([("brand", "aurora")])
    for network, watch, at in [("facebook", "@page", T0), ("facebook", "brand", T0), ("facebook", "@Old", T0 - timedelta(days=9)),
                               ("instagram", "posts:@page", T0), ("x", "@page", T0), ("facebook", "@Page", T0)]:  # fmt: skip
        ran(backend, network, watch, at)
    since = T0 - timedelta(days=7)
    assert store.feed_sources(["facebook", "instagram"], since) == [
        ("facebook", "@Page"), ("facebook", "@page"), ("instagram", "posts:@page"),
    ]  # fmt: skip
    assert store.feed_sources([], since) == []


def test_units_and_sources_count_the_runs_of_their_network_since_a_moment(backend: Backend) -> None:
    store = backend.store
    midnight = T0.replace(hour=0, minute=0)
    ran(backend, "youtube", "brand", midnight - timedelta(minutes=5), units=100)
    ran(backend, "youtube", "brand", midnight + timedelta(hours=1), units=101, fetched=5)
    ran(backend, "youtube", "rival", midnight + timedelta(hours=2), units=3)
    ran(backend, "youtube", "free", midnight + timedelta(hours=3))
    ran(backend, "x", "brand", midnight + timedelta(hours=3), units=7)
    assert store.units_since("youtube", midnight) == 104
    assert store.units_since("youtube", midnight - timedelta(hours=1)) == 204
    assert store.units_since("youtube", midnight + timedelta(hours=1, seconds=1)) == 3
    assert store.fetched_since("youtube", midnight) == 7
    assert store.sources_since("youtube", midnight) == {"brand", "rival"}
    assert store.sources_since("youtube", midnight + timedelta(hours=4)) == set()


def test_latest_runs_of_many_sources_and_more_than_ten_of_one(backend: Backend) -> None:
    store = backend.store
    for i in range(14):
        ran(backend, "x", "brand", T0 + timedelta(minutes=10 * i), fetched=i)
    ran(backend, "reddit", "brand", T0, error="auth", error_message="reddit (brand): 401")
    store.start_run("reddit", "brand", now=T0 + timedelta(hours=1))  # running: not among the finished
    latest = store.latest_runs([("x", "brand"), ("reddit", "brand"), ("x", "never")], 3)
    assert set(latest) == {("x", "brand"), ("reddit", "brand")}
    assert [r.fetched for r in latest[("x", "brand")]] == [13, 12, 11]
    [failed] = latest[("reddit", "brand")]
    assert (failed.started_at, failed.finished_at, failed.error, failed.rate_limit_reset) == (
        utc_iso(T0), utc_iso(T0 + timedelta(minutes=1)), "auth", None,
    )  # fmt: skip
    assert [r.fetched for r in store.recent_runs("x", "brand")] == list(range(13, 3, -1))
    assert [r.fetched for r in store.recent_runs("x", "brand", 12)] == list(range(13, 1, -1))
    assert store.recent_runs("x", "never", 20) == []


def test_rate_limits_are_per_network_and_only_while_ahead(backend: Backend) -> None:
    store = backend.store
    ran(backend, "x", "brand", T0, error="rate-limited", rate_limit_reset=T0 + timedelta(minutes=30))
    ran(backend, "x", "rival", T0, error="rate-limited", rate_limit_reset=T0 + timedelta(minutes=10))
    ran(backend, "reddit", "brand", T0, error="rate-limited", rate_limit_reset=T0 + timedelta(minutes=5))
    assert store.rate_limits(T0) == {"x": T0 + timedelta(minutes=30), "reddit": T0 + timedelta(minutes=5)}
    assert store.rate_limits(T0 + timedelta(minutes=5)) == {"x": T0 + timedelta(minutes=30)}
    assert store.rate_limited_until("reddit", T0 + timedelta(minutes=1)) == T0 + timedelta(minutes=5)
    assert all(at.utcoffset() == timedelta(0) for at in store.rate_limits(T0).values())


def test_the_schedule_is_replaced_and_each_run_recorded(backend: Backend) -> None:
    store = backend.store
    store.set_jobs([("digest", T0 + timedelta(hours=2)), ("collect:x:brand", T0 + timedelta(minutes=5)),
                    ("alerts", None), ("old", T0)], now=T0)  # fmt: skip
    store.job_ran("collect:x:brand", "ok: 3 new", now=T0 + timedelta(minutes=5))
    store.set_jobs([("digest", T0 + timedelta(hours=2)), ("collect:x:brand", T0 + timedelta(minutes=20)),
                    ("alerts", None)], now=T0 + timedelta(minutes=6))  # fmt: skip
    store.job_ran("unscheduled", "failed: boom", now=T0 + timedelta(minutes=7))
    assert store.jobs() == [
        ("alerts", None, None, None),
        ("unscheduled", None, utc_iso(T0 + timedelta(minutes=7)), "failed: boom"),
        (
            "collect:x:brand",
            utc_iso(T0 + timedelta(minutes=20)),
            utc_iso(T0 + timedelta(minutes=5)),
            "ok: 3 new",
        ),
        ("digest", utc_iso(T0 + timedelta(hours=2)), None, None),
    ]
    store.set_jobs([])
    assert store.jobs() == []


def _at_once(calls: list[Callable[[], object]]) -> None:
    """Run the calls in threads that start together behind a barrier; raise what any raised."""
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def go(call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=10)
            call()
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []


def _start(store: PgStore, at: datetime, ids: list[int]) -> None:
    ids.append(store.start_run("x", "brand", now=at))


def test_daemons_finishing_runs_of_one_source_at_once_lose_none_from_its_summary(postgres_url: str) -> None:
    """Three connections start and finish runs of the same source together, 4 rounds: the source's
    latest runs, its day totals and its last success hold every run, as if they had run one by one."""
    stores = [PgStore.open(postgres_url) for _ in range(3)]
    try:
        for round_ in range(4):
            at = T0 + timedelta(minutes=round_)
            ids: list[int] = []
            _at_once([partial(_start, s, at, ids) for s in stores])
            _at_once([
                partial(s.finish_run, i, SaveResult(new=1), n + 1, units=1, now=at + timedelta(seconds=n))
                for n, (s, i) in enumerate(zip(stores, sorted(ids), strict=True))
            ])  # fmt: skip
        runs = stores[0].recent_runs("x", "brand")
        assert len(runs) == 10 and len({r.started_at for r in runs}) == 4
        assert [r.fetched for r in runs[:3]] == [3, 2, 1]  # by id, newest first
        assert stores[0].fetched_since("x", T0) == 4 * (1 + 2 + 3)
        assert stores[0].units_since("x", T0) == 12
        [row] = stores[0].status(T0 + timedelta(minutes=5))
        assert (row.last_run, row.last_success) == (
            utc_iso(T0 + timedelta(minutes=3)),
            utc_iso(T0 + timedelta(minutes=3, seconds=2)),
        )
    finally:
        for store in stores:
            store.close()


def test_a_run_started_later_but_committed_first_stays_the_latest(postgres_url: str) -> None:
    """Daemon B takes run id n, then waits on the source's summary row that A holds; A starts run
    n + 1 and commits first. The summary must still name n + 1 as the latest run: its error is
    the source's last error, not B's older run's."""
    a, b = PgStore.open(postgres_url), PgStore.open(postgres_url)
    try:
        a.finish_run(a.start_run("x", "brand", now=T0), SaveResult(), 0, now=T0)
        ids: list[int] = []
        with a.conn.transaction():
            a.conn.execute("SELECT 1 FROM source_health WHERE network = 'x' AND watch = 'brand' FOR UPDATE")
            waiting = threading.Thread(target=_start, args=(b, T0 + timedelta(minutes=1), ids))
            waiting.start()
            while not ids and not _blocked(a, "listener"):
                pass  # until B's upsert waits on the row A holds (it has taken its run id by then)
            later = a.start_run("x", "brand", now=T0 + timedelta(minutes=2))
        waiting.join(timeout=30)
        assert later > ids[0]
        a.finish_run(
            later,
            SaveResult(),
            0,
            error="auth",
            error_message="x (brand): 401",
            now=T0 + timedelta(minutes=3),
        )
        [row] = a.status(T0 + timedelta(minutes=4))
        assert (row.last_run, row.last_error) == (utc_iso(T0 + timedelta(minutes=2)), "x (brand): 401")
        b.finish_run(
            ids[0], SaveResult(), 0, now=T0 + timedelta(minutes=4)
        )  # the older run ends fine: no change
        [row] = a.status(T0 + timedelta(minutes=5))
        assert row.last_error == "x (brand): 401"
    finally:
        a.close()
        b.close()


def _blocked(store: PgStore, application: str) -> bool:
    """Whether another session of ``application`` waits on a lock."""
    row = store.conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND wait_event_type = 'Lock' "
        "AND pid <> pg_backend_pid() AND datname = current_database()",
        (application,),
    ).fetchone()
    return bool(row and row[0])
