"""The Reddit collector against recorded real responses (vcrpy JSON) and the local Reddit server."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import vcr  # type: ignore[import-untyped]

from collectors._common import REDACTOR
from collectors.reddit import RedditCollector, Settings, normalize_listing, to_reddit_query
from listener.demo.redditserver import RedditServer
from listener.errors import AuthError
from listener.model import Feed, Watch
from listener.query import Query, parse

ENV = {"REDDIT_CLIENT_ID": "test-client", "REDDIT_CLIENT_SECRET": "test-secret-0123456789"}
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _replay() -> vcr.VCR:
    # praw adds raw_json=1 and our parameters differ from the recorded ones: match on the path.
    return vcr.VCR(
        record_mode="none",
        serializer="json",
        match_on=["method", "scheme", "host", "port", "path"],
    )


def watch(name: str, query: str) -> Watch:
    return Watch(name, query, parse(query))


def feed(name: str) -> Feed:
    return Feed(name, keep_all=True)


@pytest.fixture
def praw_dir(shared_dir: Path) -> Path:
    return shared_dir / "fixtures" / "praw"


def recorded_body(path: Path, index: int) -> Any:
    return json.loads(json.loads(path.read_text())["interactions"][index]["response"]["body"]["string"])


def test_search_recording_normalises_submissions(praw_dir: Path) -> None:
    mentions, rejects, after = normalize_listing(
        recorded_body(praw_dir / "TestSubreddit.test_search.json", 1)
    )
    assert len(mentions) == 6 and not rejects and after is None
    first = mentions[0]
    assert (first.native_id, first.author_handle, first.conversation_id) == (
        "t3_3gpbiu",
        "dClauzel",
        "t3_3gpbiu",
    )
    assert first.created_at == datetime(2015, 8, 12, 9, 8, 34, tzinfo=UTC)
    assert first.text.startswith("[PRAW][OAuth2Util] Problem using get_banned()")
    assert (
        first.url
        == "https://www.reddit.com/r/redditdev/comments/3gpbiu/prawoauth2util_problem_using_get_banned_raise/"
    )
    assert (first.reply_count, first.in_reply_to_id, first.language) == (21, None, None)
    assert mentions[-1].text.startswith("たびたび話題になる")


def test_search_recording_through_praw_keeps_what_the_watch_matches(praw_dir: Path) -> None:
    collector = RedditCollector(Settings(retry_backoff_seconds=0), ENV)
    with _replay().use_cassette(str(praw_dir / "TestSubreddit.test_search.json")) as cassette:
        [page] = collector.fetch(watch("praw", "praw oauth"), None)
    assert cassette.play_count == 2  # the token, then the search
    everything, _, _ = normalize_listing(recorded_body(praw_dir / "TestSubreddit.test_search.json", 1))
    expected = [m.native_id for m in everything if Query.parse("praw oauth").matches(m)]
    assert [m.native_id for m in page.mentions] == expected
    assert "t3_4at068" not in expected  # Reddit's search is fuzzier than the watch
    cursor = json.loads(page.cursor or "")
    # Search answers by relevance here: the cursor still takes the newest, and keeps as seen
    # only what lies within the overlap window before it.
    assert cursor == {"created": 1458221634.0, "seen": {"t3_4at068": 1458221634.0}}


def test_comment_stream_recording_gives_reply_ids_and_built_urls(praw_dir: Path) -> None:
    collector = RedditCollector(Settings(stream_subreddits=("askreddit",), pages_per_run=1), ENV)
    assert [f.name for f in collector.feeds()] == ["r/askreddit/comments", "r/askreddit/new"]
    with _replay().use_cassette(str(praw_dir / "TestSubredditListings.test_comments.json")):
        [page] = collector.fetch(feed("r/askreddit/comments"), None)
    assert len(page.mentions) == 100 and not page.rejects
    first = page.mentions[0]
    assert (first.native_id, first.author_handle) == ("t1_d4y8bdp", "preppypuppy")
    assert (first.in_reply_to_id, first.conversation_id) == ("t3_4r4inc", "t3_4r4inc")
    assert first.created_at == datetime(2016, 7, 4, 0, 4, 50, tzinfo=UTC)
    assert first.text == "great, life is so much better when you can do what you enjoy for a living"
    # 2016 listings had no permalink on comments: built from the subreddit and link id.
    assert first.url == "https://www.reddit.com/r/AskReddit/comments/4r4inc/_/d4y8bdp/"


def test_stream_recording_with_a_pause_skips_what_the_cursor_has_seen(praw_dir: Path) -> None:
    path = praw_dir / "TestSubredditStreams.test_comments__with_pause.json"
    collector = RedditCollector(Settings(stream_subreddits=("kakapo",)), ENV)
    with _replay().use_cassette(str(path)):
        [page] = collector.fetch(feed("r/kakapo/comments"), None)
    assert len(page.mentions) == 16
    reply = next(m for m in page.mentions if m.native_id == "t1_dgauydy")
    assert (reply.in_reply_to_id, reply.text) == ("t1_dg7dqfd", "i lick it")
    # A later run that is handed the same listing again yields nothing new.
    with _replay().use_cassette(str(path)):
        [again] = collector.fetch(feed("r/kakapo/comments"), page.cursor)
    assert again.mentions == []


def test_username_mentions_recording_with_a_refresh_token(praw_dir: Path) -> None:
    settings = Settings(username="someone", refresh_token_env="REDDIT_REFRESH_TOKEN", pages_per_run=1)
    collector = RedditCollector(settings, {**ENV, "REDDIT_REFRESH_TOKEN": "test-refresh-0123456789"})
    assert collector.feeds()[-1].name == "u/someone" and collector.feeds()[-1].keep_all
    with _replay().use_cassette(str(praw_dir / "TestInbox.test_mentions.json")):
        [page] = collector.fetch(feed("u/someone"), None)
    assert len(page.mentions) == 16
    first = page.mentions[0]
    assert (first.native_id, first.author_handle, first.in_reply_to_id) == (
        "t1_ekftbox",
        "2Botter2Loop",
        "t3_bb24k7",
    )
    assert first.conversation_id == "t3_bb24k7"
    assert first.url == (
        "https://www.reddit.com/r/RemovedByBotter/comments/bb24k7/just_a_normal_girl_going_for_her_10th_class_exam/ekftbox/"
    )
    assert first.created_at == datetime(2019, 4, 9, 1, 45, 8, tzinfo=UTC)


def test_broken_listing_items_become_rejects(praw_dir: Path) -> None:
    body = recorded_body(praw_dir / "TestSubredditListings.test_new.json", 1)
    del body["data"]["children"][3]["data"]["created_utc"]
    body["data"]["children"][7] = {"kind": "t3", "data": {"id": "x", "name": "t3_x", "created_utc": 1.0}}
    mentions, rejects, after = normalize_listing(body)
    assert len(mentions) == 98 and after == body["data"]["after"]
    assert [r.reason for r in rejects] == ["missing field 'created_utc'", "missing field 'title'"]
    assert rejects[1].native_id == "t3_x"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"Caffè Aurora" OR #caffeaurora', '("Caffè Aurora" OR "#caffeaurora")'),
        ("aurora -lavoro lang:it", "aurora AND NOT lavoro"),
        ("aurora author:@mario site:aurora.example", "aurora AND author:mario AND site:aurora.example"),
        ("aurora network:x", False),
        ("lang:it", True),
    ],
)
def test_watch_queries_compile_to_reddit_syntax(query: str, expected: str | bool) -> None:
    assert to_reddit_query(Query.parse(query)) == expected


# -- against the local Reddit server ----------------------------------------


@pytest.fixture
def server() -> Iterator[RedditServer]:
    with RedditServer(
        "test-client", ENV["REDDIT_CLIENT_SECRET"], clock=lambda: T0 + timedelta(days=1)
    ) as running:
        yield running


def settings(server: RedditServer, **overrides: Any) -> Settings:
    return Settings(oauth_url=server.url, reddit_url=server.url, retry_backoff_seconds=0, **overrides)


def test_search_pages_through_and_the_cursor_prevents_repeats(server: RedditServer) -> None:
    for i in range(7):
        server.add_submission("italy", f"user{i}", f"Caffè Aurora, giorno {i}", T0 + timedelta(minutes=i))
    collector = RedditCollector(settings(server, limit=3), ENV)
    pages = list(collector.fetch(watch("brand", '"caffè aurora"'), None))
    assert [len(p.mentions) for p in pages] == [3, 3, 1]
    assert [p.cursor is None for p in pages] == [True, True, False]
    search = server.requests[-1]
    assert search.path == "/r/all/search/" and search.params["q"] == '"caffè aurora"'
    assert search.params["sort"] == "new" and search.params["after"]
    server.add_submission("italy", "nuovo", "Caffè Aurora, ancora", T0 + timedelta(hours=2))
    later = list(collector.fetch(watch("brand", '"caffè aurora"'), pages[-1].cursor))
    assert [m.author_handle for p in later for m in p.mentions] == ["nuovo"]


def test_wrong_secret_gives_the_one_line_fix(server: RedditServer) -> None:
    server.client_secret = "rotated"
    with pytest.raises(AuthError) as caught:
        list(RedditCollector(settings(server), ENV).fetch(watch("brand", "aurora"), None))
    assert str(caught.value) == (
        "reddit (watch 'brand'): credentials rejected (401); set REDDIT_CLIENT_ID and "
        "REDDIT_CLIENT_SECRET to a valid app id and secret"
    )


def test_username_mentions_with_a_password_login(server: RedditServer) -> None:
    server.username, server.password = "aurora_official", "test-password-0123"
    post = server.add_submission("milano", "anna", "Colazione", T0)
    server.add_comment(post, "luca", "Chiedete a u/aurora_official!", T0 + timedelta(minutes=1))
    server.add_comment(post, "sara", "Io passo", T0 + timedelta(minutes=2))
    s = settings(server, username="aurora_official", password_env="REDDIT_PASSWORD")
    collector = RedditCollector(s, {**ENV, "REDDIT_PASSWORD": "test-password-0123"})
    [page] = collector.fetch(feed("u/aurora_official"), None)
    assert [m.author_handle for m in page.mentions] == ["luca"]
    assert page.mentions[0].in_reply_to_id == post


def test_the_username_shows_in_messages_while_the_password_and_secret_stay_masked(
    server: RedditServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.username, server.password = "aurora_official", "test-password-0123"
    post = server.add_submission("milano", "anna", "Colazione", T0)
    server.add_comment(post, "luca", "Chiedete a u/aurora_official!", T0 + timedelta(minutes=1))
    s = settings(server, username="aurora_official", password_env="REDDIT_PASSWORD")
    collector = RedditCollector(s, {**ENV, "REDDIT_PASSWORD": "test-password-0123"})
    [page] = collector.fetch(feed("u/aurora_official"), None)
    assert [m.author_handle for m in page.mentions] == ["luca"]  # the login still sends the username
    with caplog.at_level(logging.DEBUG, logger="prawcore"):  # as prawcore logs a token request's form
        logging.getLogger("prawcore").debug(
            "Data: %s", {"username": "aurora_official", "password": "test-password-0123"}
        )
    assert caplog.records[-1].getMessage() == "Data: {'username': 'aurora_official', 'password': '***'}"
    # What the runner stores as a run's error goes through the same scrubbing.
    message = REDACTOR.scrub(
        f"reddit (u/aurora_official): login refused; password test-password-0123, "
        f"secret {ENV['REDDIT_CLIENT_SECRET']}, Authorization: bearer abcdefghijklmnop0123"
    )
    assert message == (
        "reddit (u/aurora_official): login refused; password ***, secret ***, Authorization: bearer ***"
    )


def test_a_refresh_token_stays_masked_and_the_username_does_not(server: RedditServer) -> None:
    s = settings(server, username="aurora_brand", refresh_token_env="REDDIT_REFRESH_TOKEN")
    RedditCollector(s, {**ENV, "REDDIT_REFRESH_TOKEN": "test-refresh-token-0123"})
    assert REDACTOR.scrub("u/aurora_brand test-refresh-token-0123") == "u/aurora_brand ***"
