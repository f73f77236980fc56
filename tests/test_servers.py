"""The local wire-format servers: shapes checked against the real recordings, faults, the demo and the CLI."""

from __future__ import annotations

import gzip
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml  # type: ignore[import-untyped]
from click.testing import CliRunner

from listener.cli import App
from listener.cli.collect import collect
from listener.demo.redditserver import RedditServer
from listener.demo.xserver import XServer

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
LATER = T0 + timedelta(days=3)


@pytest.fixture
def xs() -> Iterator[XServer]:
    with XServer(token="t0ken", clock=lambda: LATER) as server:
        yield server


@pytest.fixture
def rs() -> Iterator[RedditServer]:
    with RedditServer("id", "secret", clock=lambda: LATER) as server:
        yield server


def x_get(server: XServer, path: str, **params: Any) -> requests.Response:
    return requests.get(
        server.url + path, params=params, headers={"Authorization": "Bearer t0ken"}, timeout=5
    )


def reddit_token(server: RedditServer) -> str:
    reply = requests.post(server.url + "/api/v1/access_token", data={"grant_type": "client_credentials"},
                          auth=("id", "secret"), timeout=5)  # fmt: skip
    return str(reply.json()["access_token"])


def test_x_search_has_the_recorded_shape_and_headers(shared_dir: Path, xs: XServer) -> None:
    recorded = yaml.safe_load(
        (shared_dir / "fixtures/tweepy/test_client_search_recent_tweets.yaml").read_text()
    )
    response = recorded["interactions"][0]["response"]
    body = json.loads(gzip.decompress(response["body"]["string"]))
    for i in range(12):
        xs.add_post("giulia", f"aurora {i}", T0 + timedelta(minutes=i))
    reply = x_get(xs, "/2/tweets/search/recent", query="aurora", max_results=10)
    ours = reply.json()
    assert set(body) <= set(ours) and set(body["meta"]) <= set(ours["meta"])
    assert set(body["data"][0]) <= set(ours["data"][0])
    assert {h for h in response["headers"] if h.startswith("x-rate-limit")} <= set(reply.headers)
    assert ours["meta"]["result_count"] == 10 and ours["includes"]["users"][0]["username"] == "giulia"
    rest = x_get(
        xs, "/2/tweets/search/recent", query="aurora", max_results=10, next_token=ours["meta"]["next_token"]
    )
    assert rest.json()["meta"]["result_count"] == 2 and "next_token" not in rest.json()["meta"]


def test_reddit_listing_has_the_recorded_shape(shared_dir: Path, rs: RedditServer) -> None:
    recorded = json.loads((shared_dir / "fixtures/praw/TestSubredditListings.test_comments.json").read_text())
    body = json.loads(recorded["interactions"][1]["response"]["body"]["string"])
    post = rs.add_submission("italy", "marco", "Caffè Aurora", T0)
    rs.add_comment(post, "anna", "Buono!", T0 + timedelta(minutes=1))
    reply = requests.get(rs.url + "/r/italy/comments/", params={"limit": 100, "raw_json": 1},
                         headers={"Authorization": f"bearer {reddit_token(rs)}"}, timeout=5)  # fmt: skip
    ours = reply.json()
    assert ours["kind"] == body["kind"] == "Listing"
    assert set(body["data"]) <= set(ours["data"])
    wanted = {
        "id",
        "name",
        "body",
        "author",
        "parent_id",
        "link_id",
        "subreddit",
        "created_utc",
        "score",
        "replies",
    }
    assert wanted <= set(body["data"]["children"][0]["data"]) and wanted <= set(
        ours["data"]["children"][0]["data"]
    )
    assert {"x-ratelimit-remaining", "x-ratelimit-used", "x-ratelimit-reset"} <= set(reply.headers)


def test_faults_are_used_up_in_order(xs: XServer) -> None:
    xs.add_post("a", "aurora", T0)
    xs.inject("503", path="/2/tweets", skip=1)
    xs.inject("429", seconds=60)
    statuses = [x_get(xs, "/2/tweets/search/recent", query="aurora").status_code for _ in range(4)]
    assert statuses == [200, 503, 429, 200]
    xs.inject("malformed-json")
    with pytest.raises(requests.JSONDecodeError):
        x_get(xs, "/2/tweets/search/recent", query="aurora").json()
    xs.inject("drop")
    with pytest.raises(requests.ConnectionError):
        x_get(xs, "/2/tweets/search/recent", query="aurora")


def test_the_x_rate_window_runs_out_into_429s(xs: XServer) -> None:
    xs.rate_limit = 2
    xs.add_post("a", "aurora", T0)
    replies = [x_get(xs, "/2/tweets/search/recent", query="aurora") for _ in range(3)]
    assert [r.status_code for r in replies] == [200, 200, 429]
    assert replies[1].headers["x-rate-limit-remaining"] == "0"
    assert int(replies[2].headers["x-rate-limit-reset"]) == int((LATER + timedelta(minutes=15)).timestamp())


def test_the_servers_check_credentials(xs: XServer, rs: RedditServer) -> None:
    assert requests.get(xs.url + "/2/tweets/search/recent?query=a", timeout=5).status_code == 401
    denied = requests.post(rs.url + "/api/v1/access_token", data={"grant_type": "client_credentials"},
                           auth=("id", "wrong"), timeout=5)  # fmt: skip
    assert denied.status_code == 401
    assert (
        requests.get(rs.url + "/r/all/new", headers={"Authorization": "bearer nope"}, timeout=5).status_code
        == 401
    )


def test_collect_command_prints_a_summary_and_exits_3_on_partial_failure(
    tmp_path: Path, xs: XServer, rs: RedditServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    xs.add_post("giulia", "Caffè Aurora, che buono", T0, lang="it")
    config = tmp_path / "listener.toml"
    config.write_text(f"""
[[watches]]
name = "brand"
query = '"caffè aurora"'

[networks.x]
api_base_url = "{xs.url}"
retry_backoff_seconds = 0

[networks.reddit]
oauth_url = "{rs.url}"
reddit_url = "{rs.url}"
""")  # fmt: skip
    monkeypatch.setenv("X_BEARER_TOKEN", "t0ken")
    monkeypatch.setenv("REDDIT_CLIENT_ID", "id")
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", "not-the-secret")
    result = CliRunner().invoke(collect, [], obj=App(str(config), None))
    assert result.exit_code == 3, result.output
    lines = [line.split() for line in result.stdout.splitlines()]
    assert lines[-1][:6] == ["x", "brand", "1", "1", "0", "0"]
    assert "Error: reddit (watch 'brand'): credentials rejected (401)" in result.stderr
    runs = sqlite3.connect(tmp_path / "listener.db").execute(
        "SELECT network, error FROM runs ORDER BY network"
    )
    assert runs.fetchall() == [("reddit", "auth"), ("x", None)]
    as_json = CliRunner().invoke(collect, ["--network", "x", "--json"], obj=App(str(config), None))
    assert as_json.exit_code == 0 and json.loads(as_json.stdout)[0]["new"] == 0
    unknown = CliRunner().invoke(collect, ["--network", "mastodon"], obj=App(str(config), None))
    assert unknown.exit_code == 2 and "not an enabled network" in unknown.output
