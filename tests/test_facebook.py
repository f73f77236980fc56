"""The Facebook Pages collector against recorded real Graph bodies (httpx.MockTransport) and the local server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from collectors.base import Context
from collectors.facebook import FacebookCollector, Settings, normalize_comment
from collectors.graph import parse_usage, relative_next
from listener.collect import collect
from listener.demo.graphserver import GraphServer
from listener.errors import AuthError, RateLimited, SourceUnavailable
from listener.model import Feed, Watch
from listener.query import parse
from listener.records import utcnow
from tests.backends import Backend
from tests.harness import Clock

TOKEN = "test-page-token-5e8a1f"
ENV = {"FACEBOOK_PAGE_TOKEN": TOKEN}
PAGE = "19292868552"
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def fb_dir(shared_dir: Path) -> Path:
    return shared_dir / "fixtures" / "facebook"


def feed(name: str) -> Feed:
    return Feed(name, keep_all=True)


Handler = Callable[[httpx.Request], tuple[int, Any]]


def replay(
    handler: Handler, seen: list[httpx.Request], clock: Callable[[], datetime] = utcnow, **settings: Any
) -> FacebookCollector:
    """A collector whose httpx client answers from ``handler`` (recorded bodies), at the wire."""

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status, body = handler(request)
        return httpx.Response(status, json=body)

    options = {"page_id": PAGE, "retry_backoff_seconds": 0, **settings}
    return FacebookCollector(
        Settings(**options), ENV, Context(clock=clock, transport=httpx.MockTransport(answer))
    )


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# -- recorded bodies ---------------------------------------------------------


def test_page_feed_follows_paging_next_until_it_is_absent(fb_dir: Path) -> None:
    pages = [load(fb_dir / "posts" / f"feeds_default_fields_p{n}.json") for n in (1, 2)]
    seen: list[httpx.Request] = []
    collector = replay(lambda r: (200, pages[1] if "after" in r.url.params else pages[0]), seen)
    got = list(collector.fetch(feed(f"posts:@{PAGE}"), None))
    assert [len(p.mentions) for p in got] == [5, 5] and not any(p.rejects for p in got)
    assert len(seen) == 2  # p2 has only ``previous``: the walk ends there
    first = got[0].mentions[0]
    assert first.native_id == "19292868552_10158349356748553"
    assert first.created_at == datetime(2021, 7, 9, 19, 9, 52, tzinfo=UTC)
    assert first.url == "https://www.facebook.com/19292868552/posts/10158349356748553/"
    assert first.text.startswith("Singaporean logistics company Ninja Van Singapore provides")
    assert (first.like_count, first.reply_count, first.repost_count) == (125, 13, 10)
    assert first.conversation_id == first.native_id and first.author_id is None
    assert got[1].mentions[-1].repost_count == 183
    # The first request asks the configured version; the second is paging.next without its token.
    assert seen[0].url.path == f"/v23.0/{PAGE}/posts" and seen[0].url.params["limit"] == "25"
    assert seen[1].url.host == "graph.facebook.com" and seen[1].url.path == f"/v10.0/{PAGE}/feed"
    assert "access_token" not in seen[1].url.params and seen[1].url.params["after"] == "after"
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in seen)
    assert got[0].cursor is None
    assert json.loads(got[1].cursor or "") == {"since": "2021-07-09T19:09:52+00:00",
                                               "ids": ["19292868552_10158349356748553"]}  # fmt: skip


def test_a_page_2_that_repeats_page_1_does_not_stop_the_walk_early(fb_dir: Path) -> None:
    """feed_fields_p2 is not a real page 2: same posts, placeholder tokens. Only a missing ``next`` ends."""
    pages = [load(fb_dir / "posts" / f"feed_fields_p{n}.json") for n in (1, 2)]
    seen: list[httpx.Request] = []
    collector = replay(lambda r: (200, pages[1] if "until" in r.url.params else pages[0]), seen)
    got = list(collector.fetch(feed(f"posts:@{PAGE}"), None))
    assert len(seen) == 2 and [len(p.mentions) for p in got] == [5, 5]
    assert seen[1].url.params["__paging_token"] == "__paging_token"
    assert seen[1].url.params["until"] == "1624385168" and "access_token" not in seen[1].url.params
    happy = got[0].mentions[0]
    assert (happy.native_id, happy.text) == ("4_10113477241177441", "Happy July 4th! 🇺🇸")
    assert happy.created_at == datetime(2021, 7, 4, 19, 50, 58, tzinfo=UTC)
    assert happy.url == "https://www.facebook.com/4_10113477241177441"  # no permalink_url was asked for


def test_tagged_posts_with_cursors_but_no_next_are_one_page(fb_dir: Path) -> None:
    body = load(fb_dir / "posts" / "tagged_posts.json")
    seen: list[httpx.Request] = []
    [page] = list(replay(lambda r: (200, body), seen).fetch(feed(f"tagged:@{PAGE}"), None))
    assert len(seen) == 1 and seen[0].url.path == f"/v23.0/{PAGE}/tagged"
    assert [(m.native_id, m.text) for m in page.mentions] == [
        ("2121008874780932_2427414477473702", "So MyLife to go. haha"),
        ("175154750010052_424924701699721", "我测试一下 MyLife"),
        ("175154750010052_427387458120112", "ha MyLife"),
    ]
    assert page.mentions[1].created_at == datetime(2019, 8, 12, 3, 45, 11, tzinfo=UTC)
    assert json.loads(page.cursor or "")["since"] == "2019-09-29T03:59:53+00:00"


def _comments_listing(fb_dir: Path, post_time: str) -> Handler:
    """The Page's posts with the recorded first comments page embedded, then the recorded page 2."""
    first, second = (load(fb_dir / "comments" / f"comments_p{n}.json") for n in (1, 2))
    post = {"id": f"{PAGE}_10158407654328553", "created_time": post_time, "comments": first}

    def handler(request: httpx.Request) -> tuple[int, Any]:
        if request.url.path.endswith(f"{PAGE}/posts"):
            return 200, {"data": [post]}
        assert request.url.path == f"/v11.0/{PAGE}_10158407654328553/comments"
        return 200, second

    return handler


def test_comments_without_ids_get_the_ids_their_permalinks_imply(fb_dir: Path) -> None:
    seen: list[httpx.Request] = []
    collector = replay(
        _comments_listing(fb_dir, "2021-08-10T17:00:00+0000"),
        seen,
        clock=lambda: datetime(2021, 8, 13, tzinfo=UTC),
    )
    pages = list(collector.fetch(feed(f"@{PAGE}"), None))
    mentions = [m for p in pages for m in p.mentions]
    assert len(mentions) == 15 and not any(p.rejects for p in pages)  # 15 of total_count 18, as recorded
    assert len(seen) == 2 and seen[0].url.params["since"] == str(
        int(datetime(2021, 8, 6, tzinfo=UTC).timestamp())
    )
    top, reply = mentions[0], mentions[5]
    assert top.native_id == "10158407654328553_10158407835073553"
    assert top.in_reply_to_id == top.conversation_id == f"{PAGE}_10158407654328553"
    assert top.created_at == datetime(2021, 8, 10, 18, 45, 3, tzinfo=UTC)
    assert top.url == f"https://www.facebook.com/{PAGE}/posts/10158407654328553/?comment_id=10158407835073553"
    assert top.reply_count == 1 and top.author_name is None  # ``from`` was not asked for
    assert reply.native_id == "10158407654328553_10158409983033553"
    assert reply.in_reply_to_id == "10158407654328553_10158407903973553"
    assert (
        reply.text
        == "Hi, please access the Instagram Help Center for further assistance: http://bit.ly/2NsSg8i"
    )
    assert pages[0].cursor is None
    state = json.loads(pages[-1].cursor or "")["posts"][f"{PAGE}_10158407654328553"]
    assert len(state["ids"]) == 15 and "next" not in state


def test_a_rerun_yields_nothing_known_and_marks_comments_gone_or_hidden(fb_dir: Path) -> None:
    clock = lambda: datetime(2021, 8, 13, tzinfo=UTC)  # noqa: E731
    seen: list[httpx.Request] = []
    collector = replay(_comments_listing(fb_dir, "2021-08-10T17:00:00+0000"), seen, clock=clock)
    cursor = list(collector.fetch(feed(f"@{PAGE}"), None))[-1].cursor
    base = _comments_listing(fb_dir, "2021-08-10T17:00:00+0000")

    def changed(request: httpx.Request) -> tuple[int, Any]:
        status, body = base(request)
        if "data" in body and body["data"] and "comments" in body["data"][0]:
            comments = body["data"][0]["comments"]
            del comments["data"][2]  # deleted upstream
            comments["data"][3]["is_hidden"] = True
        return status, body

    again = replay(changed, seen, clock=clock)
    pages = list(again.fetch(feed(f"@{PAGE}"), cursor))
    assert [m for p in pages for m in p.mentions] == []
    assert sorted(d for p in pages for d in p.deleted) == [
        "10158407654328553_10158408043788553",  # gone
        "10158407654328553_10158408729313553",  # hidden
    ]
    later = replay(
        base, seen, clock=lambda: datetime(2021, 9, 30, tzinfo=UTC)
    )  # the post is now older than comment_days
    assert [p.deleted for p in later.fetch(feed(f"@{PAGE}"), cursor)] == []


def test_comments_with_ids_and_authors_keep_them(fb_dir: Path) -> None:
    items = [c for n in (1, 2) for c in load(fb_dir / "comments" / f"comment_by_parent_p{n}.json")["data"]]
    post = {"id": "2121008874780932_2498613793687103"}
    mentions = [normalize_comment(item, post) for item in items]
    assert len(mentions) == 7
    first = mentions[0]
    assert (first.native_id, first.author_id, first.author_name, first.text) == (
        "2498598377021978_2498617433686739", "2711636948859886", "Kun Liu", "Good job!😏")  # fmt: skip
    assert first.like_count == 2 and first.in_reply_to_id == post["id"]
    assert mentions[1].author_name == "杨佳名"


def test_a_comment_with_neither_id_nor_permalink_is_rejected(fb_dir: Path) -> None:
    body = load(fb_dir / "comments" / "comments_p2.json")
    del body["data"][0]["permalink_url"]
    post = {"id": f"{PAGE}_1", "created_time": "2021-08-10T17:00:00+0000", "comments": body}
    collector = replay(lambda r: (200, {"data": [post]}), [], clock=lambda: datetime(2021, 8, 13, tzinfo=UTC))
    [page] = list(collector.fetch(feed(f"@{PAGE}"), None))
    assert len(page.mentions) == 4
    assert [r.reason for r in page.rejects] == [
        "comment has no 'id' and its permalink_url names no comment_id"
    ]


@pytest.mark.parametrize(
    ("name", "status", "kind", "message"),
    [
        ("error.json", 400, AuthError,
         "facebook (@19292868552): permission missing (code 100): Pages Public Content Access requires "
         "either app secret proof or an app token; add it to the app (App Review) and put a token that has it "
         "in FACEBOOK_PAGE_TOKEN"),
        ("error_data.json", 403, AuthError,
         "facebook (@19292868552): permission missing (code 100): needs one of 'pages_read_engagement', "
         "'Page Public Content Access', 'Page Public Metadata Access'; add it to the app (App Review) and put a "
         "token that has it in FACEBOOK_PAGE_TOKEN"),
        ("access_token_wrong.json", 400, AuthError,
         "facebook (@19292868552): access token rejected (code 190: The access token could not be decrypted); "
         "get a new Page access token (Graph API Explorer: Get Page Access Token, then exchange it for a "
         "long-lived one at /oauth/access_token) and set FACEBOOK_PAGE_TOKEN"),
    ],
)  # fmt: skip
def test_recorded_error_bodies_give_one_line_messages(
    fb_dir: Path, name: str, status: int, kind: type[Exception], message: str
) -> None:
    body = load(fb_dir / name)
    collector = replay(lambda r: (status, body), [])
    with pytest.raises(kind) as caught:
        list(collector.fetch(feed(f"@{PAGE}"), None))
    assert str(caught.value) == message


# -- the local server --------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + timedelta(hours=2))


@pytest.fixture
def server(clock: Clock) -> Iterator[GraphServer]:
    with GraphServer(token=TOKEN, clock=clock) as running:
        yield running


def local(server: GraphServer, clock: Clock, **settings: Any) -> FacebookCollector:
    options = {"api_base_url": server.url, "page_id": server.page_id, "retry_backoff_seconds": 0, **settings}
    collector = FacebookCollector(Settings(**options), ENV, Context(clock=clock))
    return collector


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80001])
def test_rate_limit_codes_give_the_time_the_usage_header_names(
    server: GraphServer, clock: Clock, code: int
) -> None:
    server.add_mention("giulia", "ciao", T0)
    server.inject_error(code, regain_minutes=12)
    with pytest.raises(RateLimited) as caught:
        list(local(server, clock).fetch(feed(f"@{server.page_id}"), None))
    assert caught.value.retry_at == clock.now + timedelta(minutes=12)
    assert str(caught.value).startswith(f"facebook (@{server.page_id}): rate limited (code {code}: ")
    assert str(caught.value).endswith("waiting until 2026-03-02 12:12:00 UTC")
    server.inject_error(code)
    with pytest.raises(RateLimited) as unknown:
        list(local(server, clock).fetch(feed(f"@{server.page_id}"), None))
    assert unknown.value.retry_at is None and "the reset (time not given)" in str(unknown.value)


def test_an_expired_token_says_how_to_get_a_new_one(server: GraphServer, clock: Clock) -> None:
    server.inject_error(190, subcode=463)
    with pytest.raises(AuthError) as caught:
        list(local(server, clock).fetch(feed(f"posts:@{server.page_id}"), None))
    assert str(caught.value) == (
        f"facebook (posts:@{server.page_id}): access token rejected (code 190, subcode 463: Error validating "
        "access token: Session has expired on Sunday, 01-Mar-26 10:00:00 PST.); get a new Page access token "
        "(Graph API Explorer: Get Page Access Token, then exchange it for a long-lived one at "
        "/oauth/access_token) and set FACEBOOK_PAGE_TOKEN"
    )


def test_usage_near_the_quota_finishes_the_page_then_stops(server: GraphServer, clock: Clock) -> None:
    for i in range(5):
        server.add_post(f"post {i}", T0 + timedelta(minutes=i))
    server.usage_percent, server.regain_minutes = 96, 7
    collector = local(server, clock, page_size=2)
    pages: list[Any] = []
    with pytest.raises(RateLimited) as caught:
        for page in collector.fetch(feed(f"posts:@{server.page_id}"), None):
            pages.append(page)
    assert [len(p.mentions) for p in pages] == [2] and caught.value.retry_at == clock.now + timedelta(
        minutes=7
    )
    assert "Graph API usage at 96% of the quota" in str(caught.value)
    resume = json.loads(pages[0].cursor)["resume"]
    assert TOKEN not in pages[0].cursor and resume["next"].startswith(f"/v23.0/{server.page_id}/posts?")
    server.usage_percent, server.regain_minutes = 3, None
    rest = list(local(server, clock, page_size=2).fetch(feed(f"posts:@{server.page_id}"), pages[0].cursor))
    assert [m.text for p in rest for m in p.mentions] == ["post 2", "post 1", "post 0"]
    newest = pages[0].mentions[0]
    assert json.loads(rest[-1].cursor or "") == {
        "since": "2026-03-02T10:04:00+00:00",
        "ids": [newest.native_id],
    }


def test_a_5xx_is_transient_and_retried(server: GraphServer, clock: Clock) -> None:
    server.add_post("hello", T0)
    server.inject("500", times=2)
    [page] = list(local(server, clock).fetch(feed(f"posts:@{server.page_id}"), None))
    assert [m.text for m in page.mentions] == ["hello"]
    server.inject("503", times=3)
    with pytest.raises(SourceUnavailable, match=r"server error \(503\); the Graph API is having trouble"):
        list(local(server, clock).fetch(feed(f"posts:@{server.page_id}"), None))


def test_every_feed_through_the_runner_with_hidden_and_deleted_comments_marked(
    server: GraphServer, clock: Clock, backend: Backend
) -> None:
    store = backend.store
    post = server.add_post("Nuovo menu di primavera", T0)
    kept = server.add_comment(post, "giulia", "Che bello!", T0 + timedelta(minutes=1))
    hidden = server.add_comment(post, "marco", "spam spam", T0 + timedelta(minutes=2))
    gone = server.add_comment(post, "anna", "Ci vediamo", T0 + timedelta(minutes=3), reply_to=kept)
    server.add_post("Il vostro caffè è ottimo", T0, edge="visitor_posts", author="luca")
    server.add_post("Colazione da @Caffè Aurora", T0, edge="tagged", author="sara")
    networks = {
        "facebook": Settings(api_base_url=server.url, page_id=server.page_id, retry_backoff_seconds=0)
    }
    watches = [Watch("brand", "aurora", parse("aurora"))]
    outcomes = collect(store, networks, watches, env=ENV, now=clock)
    assert {o.source: (o.error, o.new) for o in outcomes} == {
        f"@{server.page_id}": (None, 3), f"visitors:@{server.page_id}": (None, 1),
        f"tagged:@{server.page_id}": (None, 1), f"posts:@{server.page_id}": (None, 1),
    }  # fmt: skip
    reply = backend.rows(f"SELECT in_reply_to_id, author_name FROM mentions WHERE native_id = '{gone}'")
    assert reply == [(kept, "anna")]
    server.hide(hidden)
    server.delete(gone)
    collect(store, networks, watches, env=ENV, now=clock)
    marked = backend.rows("SELECT native_id FROM mentions WHERE deleted_at IS NOT NULL")
    assert sorted(r[0] for r in marked) == sorted([hidden, gone])
    assert TOKEN not in json.dumps(backend.rows("SELECT * FROM cursors"))


def test_feeds_and_settings() -> None:
    assert FacebookCollector(Settings(), {}).feeds() == []  # no page configured: nothing runs
    names = [f.name for f in FacebookCollector(Settings(page_id="123"), {}).feeds()]
    assert names == ["@123", "visitors:@123", "tagged:@123", "posts:@123"]
    assert Settings().api_version == "v23.0" and FacebookCollector.searches is False
    with pytest.raises(AuthError, match="set FACEBOOK_PAGE_TOKEN in the environment"):
        list(FacebookCollector(Settings(page_id="123"), {}).fetch(feed("@123"), None))


def test_usage_headers_and_paging_urls_are_read_as_documented() -> None:
    usage = parse_usage({
        "x-app-usage": '{"call_count":28,"total_time":25,"total_cputime":25}',
        "x-business-use-case-usage": '{"1": [{"type": "pages", "call_count": 97, "total_cputime": 3, '
                                     '"total_time": 4, "estimated_time_to_regain_access": 9}]}',
    })  # fmt: skip
    assert (usage.percent, usage.regain_minutes) == (97, 9)
    assert relative_next("https://graph.facebook.com/v10.0/4/posts?access_token=abc&limit=5&after=x") == (
        "/v10.0/4/posts?limit=5&after=x"
    )
