"""Health alerts: a source that fails, is throttled, garbles or goes quiet is reported, then resolved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from collectors.facebook import Settings as FacebookSettings
from collectors.instagram import Settings as InstagramSettings
from listener.alerts.evaluate import detector_changes, source_runs
from listener.alerts.health import AUTH_STREAK, HEALTH, HealthIssue, check
from listener.collect import collect
from listener.demo.graphserver import GraphServer
from listener.model import Mention, Page, SaveResult, Watch
from listener.query import parse
from listener.records import AlertChange
from storage.interfaces import ListenerStore
from tests.backends import Backend
from tests.harness import Clock

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def check_source(store: ListenerStore, network: str, watch: str, now: datetime) -> list[HealthIssue]:
    """The health check of one source, on the inputs evaluation loads for it."""
    return check(source_runs(store, network, watch, now), now)


def health_changes(store: ListenerStore, sources: list[tuple[str, str]], now: datetime) -> list[AlertChange]:
    """The health detector's alert changes for ``sources``, as one evaluation pass records them."""
    return detector_changes(store, HEALTH, now, sources=sources)


def run(store: ListenerStore, at: datetime, **outcome: object) -> None:
    run_id = store.start_run("x", "brand", now=at)
    result = SaveResult(new=int(outcome.pop("new", 0)), rejected=int(outcome.pop("rejected", 0)))  # type: ignore[call-overload]
    fetched = int(outcome.pop("fetched", 0))  # type: ignore[call-overload]
    store.finish_run(run_id, result, fetched, now=at + timedelta(seconds=3), **outcome)  # type: ignore[arg-type]


def conditions(store: ListenerStore, now: datetime, watch: str = "brand") -> set[str]:
    return {issue.condition for issue in check_source(store, "x", watch, now)}


def test_three_auth_failures_in_a_row_are_critical(backend: Backend) -> None:
    store = backend.store
    for i in range(2):
        run(
            store,
            T0 + timedelta(minutes=15 * i),
            error="auth",
            error_message="x (brand): token rejected (401)",
        )
    assert conditions(store, T0 + timedelta(hours=1)) == set()
    run(store, T0 + timedelta(minutes=30), error="auth", error_message="x (brand): token rejected (401)")
    [issue] = check_source(store, "x", "brand", T0 + timedelta(hours=1))
    assert (issue.condition, issue.severity) == ("auth", "critical")
    assert "3 times in a row: x (brand): token rejected (401)" in issue.summary


def test_a_rate_limit_is_reported_until_its_reset(backend: Backend) -> None:
    store = backend.store
    run(store, T0, error="rate-limited", error_message="429", rate_limit_reset=T0 + timedelta(minutes=15))
    assert conditions(store, T0 + timedelta(minutes=1)) == {"rate-limited"}
    assert conditions(store, T0 + timedelta(minutes=16)) == set()


def test_a_jump_in_rejected_payloads_is_reported(backend: Backend) -> None:
    store = backend.store
    run(store, T0, fetched=100, new=96, rejected=4)
    assert conditions(store, T0) == set()
    run(store, T0 + timedelta(minutes=15), fetched=100, new=60, rejected=40)
    assert conditions(store, T0 + timedelta(minutes=16)) == {"rejects"}


def test_a_source_that_goes_quiet_for_far_longer_than_usual(backend: Backend) -> None:
    store = backend.store
    store.sync_watches([("brand", "aurora")])
    mentions = [Mention("x", str(i), "aurora", T0 + timedelta(hours=2 * i)) for i in range(48)]
    store.save_page(Page("x", "brand", mentions, matches={m.native_id: ["brand"] for m in mentions}))
    last = mentions[-1].created_at
    run(store, last + timedelta(hours=5))
    assert conditions(store, last + timedelta(hours=5)) == set()  # 6 hours is the least silence that counts
    run(store, last + timedelta(hours=7))
    assert conditions(store, last + timedelta(hours=7)) == {"quiet"}


def test_a_source_we_were_too_busy_to_read_is_not_quiet(backend: Backend) -> None:
    store = backend.store
    store.sync_watches([("brand", "aurora")])
    mentions = [Mention("x", str(i), "aurora", T0 + timedelta(hours=2 * i)) for i in range(48)]
    store.save_page(Page("x", "brand", mentions, matches={m.native_id: ["brand"] for m in mentions}))
    last = mentions[-1].created_at
    run(store, last + timedelta(minutes=15), fetched=1)
    # Our own backlog held the next runs up for a day: the source was not read, so not quiet.
    assert conditions(store, last + timedelta(days=1)) == set()
    run(store, last + timedelta(days=1))  # read again, and still nothing: now it is
    assert conditions(store, last + timedelta(days=1, minutes=1)) == {"quiet"}


def test_silence_after_a_burst_is_not_news(backend: Backend) -> None:
    store = backend.store
    store.sync_watches([("complaints", "rimborso")])
    sparse = [T0 + timedelta(days=i) for i in range(4)]  # a complaint a day for three days
    burst = [sparse[-1] + timedelta(minutes=2 * i) for i in range(1, 80)]  # then a bad morning
    mentions = [Mention("x", str(i), "rimborso", t) for i, t in enumerate(sparse + burst)]
    store.save_page(
        Page("x", "complaints", mentions, matches={m.native_id: ["complaints"] for m in mentions})
    )
    store.finish_run(store.start_run("x", "complaints", now=burst[-1] + timedelta(hours=12)), SaveResult(), 0,
                     now=burst[-1] + timedelta(hours=12))  # fmt: skip
    quiet = {"quiet"} & conditions(store, burst[-1] + timedelta(hours=12), watch="complaints")
    assert quiet == set()  # the burst's 2-minute gaps do not make a quiet night look broken


def test_a_new_source_is_never_quiet(backend: Backend) -> None:
    store = backend.store
    store.sync_watches([("brand", "aurora")])
    store.save_page(Page("x", "brand", [Mention("x", "1", "aurora", T0)], matches={"1": ["brand"]}))
    run(store, T0 + timedelta(days=30))
    assert conditions(store, T0 + timedelta(days=30)) == set()


def test_health_incidents_open_once_and_resolve(backend: Backend) -> None:
    store = backend.store
    for i in range(3):
        run(store, T0 + timedelta(minutes=15 * i), error="auth", error_message="token rejected")
    sources = [("x", "brand")]
    now = T0 + timedelta(hours=1)
    for change in health_changes(store, sources, now):
        store.alerts.record(change, ["email"])
    again = health_changes(store, sources, now + timedelta(minutes=15))
    assert [(c.kind, c.state) for c in again] == [("health:auth", "updated")]
    for change in again:
        store.alerts.record(change, ["email"])
    run(store, now + timedelta(minutes=20), fetched=3, new=3)
    resolved = health_changes(store, sources, now + timedelta(minutes=30))
    assert [(c.kind, c.state) for c in resolved] == [("health:auth", "resolved")]
    for change in resolved:
        store.alerts.record(change, ["email"])
    events = [d.event for d in store.alerts.pending(now + timedelta(days=1))]
    assert events == ["opened", "resolved"]


@pytest.mark.parametrize("network", ["facebook", "instagram"])
def test_an_expired_page_token_raises_the_credentials_alert(backend: Backend, network: str) -> None:
    """Graph networks run feeds (``@page``, ``posts:@page``), not the config's watches: health reads the runs."""
    store = backend.store
    clock = Clock(T0)
    with GraphServer(token="the-new-token", clock=clock, network=network) as server:
        settings: object
        if network == "facebook":
            settings = FacebookSettings(
                api_base_url=server.url, page_id=server.page_id, retry_backoff_seconds=0
            )
            env = {"FACEBOOK_PAGE_TOKEN": "an-expired-token"}
        else:
            settings = InstagramSettings(
                api_base_url=server.url, user_id=server.ig_user_id, username=server.ig_username,
                retry_backoff_seconds=0,
            )  # fmt: skip
            env = {"INSTAGRAM_ACCESS_TOKEN": "an-expired-token"}
        watches = [Watch("brand", "aurora", parse("aurora"))]
        for _ in range(AUTH_STREAK):
            outcomes = collect(store, {network: settings}, watches, env=env, now=clock)  # type: ignore[dict-item]
            assert outcomes and all(o.error == "auth" for o in outcomes)
            clock.now += timedelta(minutes=15)
    configured = [(network, "brand")]  # what config.sources() names for this network
    changes = health_changes(store, configured, clock.now)
    feeds = {o.source for o in outcomes}
    assert {(c.network, c.watch, c.kind, c.state) for c in changes} == {
        (network, feed, "health:auth", "opened") for feed in feeds
    }
    assert all(c.severity == "critical" and "credentials refused 3 times" in c.summary for c in changes)
