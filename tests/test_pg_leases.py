"""Leases on PostgreSQL (#22): one daemon at a time per job, expiry on the server's clock.

Expiry is made certain without waiting: a lease taken for ``ttl=0`` has expired the moment
it is taken (``held_until = now()``), so no test races the wall clock.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from listener.fleet import Alone, Leases
from storage.interfaces import LeaseStore
from storage.pg.connection import connect
from storage.pg.leases import PgLeases
from storage.pg.store import PgStore
from tests.test_storage_interfaces import members, public_methods

HOUR = timedelta(hours=1)
GONE = timedelta(0)  # a lease that has expired as soon as it is taken
JOB = "collect:x:brand"


@pytest.fixture
def store(postgres_url: str) -> Iterator[PgStore]:
    with PgStore.open(postgres_url) as store:
        yield store


@pytest.fixture
def leases(store: PgStore) -> LeaseStore:
    return PgLeases(store.conn)


def holdings(store: PgStore) -> list[tuple[object, ...]]:
    """(holder, released?) per holding of JOB, oldest first."""
    sql = "SELECT holder, released_at IS NOT NULL FROM lease_log WHERE job = %s ORDER BY taken_at, id"
    return store.conn.execute(sql, (JOB,)).fetchall()


def test_a_held_job_is_nobody_elses_until_released(leases: LeaseStore, store: PgStore) -> None:
    assert leases.take(JOB, "a", HOUR)
    assert not leases.take(JOB, "b", HOUR)
    assert not leases.take(JOB, "a", HOUR)  # not twice at once, even by its holder
    assert leases.take("collect:x:other", "b", HOUR)  # jobs are independent
    leases.release(JOB, "a")
    assert leases.take(JOB, "b", HOUR)
    assert holdings(store) == [("a", True), ("b", False)]


def test_a_job_stays_with_the_daemon_that_ran_it_until_it_is_late(leases: LeaseStore) -> None:
    assert leases.take(JOB, "a", HOUR, every=HOUR)
    leases.release(JOB, "a")
    assert not leases.take(JOB, "b", HOUR, every=HOUR)  # started by a within the hour: not due for b
    assert leases.take(JOB, "a", HOUR, every=HOUR)  # its own scheduler paces it
    leases.release(JOB, "a")
    assert leases.take(JOB, "b", HOUR, every=GONE)  # late by a whole (here: empty) interval


def test_an_expired_lease_goes_to_another_and_its_holder_can_no_longer_renew(
    leases: LeaseStore, store: PgStore
) -> None:
    assert leases.take(JOB, "a", GONE)
    assert leases.take(JOB, "b", HOUR)
    assert not leases.renew(JOB, "a", HOUR)
    leases.release(JOB, "a")  # too late: a no-op, b keeps it
    assert not leases.take(JOB, "c", HOUR)
    assert leases.renew(JOB, "b", HOUR)
    assert holdings(store) == [("a", False), ("b", False)]


def test_an_expired_lease_that_nobody_took_is_still_renewable(leases: LeaseStore) -> None:
    assert leases.take(JOB, "a", GONE)
    assert leases.renew(JOB, "a", HOUR)
    assert not leases.take(JOB, "b", HOUR)
    leases.release(JOB, "a")
    assert not leases.renew(JOB, "a", HOUR)  # released: nothing left to renew


def test_renewing_extends_the_logged_holding(leases: LeaseStore, store: PgStore) -> None:
    assert leases.take(JOB, "a", timedelta(minutes=1))
    assert leases.renew(JOB, "a", HOUR)
    extended = store.conn.execute(
        "SELECT g.held_until = l.held_until AND g.held_until >= g.taken_at + interval '1 hour' "
        "FROM lease_log g JOIN leases l ON l.log_id = g.id"
    ).fetchone()
    assert extended == (True,)


def test_lease_times_are_the_servers(leases: LeaseStore, store: PgStore) -> None:
    """Taken at the server's ``now()`` and held ``ttl`` from then: no daemon's clock is involved."""
    assert leases.take(JOB, "a", HOUR)
    row = store.conn.execute("SELECT held_until - taken_at, taken_at <= now() FROM leases").fetchone()
    assert row == (HOUR, True)


def test_daemons_racing_for_one_job_get_it_once(postgres_url: str) -> None:
    """Eight connections behind a barrier take the same job, ten rounds: one winner each round."""
    conns = [connect(postgres_url) for _ in range(8)]
    PgStore.open(postgres_url).close()  # the schema
    try:
        for round_ in range(10):
            job = f"collect:x:w{round_}"
            barrier = threading.Barrier(len(conns))
            results: list[bool | BaseException] = []

            def race(
                n: int, job: str = job, barrier: threading.Barrier = barrier, results: list[object] = results
            ) -> None:
                try:
                    barrier.wait(timeout=30)
                    outcome = PgLeases(conns[n]).take(job, f"d{n}", HOUR, every=HOUR)
                except BaseException as exc:  # surfaced in the test's thread
                    outcome = exc
                results.append(outcome)

            threads = [threading.Thread(target=race, args=(n,)) for n in range(len(conns))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert sorted(results, key=str) == [False] * (len(conns) - 1) + [True]
        log = conns[0].execute("SELECT count(*), count(DISTINCT job) FROM lease_log").fetchone()
        assert log == (10, 10)
    finally:
        for conn in conns:
            conn.close()


@pytest.mark.parametrize("implementation", [PgLeases, Alone])
def test_both_lease_stores_are_the_protocol_and_nothing_more(implementation: type[Any]) -> None:
    """SQLite's daemon is alone (every lease its own); PostgreSQL's share: the same calls either way."""
    assert public_methods(implementation) == members(LeaseStore)
    for name in members(LeaseStore):
        shape = inspect.signature(getattr(LeaseStore, name)).parameters.values()
        actual = inspect.signature(getattr(implementation, name)).parameters.values()
        assert [(p.name, p.kind, p.default) for p in actual] == [(p.name, p.kind, p.default) for p in shape]


def test_a_jobs_holdings_are_kept_as_long_as_runs(leases: LeaseStore, store: PgStore) -> None:
    assert leases.take(JOB, "a", HOUR)
    leases.release(JOB, "a")
    old = "UPDATE lease_log SET taken_at = taken_at - interval '36 days', held_until = held_until - interval '36 days'"
    store.conn.execute(old)
    assert leases.take("collect:x:other", "a", HOUR)
    assert leases.take(JOB, "a", HOUR)
    assert len(holdings(store)) == 2  # the old one stays until its job is released
    leases.release(JOB, "a")
    assert holdings(store) == [("a", True)]
    assert store.conn.execute("SELECT count(*) FROM lease_log WHERE job <> %s", (JOB,)).fetchone() == (1,)


def test_a_daemon_that_lost_its_lease_stops_and_leaves_the_job_to_its_new_holder(
    leases: LeaseStore, store: PgStore
) -> None:
    """``Holding.keep`` between pages: True while the lease is ours, False for good once another took it."""
    with Leases(leases, "a", GONE).hold(JOB) as holding:
        assert holding is not None
        assert holding.keep()  # expired, but nobody took it: renewed
        assert leases.take(JOB, "b", HOUR)
        assert not holding.keep()
        assert not holding.keep()
    with Leases(leases, "c", HOUR).hold(JOB) as refused:
        assert refused is None
    assert store.conn.execute("SELECT holder, held_until > now() FROM leases").fetchall() == [("b", True)]


def test_the_only_daemon_of_a_sqlite_file_holds_every_job() -> None:
    with (
        Leases(Alone(), "a", HOUR).hold(JOB, every=HOUR) as first,
        Leases(Alone(), "b", HOUR).hold(JOB) as second,
    ):
        assert first is not None and second is not None and first.keep()
