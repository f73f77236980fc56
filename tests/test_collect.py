"""The collection service end to end: tweepy and praw against the local servers, into a real SQLite file."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import collectors
from collectors import reddit, x
from collectors.base import BudgetSettings, Collector, NetworkSettings
from listener.budgets import budget_usage, period_start
from listener.collect import Pass, collect
from listener.demo.redditserver import RedditServer
from listener.demo.xserver import XServer
from listener.model import Watch
from listener.query import parse
from storage import Store
from tests.backends import Backend
from tests.harness import Clock

TOKEN = "sekret-bearer-7f3a9c2e"
REDDIT_SECRET = "sekret-reddit-51be0d"
ENV = {"X_BEARER_TOKEN": TOKEN, "REDDIT_CLIENT_ID": "demo-client-id", "REDDIT_CLIENT_SECRET": REDDIT_SECRET}
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
WATCHES = [
    Watch("brand", '"caffè aurora"', parse('"caffè aurora"')),
    Watch("prezzi", "prezzo", parse("prezzo")),
]


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + timedelta(hours=2))


@pytest.fixture
def xs(clock: Clock) -> Iterator[XServer]:
    with XServer(token=TOKEN, clock=clock) as server:
        yield server


@pytest.fixture
def rs(clock: Clock) -> Iterator[RedditServer]:
    with RedditServer("demo-client-id", REDDIT_SECRET, clock=clock) as server:
        yield server


def x_only(xs: XServer, **overrides: Any) -> dict[str, NetworkSettings]:
    options = {"max_results": 10, "retry_backoff_seconds": 0, **overrides}
    return {"x": x.Settings(api_base_url=xs.url, **options)}


def fill(xs: XServer, n: int) -> None:
    for i in range(n):
        xs.add_post(f"user{i % 5}", f"Caffè Aurora numero {i}", T0 + timedelta(minutes=i), lang="it")


def rows(store: Store, sql: str) -> list[tuple[Any, ...]]:
    return store.conn.execute(sql).fetchall()


def test_x_and_reddit_into_the_store_with_watch_links(
    backend: Backend, xs: XServer, rs: RedditServer, clock: Clock
) -> None:
    store = backend.store
    xs.add_post("giulia", "Il Caffè Aurora è ottimo ma il prezzo è alto", T0, lang="it")
    post = rs.add_submission("italy", "marco", "Caffè Aurora a Milano", T0, selftext="Com'è?")
    rs.add_comment(post, "anna", "Buono, ma che prezzo!", T0 + timedelta(minutes=3))
    rs.add_comment(post, "piero", "Non ci sono mai stato", T0 + timedelta(minutes=4))
    networks = {**x_only(xs), "reddit": reddit.Settings(oauth_url=rs.url, reddit_url=rs.url,
                                                        stream_subreddits=("italy",), retry_backoff_seconds=0)}  # fmt: skip
    outcomes = collect(store, networks, WATCHES, env=ENV, now=clock)
    assert [(o.network, o.source, o.new, o.error) for o in outcomes] == [
        ("reddit", "brand", 1, None),
        ("reddit", "prezzi", 0, None),
        ("reddit", "r/italy/comments", 1, None),  # the comment nobody's watch matches is dropped
        ("reddit", "r/italy/new", 0, None),
        ("x", "brand", 1, None),
        ("x", "prezzi", 0, None),  # found again under 'prezzi': stored once, linked twice
    ]
    linked = backend.rows("SELECT m.network, m.author_handle, w.name FROM mentions m JOIN mention_watches mw "
                          "ON mw.mention_id = m.id JOIN watches w ON w.id = mw.watch_id ORDER BY 1, 2, 3")  # fmt: skip
    assert linked == [
        ("reddit", "anna", "prezzi"),
        ("reddit", "marco", "brand"),
        ("x", "giulia", "brand"),
        ("x", "giulia", "prezzi"),
    ]
    assert backend.rows("SELECT count(*), count(error) FROM runs") == [(6, 0)]


def test_two_runs_over_overlapping_pages_store_each_mention_once(
    backend: Backend, xs: XServer, clock: Clock
) -> None:
    store = backend.store
    fill(xs, 15)
    xs.forget_since_id = True  # the server answers the whole history again
    first = collect(store, x_only(xs), WATCHES[:1], env=ENV, now=clock)
    second = collect(store, x_only(xs), WATCHES[:1], env=ENV, now=clock)
    assert (first[0].fetched, first[0].new) == (15, 15)
    assert (second[0].fetched, second[0].new, second[0].duplicates) == (15, 0, 15)
    assert store.count_mentions() == 15
    assert backend.rows("SELECT count(*) FROM mention_watches") == [(15,)]


def test_a_429_records_the_reset_and_the_next_run_waits(backend: Backend, xs: XServer, clock: Clock) -> None:
    store = backend.store
    fill(xs, 5)
    xs.inject("429", seconds=600)
    [limited] = collect(store, x_only(xs), WATCHES[:1], env=ENV, now=clock)
    reset = clock.now + timedelta(seconds=600)
    assert (limited.error, limited.retry_at) == ("rate-limited", reset)
    assert backend.rows("SELECT error, rate_limit_reset FROM runs") == [("rate-limited", reset.isoformat())]
    assert store.rate_limited_until("x", clock.now) == reset

    clock.now += timedelta(minutes=5)
    calls = len(xs.requests)
    [waiting] = collect(store, x_only(xs), WATCHES[:1], env=ENV, now=clock)
    assert waiting.skipped and len(xs.requests) == calls
    assert backend.rows("SELECT count(*) FROM runs") == [(1,)]

    clock.now = reset + timedelta(seconds=1)
    [done] = collect(store, x_only(xs), WATCHES[:1], env=ENV, now=clock)
    assert (done.error, done.new) == (None, 5)


def test_a_5xx_mid_pagination_keeps_the_cursor_and_loses_nothing(
    backend: Backend, xs: XServer, clock: Clock
) -> None:
    store = backend.store
    fill(xs, 25)
    xs.inject("503", times=3, path="/2/tweets/search/recent", skip=1)  # page 2, all three attempts
    [failed] = collect(store, x_only(xs), WATCHES[:1], env=ENV, now=clock)
    assert (failed.error, failed.new) == ("unavailable", 10)
    assert failed.message == (
        "x (watch 'brand'): server error (503); X is having trouble, the next run retries"
    )
    assert store.get_cursor("x", "brand") is None
    [done] = collect(store, x_only(xs), WATCHES[:1], env=ENV, now=clock)
    assert (done.error, done.fetched, done.new, done.duplicates) == (None, 25, 15, 10)
    assert store.count_mentions() == 25
    newest = max(xs.posts, key=int)
    assert store.get_cursor("x", "brand") == f'{{"since_id": "{newest}"}}'
    xs.add_post("late", "Caffè Aurora, ultimo", T0 + timedelta(minutes=90))
    [after] = collect(store, x_only(xs), WATCHES[:1], env=ENV, now=clock)
    assert (after.fetched, after.new) == (1, 1)
    assert xs.requests[-1].params["since_id"] == newest


def test_transient_errors_are_retried_within_the_bound(backend: Backend, xs: XServer, clock: Clock) -> None:
    store = backend.store
    fill(xs, 3)
    xs.inject("500", times=2)
    [ok] = collect(store, x_only(xs), WATCHES[:1], env=ENV, now=clock)
    assert (ok.error, ok.new) == (None, 3)
    xs.inject("malformed-json", times=3)
    [bad] = collect(store, x_only(xs), WATCHES[:1], env=ENV, now=clock)
    assert bad.error == "malformed" and "the answer is not JSON" in (bad.message or "")


def test_a_malformed_item_goes_to_rejects_and_its_page_mates_are_stored(
    backend: Backend, xs: XServer, clock: Clock
) -> None:
    store = backend.store
    fill(xs, 4)
    xs.inject("malformed-item")
    [outcome] = collect(store, x_only(xs), WATCHES[:1], env=ENV, now=clock)
    assert (outcome.error, outcome.new, outcome.rejected, outcome.fetched) == (None, 3, 1, 4)
    [(reason, raw, native_id)] = backend.rows("SELECT reason, raw, native_id FROM rejects")
    assert reason == "missing field 'text'" and native_id in raw and native_id in xs.posts


def test_a_401_gives_the_one_line_error(backend: Backend, xs: XServer, clock: Clock) -> None:
    store = backend.store
    xs.token = "rotated-by-someone"
    outcomes = collect(store, x_only(xs), WATCHES, env=ENV, now=clock)
    assert [o.error for o in outcomes] == ["auth", "auth"]
    assert backend.rows("SELECT watch, error, error_message FROM runs ORDER BY id") == [
        (
            "brand",
            "auth",
            "x (watch 'brand'): token rejected (401); set X_BEARER_TOKEN to a valid bearer token",
        ),
        (
            "prezzi",
            "auth",
            "x (watch 'prezzi'): token rejected (401); set X_BEARER_TOKEN to a valid bearer token",
        ),
    ]
    missing = collect(store, x_only(xs), WATCHES[:1], env={}, now=clock)
    assert (
        missing[0].message == "x (watch 'brand'): bearer token missing; set X_BEARER_TOKEN in the environment"
    )


def test_timeouts_and_refused_connections_fail_cleanly(backend: Backend, xs: XServer, clock: Clock) -> None:
    store = backend.store
    fill(xs, 2)
    xs.inject("slow", times=2, seconds=0.6)
    [slow] = collect(
        store, x_only(xs, timeout_seconds=0.2, retry_attempts=2), WATCHES[:1], env=ENV, now=clock
    )
    assert slow.message == "x (watch 'brand'): no answer within 0.2s; raise timeout_seconds or retry later"
    url = xs.url
    xs.stop()
    networks = {"x": x.Settings(api_base_url=url, retry_backoff_seconds=0)}
    [refused] = collect(store, networks, WATCHES[:1], env=ENV, now=clock)
    assert (
        refused.message
        == "x (watch 'brand'): cannot connect (ConnectionError); check the network or api_base_url"
    )
    assert store.get_cursor("x", "brand") is None and store.count_mentions() == 0


def test_the_bearer_token_never_reaches_logs_runs_or_the_database(
    store: Store, db_path: Path, xs: XServer, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """On SQLite only: it reads the database's files (and its write-ahead log) for the token."""
    caplog.set_level(logging.DEBUG)
    fill(xs, 12)
    xs.inject("500", times=3, skip=1)
    collect(store, x_only(xs), WATCHES, env=ENV, now=clock)  # fails on page 2
    collect(store, x_only(xs), WATCHES, env=ENV, now=clock)  # succeeds
    xs.token = "something-else"
    collect(store, x_only(xs), WATCHES, env=ENV, now=clock)  # 401s
    assert "Authorization" in caplog.text  # tweepy did log its headers...
    assert TOKEN not in caplog.text  # ...with the token blanked out
    assert store.count_mentions() == 12
    assert not [r for r in rows(store, "SELECT * FROM runs") if TOKEN in repr(r)]
    store.conn.execute("PRAGMA wal_checkpoint(FULL)")
    for path in db_path.parent.glob("listener.db*"):
        assert TOKEN.encode() not in path.read_bytes()


def test_the_monthly_post_budget_stops_collection_before_the_cap(
    backend: Backend, xs: XServer, clock: Clock
) -> None:
    store = backend.store
    fill(xs, 40)
    networks = x_only(xs, monthly_post_budget=25, budget_day=1)
    [first] = collect(store, networks, WATCHES[:1], env=ENV, now=clock)
    assert (first.fetched, first.error) == (20, None)  # a third page of 10 would pass 25
    [usage] = budget_usage(store, networks, clock.now)
    assert (usage.used, usage.left, usage.period_start) == (20, 5, datetime(2026, 3, 1, tzinfo=UTC))
    [spent] = collect(store, x_only(xs, monthly_post_budget=20), WATCHES[:1], env=ENV, now=clock)
    assert spent.skipped and spent.error == "budget"
    clock.now = datetime(2026, 4, 1, 0, 0, 1, tzinfo=UTC)  # a new month: the walk resumes
    [resumed] = collect(store, networks, WATCHES[:1], env=ENV, now=clock)
    assert (resumed.new, store.count_mentions()) == (20, 40)


def test_budget_periods_reset_on_the_configured_day() -> None:
    assert period_start(datetime(2026, 3, 10, tzinfo=UTC), 15) == datetime(2026, 2, 15, tzinfo=UTC)
    assert period_start(datetime(2026, 1, 3, tzinfo=UTC), 5) == datetime(2025, 12, 5, tzinfo=UTC)


def test_reddit_rate_limit_and_bad_secret(backend: Backend, rs: RedditServer, clock: Clock) -> None:
    store = backend.store
    rs.add_submission("italy", "marco", "Caffè Aurora", T0)
    networks = {"reddit": reddit.Settings(oauth_url=rs.url, reddit_url=rs.url, retry_backoff_seconds=0)}
    rs.inject("429", path="/r/", seconds=120)
    [limited] = collect(store, networks, WATCHES[:1], env=ENV, now=clock)
    assert (limited.error, limited.retry_at) == ("rate-limited", clock.now + timedelta(seconds=120))
    clock.now += timedelta(minutes=3)
    [ok] = collect(store, networks, WATCHES[:1], env=ENV, now=clock)
    assert (ok.error, ok.new) == (None, 1)
    rs.client_secret = "rotated"
    [denied] = collect(store, networks, WATCHES[:1], env=ENV, now=clock)
    assert denied.error == "auth" and "set REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET" in (
        denied.message or ""
    )
    assert REDDIT_SECRET not in repr(backend.rows("SELECT * FROM runs"))


def test_reddit_runs_do_not_repeat_and_a_5xx_loses_nothing(
    backend: Backend, rs: RedditServer, clock: Clock
) -> None:
    store = backend.store
    for i in range(9):
        rs.add_submission("italy", f"u{i}", f"Caffè Aurora {i}", T0 + timedelta(minutes=i))
    networks = {
        "reddit": reddit.Settings(oauth_url=rs.url, reddit_url=rs.url, limit=4, retry_backoff_seconds=0)
    }
    rs.inject("503", times=3, path="/r/", skip=1)
    [failed] = collect(store, networks, WATCHES[:1], env=ENV, now=clock)
    assert (failed.error, failed.new, store.get_cursor("reddit", "brand")) == ("unavailable", 4, None)
    [done] = collect(store, networks, WATCHES[:1], env=ENV, now=clock)
    assert (done.error, done.new, done.duplicates) == (None, 5, 4)
    [again] = collect(store, networks, WATCHES[:1], env=ENV, now=clock)
    assert (again.fetched, again.new) == (0, 0)  # the seen fullnames keep the overlap out
    assert store.count_mentions() == 9


def test_a_failing_network_does_not_stop_the_others(
    backend: Backend, xs: XServer, rs: RedditServer, clock: Clock
) -> None:
    store = backend.store
    fill(xs, 2)
    rs.add_submission("italy", "marco", "Caffè Aurora", T0)
    networks = {
        **x_only(xs),
        "reddit": reddit.Settings(oauth_url=rs.url, reddit_url=rs.url, retry_backoff_seconds=0),
    }
    run = Pass(store, networks, WATCHES[:1], env={**ENV, "REDDIT_CLIENT_SECRET": ""}, now=clock)
    outcomes = [run.run(source) for source in run.sources()]
    assert [(o.network, o.error, o.new) for o in outcomes] == [("reddit", "auth", 0), ("x", None, 2)]
    assert outcomes[0].message == (
        "reddit (watch 'brand'): client secret missing; set REDDIT_CLIENT_SECRET in the environment"
    )
    assert [s.name for s in run.sources(network="x", watch="brand")] == ["brand"]


def test_x_headers_saying_the_window_is_spent_stop_the_walk_early(
    backend: Backend, xs: XServer, clock: Clock
) -> None:
    store = backend.store
    fill(xs, 25)
    xs.rate_limit = 2  # the second page's headers say 0 left: no third request, no 429
    [first] = collect(store, x_only(xs), WATCHES[:1], env=ENV, now=clock)
    reset = clock.now + timedelta(minutes=15)
    assert (first.error, first.new, first.retry_at) == ("rate-limited", 20, reset)
    assert len(xs.requests) == 2 and '"resume"' in (store.get_cursor("x", "brand") or "")
    clock.now = reset
    [rest] = collect(store, x_only(xs), WATCHES[:1], env=ENV, now=clock)
    assert (rest.error, rest.new, store.count_mentions()) == (None, 5, 25)


def test_reddit_headers_saying_the_window_is_spent_stop_before_prawcore_would_sleep(
    backend: Backend, rs: RedditServer, clock: Clock
) -> None:
    store = backend.store
    for i in range(6):
        rs.add_submission("italy", f"u{i}", f"Caffè Aurora {i}", T0 + timedelta(minutes=i))
    # The second listing leaves 0. A short window keeps prawcore's own pacing from sleeping.
    rs.rate_limit, rs.window = 2, timedelta(seconds=30)
    networks = {
        "reddit": reddit.Settings(oauth_url=rs.url, reddit_url=rs.url, limit=2, retry_backoff_seconds=0)
    }
    [limited] = collect(store, networks, WATCHES[:1], env=ENV, now=clock)
    assert (limited.error, limited.new) == ("rate-limited", 4)
    assert limited.retry_at == clock.now + timedelta(seconds=30)
    assert store.get_cursor("reddit", "brand") is None  # the walk was cut short: start over next time


# -- the contract every registered collector keeps ---------------------------


@pytest.mark.parametrize("name", sorted(collectors.REGISTRY))
def test_registered_collectors_follow_the_contract(name: str) -> None:
    cls = collectors.load(name)
    assert cls.name == name
    assert issubclass(cls.Settings, NetworkSettings)
    secret_words = ("token", "secret", "password", "key")
    for field in cls.Settings.model_fields:
        if any(word in field for word in secret_words):
            assert field.endswith("_env"), f"{name}.{field}: secrets are named by env var, never given"
    cls.Settings()  # every key has a default


@pytest.mark.parametrize("name", sorted(collectors.REGISTRY))
def test_collectors_declare_what_they_can_do(name: str) -> None:
    cls = collectors.load(name)
    assert issubclass(cls, Collector)
    flags = {"searches": cls.searches, "has_feeds": cls.has_feeds, "has_quota": cls.has_quota,
             "has_budget": cls.has_budget}  # fmt: skip
    assert all(isinstance(value, bool) for value in flags.values()), flags
    assert cls.searches or cls.has_feeds, "a network with neither search nor feeds collects nothing"
    assert not cls.has_budget or issubclass(cls.Settings, BudgetSettings)
    assert cls.has_quota == (cls.quota_status is not Collector.quota_status)


def test_the_runner_gives_the_context_and_passes_feeds_as_feeds(
    backend: Backend, xs: XServer, clock: Clock
) -> None:
    store = backend.store
    xs.add_user("aurora_official")
    xs.add_post("marco", "Ciao @aurora_official", T0)
    run = Pass(store, x_only(xs, accounts=("@aurora_official",)), WATCHES[:1], env=ENV, now=clock)
    sources = run.sources()
    assert [(s.name, type(s.target).__name__) for s in sources] == [
        ("brand", "Watch"), ("@aurora_official", "Feed"), ("posts:@aurora_official", "Feed"),
    ]  # fmt: skip
    made = run.collectors["x"]
    assert made.clock is clock and made.ledger is not None and made.sleep is None
    assert run.run(sources[1]).new == 1


def _harness(name: str, clock: Clock) -> tuple[Any, NetworkSettings, dict[str, str], str]:
    """A local server for the network, settings pointing at it, the env, and the credential variable."""
    if name == "x":
        server: Any = XServer(token=TOKEN, clock=clock).start()
        return server, x.Settings(api_base_url=server.url, retry_backoff_seconds=0), ENV, "X_BEARER_TOKEN"
    server = RedditServer("demo-client-id", REDDIT_SECRET, clock=clock).start()
    settings = reddit.Settings(oauth_url=server.url, reddit_url=server.url, retry_backoff_seconds=0)
    return server, settings, ENV, "REDDIT_CLIENT_SECRET"


def _post(server: Any, text: str, at: datetime) -> None:
    if isinstance(server, XServer):
        server.add_post("giulia", text, at)
    else:
        server.add_submission("italy", "giulia", text, at)


@pytest.mark.parametrize("name", ["x", "reddit"])
def test_collectors_store_once_resume_and_name_the_credential(
    name: str, backend: Backend, clock: Clock
) -> None:
    store = backend.store
    server, settings, env, variable = _harness(name, clock)
    try:
        for i in range(3):
            _post(server, f"Caffè Aurora {i}", T0 + timedelta(minutes=i))
        [first] = collect(store, {name: settings}, WATCHES[:1], env=env, now=clock)
        _post(server, "Caffè Aurora, di nuovo", T0 + timedelta(minutes=30))
        [second] = collect(store, {name: settings}, WATCHES[:1], env=env, now=clock)
        assert (first.new, second.new, second.duplicates, store.count_mentions()) == (3, 1, 0, 4)
        [missing] = collect(store, {name: settings}, WATCHES[:1], env={**env, variable: ""}, now=clock)
        assert missing.error == "auth" and f"set {variable}" in (missing.message or "")
    finally:
        server.stop()
