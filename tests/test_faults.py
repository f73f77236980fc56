"""The same failures, against every network: nothing lost, nothing stored twice, one clear line.

Each scenario runs the real runner with the network's real client library
against its local wire-format server (``tests/harness_<network>.py``), into a
real SQLite file (the first cases also into PostgreSQL). A network joins by registering in ``collectors.REGISTRY``
and writing its harness.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import collectors
from listener.collect import Outcome, collect
from listener.model import Watch
from listener.query import parse
from storage import Store
from storage.interfaces import ListenerStore
from tests.backends import Backend
from tests.harness import Clock, Harness, harness

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
WATCHES = [Watch("brand", "aurora", parse("aurora"))]


@pytest.fixture(params=sorted(collectors.REGISTRY))
def net(request: pytest.FixtureRequest, clock: Clock) -> Iterator[Harness]:
    made = harness(request.param, clock)
    try:
        yield made
    finally:
        made.server.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + timedelta(hours=2))


def run(store: ListenerStore, h: Harness, clock: Clock, env: dict[str, str] | None = None) -> Outcome:
    outcomes = collect(
        store, {h.network: h.settings}, WATCHES, env=h.env if env is None else env, now=clock, watch=h.source
    )
    assert len(outcomes) == 1, outcomes
    return outcomes[0]


def fill(h: Harness, n: int) -> list[str]:
    return [h.post(f"Caffè Aurora numero {i}", T0 + timedelta(minutes=i)) for i in range(n)]


def attempts(h: Harness) -> int:
    return int(getattr(h.settings, "retry_attempts", 3))


def one_line(outcome: Outcome, h: Harness) -> str:
    message = outcome.message or ""
    assert message.startswith(f"{h.network} (") and "\n" not in message, message
    return message


def test_each_mention_is_stored_once_and_runs_resume(net: Harness, backend: Backend, clock: Clock) -> None:
    store = backend.store
    fill(net, 3)
    first = run(store, net, clock)
    assert (first.error, first.new) == (None, 3), first
    net.post("Caffè Aurora, di nuovo", T0 + timedelta(minutes=30))
    second = run(store, net, clock)
    assert (second.error, second.new) == (None, 1), second
    third = run(store, net, clock)
    assert (third.error, third.new) == (None, 0), third
    assert store.count_mentions() == 4
    assert backend.rows("SELECT count(*) FROM mention_watches") == [(4,)]


def test_a_5xx_mid_walk_keeps_the_cursor_and_loses_nothing(
    net: Harness, backend: Backend, clock: Clock
) -> None:
    store = backend.store
    total = 2 * net.page_size + 1
    fill(net, total)
    net.server.inject("503", times=attempts(net), path=net.page_path, skip=1)
    failed = run(store, net, clock)
    assert (failed.error, failed.new) == ("unavailable", net.page_size), failed
    one_line(failed, net)
    assert store.get_cursor(net.network, net.source) is None
    done = run(store, net, clock)
    assert (done.error, store.count_mentions()) == (None, total), done
    again = run(store, net, clock)
    assert (again.error, again.new, store.count_mentions()) == (None, 0, total)


def test_a_429_is_recorded_and_the_next_run_waits(net: Harness, store: Store, clock: Clock) -> None:
    fill(net, 3)
    net.server.inject("429", path=net.page_path, seconds=600)
    limited = run(store, net, clock)
    assert limited.error == "rate-limited" and limited.retry_at is not None and limited.retry_at > clock.now
    one_line(limited, net)
    clock.now += timedelta(minutes=1)
    calls = len(net.server.requests)
    waiting = run(store, net, clock)
    assert waiting.skipped and len(net.server.requests) == calls
    clock.now = limited.retry_at + timedelta(seconds=1)
    done = run(store, net, clock)
    assert (done.error, done.new) == (None, 3), done


def test_a_body_that_is_not_valid_fails_cleanly_then_recovers(
    net: Harness, store: Store, clock: Clock
) -> None:
    fill(net, 2)
    net.server.inject("malformed-json", times=attempts(net), path=net.page_path)
    bad = run(store, net, clock)
    assert bad.error == "malformed", bad
    one_line(bad, net)
    assert store.get_cursor(net.network, net.source) is None and store.count_mentions() == 0
    good = run(store, net, clock)
    assert (good.error, good.new) == (None, 2), good


def test_a_broken_item_is_kept_as_a_reject_and_its_page_mates_stored(
    net: Harness, store: Store, clock: Clock
) -> None:
    fill(net, 2)
    net.server.inject("malformed-item", path=net.page_path)
    outcome = run(store, net, clock)
    assert (outcome.error, outcome.new, outcome.rejected) == (None, 1, 1), outcome
    [(network, reason, raw)] = store.conn.execute("SELECT network, reason, raw FROM rejects").fetchall()
    assert network == net.network and reason and raw not in ("", "null")


def test_an_unreachable_server_gives_one_line(net: Harness, store: Store, clock: Clock) -> None:
    net.server.stop()
    outcome = run(store, net, clock)
    assert outcome.error == "unavailable", outcome
    one_line(outcome, net)


def test_a_missing_or_refused_credential_names_the_variable(net: Harness, store: Store, clock: Clock) -> None:
    if net.credential is None:
        fill(net, 1)
        assert run(store, net, clock, env={}).new == 1  # keyless: works with an empty environment
        return
    missing = run(store, net, clock, env={**net.env, net.credential: ""})
    assert missing.error == "auth" and net.credential in one_line(missing, net)
    if net.reject_credential is not None:
        net.reject_credential()
        refused = run(store, net, clock)
        assert refused.error == "auth", refused
        one_line(refused, net)


def test_the_secret_never_reaches_logs_runs_or_the_database(
    net: Harness, store: Store, db_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fill(net, 2 * net.page_size + 1)
    net.server.inject("500", times=attempts(net), path=net.page_path, skip=1)
    run(store, net, clock)
    run(store, net, clock)
    if net.reject_credential is not None:
        net.reject_credential()
        run(store, net, clock)
    assert store.count_mentions() == 2 * net.page_size + 1
    if net.secret is None:
        return
    assert net.secret not in caplog.text
    store.conn.execute("PRAGMA wal_checkpoint(FULL)")
    for path in db_path.parent.glob("listener.db*"):
        assert net.secret.encode() not in path.read_bytes()
