"""The Bluesky collector against the recorded postView (served in the searchPosts envelope) and the local server."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from collectors.base import Context
from collectors.bluesky import BlueskyCollector, Settings, normalize, to_bluesky_query
from listener.demo.blueskyserver import BlueskyServer
from listener.errors import AuthError, RateLimited
from listener.model import Feed, Page, Watch
from listener.query import parse

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=2)
RECORDED_AT = datetime(2023, 9, 29, tzinfo=UTC)  # the recorded post is from 2023-09-28
PASSWORD = "abcd-efgh-ijkl-mnop"


def watch(name: str, query: str) -> Watch:
    return Watch(name, query, parse(query))


def feed(name: str) -> Feed:
    return Feed(name, keep_all=True)


@pytest.fixture
def atproto_dir(shared_dir: Path) -> Path:
    return shared_dir / "fixtures" / "atproto"


@pytest.fixture
def recorded_view(atproto_dir: Path) -> dict[str, Any]:
    return json.loads((atproto_dir / "thread_view_post_with_embed_media.json").read_text())["thread"]["post"]


def collector(
    url: str, env: dict[str, str] | None = None, at: datetime = NOW, **options: Any
) -> BlueskyCollector:
    return BlueskyCollector(
        Settings(api_base_url=url, pds_url=url, retry_backoff_seconds=0, **options),
        env or {},
        Context(clock=lambda: at),
    )


# -- recorded data -----------------------------------------------------------


def test_the_recorded_post_view_in_the_search_envelope_normalises_every_field(
    recorded_view: dict[str, Any],
) -> None:
    with BlueskyServer(clock=lambda: RECORDED_AT) as server:
        server.add_post_view(recorded_view)
        [page] = list(
            collector(server.url, at=RECORDED_AT).fetch(watch("sdk", "author:test.marshal.dev"), None)
        )
        [search] = [r for r in server.requests if r.path == "/xrpc/app.bsky.feed.searchPosts"]
    assert search.params["q"] == "from:test.marshal.dev" and search.params["sort"] == "latest"
    assert search.params["since"] == "2023-09-22T00:00:00+00:00"  # backfill_days before the clock
    [post] = page.mentions
    assert post.native_id == "at://did:plc:kvwvcn5iqfooopmyzvb4qzba/app.bsky.feed.post/3kaheyt6vpc22"
    assert post.url == "https://bsky.app/profile/test.marshal.dev/post/3kaheyt6vpc22"
    assert (post.author_id, post.author_handle, post.author_name) == (
        "did:plc:kvwvcn5iqfooopmyzvb4qzba", "test.marshal.dev", "Python SDK",
    )  # fmt: skip
    # An image post without text or alt text: kept, with empty text.
    assert post.text == ""
    assert post.created_at == datetime(2023, 9, 28, 12, 49, 36, 735000, tzinfo=UTC)
    assert (post.language, post.in_reply_to_id, post.conversation_id) == ("en", None, post.native_id)
    assert (post.like_count, post.repost_count, post.reply_count, post.quote_count) == (0, 0, 0, None)
    assert post.raw == recorded_view
    state = json.loads(page.cursor or "")["from:test.marshal.dev"]
    assert state == {"since": "2023-09-28T12:49:36.735000+00:00", "seen": [post.native_id]}


def test_alt_texts_stand_in_for_empty_text_and_replies_name_their_parent(
    recorded_view: dict[str, Any], atproto_dir: Path
) -> None:
    view = copy.deepcopy(recorded_view)
    view["record"]["embed"]["media"]["images"][0]["alt"] = "A kakapo on a branch"
    assert normalize(view).text == "A kakapo on a branch"
    recorded = json.loads((atproto_dir / "post_record.json").read_text())
    reply = {**copy.deepcopy(recorded_view), "uri": recorded["uri"], "record": {
        **recorded["value"], "reply": {"parent": {"uri": recorded_view["uri"], "cid": recorded_view["cid"]},
                                       "root": {"uri": "at://did:plc:root/app.bsky.feed.post/3root", "cid": "x"}}}}  # fmt: skip
    mention = normalize(reply)
    assert (mention.text, mention.language) == ("new text114", None)
    assert mention.created_at == datetime(2024, 2, 22, 19, 58, 13, 903293, tzinfo=UTC)
    assert mention.in_reply_to_id == recorded_view["uri"]
    assert mention.conversation_id == "at://did:plc:root/app.bsky.feed.post/3root"
    assert mention.url == "https://bsky.app/profile/test.marshal.dev/post/3k2yihcrp6f2c"


def test_the_server_resolves_handles_like_the_recording(atproto_dir: Path) -> None:
    recorded = json.loads((atproto_dir / "resolve_handle.json").read_text())
    with BlueskyServer(clock=lambda: NOW) as server:
        actor = server.add_actor("bsky.app")
        made = collector(server.url)
        body = made._call("test", "com.atproto.identity.resolveHandle", {"handle": "bsky.app"}, run=lambda: dict(
            made.client.com.atproto.identity.resolve_handle({"handle": "bsky.app"}).model_dump()))  # fmt: skip
    assert set(body) == set(recorded) and body["did"] == actor["did"]


def test_query_lowering() -> None:
    assert to_bluesky_query(parse('"caffè aurora" OR (#acme -lavoro lang:it)')) == [
        '"caffè aurora"', "acme -lavoro lang:it",
    ]  # fmt: skip
    assert to_bluesky_query(parse("aurora author:giulia.bsky.social site:acme.it")) == [
        "aurora from:giulia.bsky.social domain:acme.it"
    ]
    assert to_bluesky_query(parse("network:x OR aurora")) == []


# -- the local server --------------------------------------------------------


@pytest.fixture
def server() -> Iterator[BlueskyServer]:
    with BlueskyServer(handle="acme.bsky.social", app_password=PASSWORD, clock=lambda: NOW) as started:
        yield started


def test_walks_page_by_page_and_the_next_run_starts_at_the_boundary(server: BlueskyServer) -> None:
    uris = [server.add_post("anna", f"Aurora {i}", T0 + timedelta(minutes=i), lang="it") for i in range(4)]
    server.add_post("bruno", "Aurora e basta", T0 + timedelta(minutes=3))  # same second as the newest
    server.add_post("carla", "niente", T0)
    made = collector(server.url, limit=2)
    pages = list(made.fetch(watch("brand", "aurora"), None))
    assert [len(p.mentions) for p in pages] == [2, 2, 1]
    assert [p.cursor is None for p in pages] == [True, True, False]
    assert [r.params.get("cursor") for r in server.requests] == [None, "2", "4"]
    state = json.loads(pages[-1].cursor or "")["aurora"]
    assert state["since"] == "2026-03-02T10:03:00+00:00" and len(state["seen"]) == 2
    assert {m.native_id for p in pages for m in p.mentions} >= set(uris)
    assert pages[0].mentions[0].url.startswith("https://bsky.app/profile/")
    # The boundary posts come back (since is inclusive) and are dropped; the new one is kept.
    late = server.add_post("anna", "Aurora più tardi", T0 + timedelta(minutes=40))
    [again] = list(made.fetch(watch("brand", "aurora"), pages[-1].cursor))
    assert [m.native_id for m in again.mentions] == [late]
    assert server.requests[-1].params["since"] == "2026-03-02T10:03:00+00:00"


def test_mentions_and_own_posts_feeds(server: BlueskyServer) -> None:
    mention = server.add_post("anna", "ciao @acme.bsky.social!", T0)
    own = server.add_post("acme.bsky.social", "Il nostro menu", T0)
    made = collector(server.url, accounts=("acme.bsky.social",))
    assert [f.name for f in made.feeds()] == ["@acme.bsky.social", "posts:@acme.bsky.social"]
    [mentions] = list(made.fetch(feed("@acme.bsky.social"), None))
    [posts] = list(made.fetch(feed("posts:@acme.bsky.social"), None))
    assert [m.native_id for m in mentions.mentions] == [mention]
    assert [m.native_id for m in posts.mentions] == [own]
    assert server.requests[-1].path == "/xrpc/app.bsky.feed.getAuthorFeed"


def test_login_with_an_app_password_and_the_errors_that_name_it(server: BlueskyServer) -> None:
    server.add_post("anna", "Aurora", T0)
    with pytest.raises(AuthError) as missing:
        collector(server.url, handle="acme.bsky.social")
    assert str(missing.value) == "bluesky: app password missing; set BLUESKY_APP_PASSWORD in the environment"
    server.search_needs_auth = True
    with pytest.raises(AuthError) as keyless:
        list(collector(server.url).fetch(watch("brand", "aurora"), None))
    assert str(keyless.value) == (
        f"bluesky (watch 'brand'): {server.url} requires login (Forbidden: Search requires authentication); "
        "set handle and BLUESKY_APP_PASSWORD"
    )
    env = {"BLUESKY_APP_PASSWORD": PASSWORD}
    [page] = list(collector(server.url, env, handle="acme.bsky.social").fetch(watch("brand", "aurora"), None))
    assert len(page.mentions) == 1 and server.requests[-1].headers["Authorization"].startswith("Bearer ")
    server.app_password = "rotated-password"
    with pytest.raises(AuthError) as refused:
        list(collector(server.url, env, handle="acme.bsky.social").fetch(watch("brand", "aurora"), None))
    assert str(refused.value) == (
        "bluesky (watch 'brand'): login refused (AuthenticationRequired: Invalid identifier or password); "
        "set BLUESKY_APP_PASSWORD to a valid app password for acme.bsky.social"
    )


def test_a_429_gives_the_reset_from_the_headers(server: BlueskyServer) -> None:
    server.add_post("anna", "Aurora", T0)
    server.inject("429", seconds=300)
    pages: list[Page] = []
    with pytest.raises(RateLimited) as limited:
        pages.extend(collector(server.url).fetch(watch("brand", "aurora"), None))
    assert limited.value.retry_at == NOW + timedelta(seconds=300) and not pages
    assert (
        str(limited.value)
        == "bluesky (watch 'brand'): rate limited (429); waiting until 2026-03-02 12:05:00 UTC"
    )
