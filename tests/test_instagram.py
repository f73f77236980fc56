"""The Instagram collector against recorded real Graph bodies (httpx.MockTransport) and the local server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from collectors.base import Context
from collectors.instagram import InstagramCollector, Settings, flatten_comments, normalize_comment
from listener.collect import collect
from listener.demo.graphserver import GraphServer
from listener.errors import AuthError, RateLimited
from listener.model import Feed, SaveResult, Watch
from listener.query import parse
from listener.records import utcnow
from tests.backends import Backend
from tests.harness import Clock

TOKEN = "test-ig-token-3d7c0b"
ENV = {"INSTAGRAM_ACCESS_TOKEN": TOKEN}
USER = "17841406338772941"
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
WATCHES = [Watch("brand", "aurora", parse("aurora"))]


@pytest.fixture
def ig_dir(shared_dir: Path) -> Path:
    return shared_dir / "fixtures" / "instagram"


def feed(name: str) -> Feed:
    return Feed(name, keep_all=True)


Handler = Callable[[httpx.Request], tuple[int, Any]]


def replay(
    handler: Handler, seen: list[httpx.Request], clock: Callable[[], datetime] = utcnow, **settings: Any
) -> InstagramCollector:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status, body = handler(request)
        return httpx.Response(status, json=body)

    options = {"user_id": USER, "username": "ikroskun", "retry_backoff_seconds": 0, **settings}
    return InstagramCollector(
        Settings(**options), ENV, Context(clock=clock, transport=httpx.MockTransport(answer))
    )


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# -- recorded bodies ---------------------------------------------------------


def test_own_media_follow_paging_next_until_it_is_absent(ig_dir: Path) -> None:
    first, second = (load(ig_dir / "users" / f"medias_p{n}.json") for n in (1, 2))
    seen: list[httpx.Request] = []
    pages = list(replay(lambda r: (200, second if "after" in r.url.params else first), seen)
                 .fetch(feed("posts:@ikroskun"), None))  # fmt: skip
    assert len(seen) == 2 and [len(p.mentions) for p in pages] == [2, 2]
    assert seen[0].url.path == f"/v23.0/{USER}/media"
    assert seen[1].url.path == f"/v6.0/{USER}/media" and "access_token" not in seen[1].url.params
    no_caption, album = pages[0].mentions[0], pages[1].mentions[0]
    assert (no_caption.native_id, no_caption.text, no_caption.url) == (
        "17895731045244887", "", "https://www.instagram.com/p/CSgf9BChwVq/")  # fmt: skip
    assert no_caption.created_at == datetime(2021, 8, 13, 8, 25, 28, tzinfo=UTC)
    assert (album.text, album.like_count, album.reply_count) == ("ALBUM", 1, 0)
    assert pages[0].mentions[1].reply_count == 6
    assert json.loads(pages[-1].cursor or "")["since"] == "2021-08-13T08:25:28+00:00"


def test_tagged_media_without_paging_are_one_page(ig_dir: Path) -> None:
    body = load(ig_dir / "users" / "tagged_medias.json")
    seen: list[httpx.Request] = []
    [page] = list(replay(lambda r: (200, body), seen).fetch(feed("tagged:@ikroskun"), None))
    assert len(seen) == 1 and seen[0].url.path == f"/v23.0/{USER}/tags" and "since" not in seen[0].url.params
    assert [m.native_id for m in page.mentions] == [
        "17892354025952911",
        "17997587032316367",
        "17846368219941692",
        "17913531439230186",
        "17978630677077508",
    ]
    assert page.mentions[2].text == "Cute.. #cute #loveyou  @ikroskun"


def test_a_real_after_cursor_without_next_ends_the_walk(ig_dir: Path) -> None:
    body = load(ig_dir / "mentions" / "tagged_user_medias_p1.json")
    seen: list[httpx.Request] = []
    [page] = list(replay(lambda r: (200, body), seen).fetch(feed("tagged:@ikroskun"), None))
    assert len(seen) == 1 and len(page.mentions) == 3
    assert [(m.author_handle, m.reply_count) for m in page.mentions] == [
        ("ikroskun", 1),
        ("ikroskun", 3),
        ("join_0119", 1),
    ]


def test_hashtag_search_then_recent_media_declares_one_unit(ig_dir: Path) -> None:
    search = load(ig_dir / "users" / "hashtag_search.json")
    first, second = (load(ig_dir / "hashtags" / f"hashtag_recent_medias_p{n}.json") for n in (1, 2))

    def handler(request: httpx.Request) -> tuple[int, Any]:
        if request.url.path.endswith("ig_hashtag_search"):
            assert request.url.params["q"] == "developers" and request.url.params["user_id"] == USER
            return 200, search
        return 200, second if "after" in request.url.params else first

    seen: list[httpx.Request] = []
    pages = list(replay(handler, seen, hashtags=("#Developers",)).fetch(feed("#developers"), None))
    assert [r.url.path for r in seen] == [
        "/v23.0/ig_hashtag_search",
        "/v23.0/17841562426109234/recent_media",
        "/v4.0/17843826142012701/top_media",
    ]
    assert [p.units for p in pages] == [1, 0]
    # These recordings asked for no timestamp: every media is rejected, with the reason.
    rejects = [r for p in pages for r in p.rejects]
    assert len(rejects) == 10 and {r.reason for r in rejects} == {"missing field 'timestamp'"}
    assert rejects[0].native_id == "18088158883149835"
    assert json.loads(pages[-1].cursor or "") == {"hashtag_id": "17841562426109234"}


def test_media_comments_and_replies(ig_dir: Path) -> None:
    first, second = (load(ig_dir / "medias" / f"comments_p{n}.json") for n in (1, 2))
    media = {"id": "17846368219941692", "timestamp": "2020-02-13T10:35:40+0000",
             "permalink": "https://www.instagram.com/p/B8gQCApHMT-/", "comments": first}  # fmt: skip

    def handler(request: httpx.Request) -> tuple[int, Any]:
        if request.url.path.endswith(f"{USER}/media"):
            return 200, {"data": [media]}
        assert request.url.path == "/v11.0/17846368219941692/comments"
        return 200, second

    seen: list[httpx.Request] = []
    collector = replay(handler, seen, clock=lambda: datetime(2020, 2, 15, tzinfo=UTC))
    pages = list(collector.fetch(feed("@ikroskun"), None))
    mentions = [m for p in pages for m in p.mentions]
    assert [m.native_id for m in mentions] == [
        "17858154961981086",
        "17874875428706419",
        "17892250648466172",
        "17914413430382429",
    ]
    newest = mentions[0]
    assert (newest.text, newest.in_reply_to_id, newest.conversation_id) == (
        "Beautiful!", "17846368219941692", "17846368219941692")  # fmt: skip
    assert newest.created_at == datetime(2020, 6, 1, 10, 56, 52, tzinfo=UTC)
    assert newest.url == "https://www.instagram.com/p/B8gQCApHMT-/" and newest.author_handle is None
    replies = load(ig_dir / "comments" / "replies.json")["data"]
    parent = {**load(ig_dir / "comments" / "comment_fields.json"), "replies": {"data": replies}}
    flat = flatten_comments([parent])
    reply = normalize_comment(flat[1], media)
    assert (reply.native_id, reply.in_reply_to_id, reply.text) == (
        "17847314687296283", "17892250648466172", "@lixiangguodu123 nihao")  # fmt: skip
    owner = normalize_comment(flat[0], media)
    assert (owner.author_handle, owner.like_count) == ("ikroskun", 1)


# -- settings, quota and the local server ------------------------------------


def test_settings_refuse_more_than_thirty_hashtags() -> None:
    assert Settings(hashtags=("#Caffe", "caffe", " espresso ")).hashtags == ("caffe", "espresso")
    with pytest.raises(ValidationError, match="Instagram allows 30 distinct hashtags per 7 days"):
        Settings(hashtags=tuple(f"tag{i}" for i in range(31)))


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + timedelta(hours=2))


@pytest.fixture
def server(clock: Clock) -> Iterator[GraphServer]:
    with GraphServer(token=TOKEN, clock=clock, network="instagram") as running:
        yield running


def settings_for(server: GraphServer, **extra: Any) -> Settings:
    return Settings(api_base_url=server.url, user_id=server.ig_user_id, username=server.ig_username,
                    retry_backoff_seconds=0, **extra)  # fmt: skip


def test_a_thirty_first_hashtag_in_seven_days_is_refused_before_it_is_asked(
    server: GraphServer, clock: Clock, backend: Backend
) -> None:
    store = backend.store
    for i in range(30):  # 30 other hashtags ran and spent their unit in the last week
        run = store.start_run("instagram", f"#old{i}", clock.now - timedelta(days=6))
        store.finish_run(run, SaveResult(), 0, units=1, now=clock.now - timedelta(days=6))
    server.add_media("Aurora latte art #aurora", T0, username="sara", hashtags=["aurora"])
    networks = {"instagram": settings_for(server, hashtags=("aurora",), collect=("hashtags",))}
    [refused] = collect(store, networks, WATCHES, env=ENV, now=clock)
    assert refused.error == "collector" and refused.message == (
        "instagram (#aurora): 30 distinct hashtags were queried in the last 7 days and Instagram allows 30; this "
        "one waits until one of them is 7 days old, or drop hashtags from the settings"
    )
    assert not [r for r in server.requests if "hashtag" in r.path or "recent_media" in r.path]
    clock.now += timedelta(days=2)  # the old ones are now 8 days old
    [done] = collect(store, networks, WATCHES, env=ENV, now=clock)
    assert (done.error, done.new) == (None, 1)
    units = backend.rows("SELECT units FROM runs WHERE watch = '#aurora' ORDER BY id")
    assert units == [(0,), (1,)]
    [again] = collect(store, networks, WATCHES, env=ENV, now=clock)
    assert (again.error, again.new) == (None, 0)
    assert [r.path for r in server.requests].count("/v23.0/ig_hashtag_search") == 1  # the id is in the cursor


def test_every_feed_through_the_runner_with_hidden_comments_marked(
    server: GraphServer, clock: Clock, backend: Backend
) -> None:
    store = backend.store
    own = server.add_media("Aurora: the spring menu", T0)
    first = server.add_ig_comment(own, "giulia", "che bello", T0 + timedelta(minutes=1))
    reply = server.add_ig_comment(own, "caffeaurora", "grazie!", T0 + timedelta(minutes=2), reply_to=first)
    spam = server.add_ig_comment(own, "bot", "follow me", T0 + timedelta(minutes=3))
    server.add_media("Breakfast at @caffeaurora", T0, username="sara")
    networks = {"instagram": settings_for(server)}
    outcomes = collect(store, networks, WATCHES, env=ENV, now=clock)
    assert {o.source: (o.error, o.new) for o in outcomes} == {
        "@caffeaurora": (None, 3),
        "tagged:@caffeaurora": (None, 1),
        "posts:@caffeaurora": (None, 1),
    }
    row = backend.rows(f"SELECT in_reply_to_id, author_handle FROM mentions WHERE native_id = '{reply}'")
    assert row == [(first, "caffeaurora")]
    server.hide(spam)
    collect(store, networks, WATCHES, env=ENV, now=clock)
    marked = backend.rows("SELECT native_id FROM mentions WHERE deleted_at IS NOT NULL")
    assert marked == [(spam,)]


def test_errors_name_the_instagram_token_and_rate_limits_their_time(
    server: GraphServer, clock: Clock
) -> None:
    server.add_media("hello", T0)
    server.inject_error(190)
    collector = InstagramCollector(settings_for(server), ENV, Context(clock=clock))
    with pytest.raises(AuthError, match=r"and set INSTAGRAM_ACCESS_TOKEN$"):
        list(collector.fetch(feed("posts:@caffeaurora"), None))
    server.inject("429", seconds=300)
    with pytest.raises(RateLimited) as caught:
        list(collector.fetch(feed("posts:@caffeaurora"), None))
    assert caught.value.retry_at == clock.now + timedelta(minutes=5)
    assert str(caught.value).startswith(
        "instagram (posts:@caffeaurora): rate limited (code 80002: There have"
    )
