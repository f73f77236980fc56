"""The Mastodon collector against recorded Mastodon 4.6.4 responses (vcrpy) and the local server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import vcr  # type: ignore[import-untyped]
import yaml

from collectors.base import Context
from collectors.mastodon import (
    MastodonCollector,
    Settings,
    hashtags_of,
    normalize_page,
    search_queries,
    snowflake_at,
)
from listener.demo.mastodonserver import MastodonServer
from listener.errors import AuthError, CollectorError, RateLimited
from listener.model import Feed, Page, Watch
from listener.query import parse

TOKEN = "test-mastodon-token-5d1c"
RECORDED = "http://localhost:3000"
AUG1 = datetime(2026, 8, 1, 14, 0, tzinfo=UTC)  # the recordings were made 2026-08-01, 13:50-13:56 UTC
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def watch(name: str, query: str) -> Watch:
    return Watch(name, query, parse(query))


def feed(name: str) -> Feed:
    return Feed(name, keep_all=True)


def _max_id(r1: Any, r2: Any) -> None:
    """Requests match when they ask for the same page: the same ``max_id`` (or none)."""
    assert dict(r1.query).get("max_id") == dict(r2.query).get("max_id")


def _replay() -> vcr.VCR:
    # Our requests add since_id and limit: match by path and by the page asked for.
    recorder = vcr.VCR(record_mode="none", match_on=["method", "scheme", "host", "port", "path", "max_id"])
    recorder.register_matcher("max_id", _max_id)
    return recorder


def collector(env: dict[str, str] | None = None, **options: Any) -> MastodonCollector:
    made = MastodonCollector(
        Settings(instances=(RECORDED,), retry_backoff_seconds=0, **options),
        env or {},
        Context(clock=lambda: AUG1),
    )
    return made


@pytest.fixture
def cassettes(shared_dir: Path) -> Path:
    return shared_dir / "fixtures" / "mastodon_py"


def recorded_body(path: Path, index: int) -> Any:
    return json.loads(yaml.safe_load(path.read_text())["interactions"][index]["response"]["body"]["string"])


# -- recorded responses ------------------------------------------------------


def test_hashtag_timeline_recording_normalises_every_field(cassettes: Path) -> None:
    with _replay().use_cassette(str(cassettes / "test_hashtag_tl.yaml")) as cassette:
        [page] = list(collector().fetch(watch("tags", "#hoot"), None))
    assert cassette.play_count == 1  # no /api/v2/instance probe: only the timeline
    [status] = page.mentions
    assert status.native_id == "localhost:3000/117020593741189701"
    assert status.text == "#hoot (hashtag toot)"
    assert status.created_at == datetime(2026, 8, 1, 13, 55, 55, 867000, tzinfo=UTC)
    assert status.url == "http://localhost:3000/@mastodonpy_test_2/117020593741189701"
    assert (status.author_id, status.author_handle, status.author_name) == (
        "localhost:3000/117020566092212359", "mastodonpy_test_2@localhost:3000", None,
    )  # fmt: skip
    assert (status.language, status.in_reply_to_id, status.like_count, status.reply_count) == (
        "ja",
        None,
        0,
        0,
    )
    assert "<a" in status.raw["content"] and status.raw["tags"] == [
        {"name": "hoot", "url": "http://localhost:3000/tags/hoot"}
    ]
    # One status, fewer than a page: the walk is over and the position moves to it.
    assert json.loads(page.cursor or "") == {"localhost:3000": {"tag:hoot": {"since": "117020593741189701"}}}


def test_mention_notifications_recording_gives_the_status_and_keeps_the_notification(cassettes: Path) -> None:
    made = collector({"MASTODON_ACCESS_TOKEN": TOKEN}, accounts=("mastodonpy_test",))
    assert [f.name for f in made.feeds()] == ["@mastodonpy_test", "posts:@mastodonpy_test"]
    with _replay().use_cassette(str(cassettes / "test_notifications_mentions_only.yaml")) as cassette:
        [page] = list(made.fetch(feed("@mastodonpy_test"), None))
    assert cassette.play_count == 1
    [mention] = page.mentions
    assert mention.native_id == "localhost:3000/117020577157693549"
    assert mention.text == "@mastodonpy_test hello!"
    assert mention.author_handle == "admin@localhost:3000"
    assert mention.created_at == datetime(2026, 8, 1, 13, 51, 42, 823000, tzinfo=UTC)
    assert (mention.url, mention.language) == ("http://localhost:3000/@admin/117020577157693549", "en")
    assert mention.raw["type"] == "mention" and mention.raw["id"] == "21"
    # Notification ids are a plain sequence, not times: the position is the notification's id.
    assert json.loads(page.cursor or "") == {"localhost:3000": {"mentions": {"since": "21"}}}


def test_public_timeline_recording_unescapes_entities_and_keeps_authors(cassettes: Path) -> None:
    body = recorded_body(cassettes / "test_public_tl_anonymous.yaml", 2)
    mentions, rejects = normalize_page(body, "localhost:3000")
    assert len(mentions) == 8 and not rejects
    assert [m.text for m in mentions[:3]] == [
        "Toot, finally!", "you can't say that on television", "it's cool guy too",
    ]  # fmt: skip
    jeep = mentions[4]
    assert jeep.text == "@mastodonpy_test beep beep I'm a jeep" and "&#39;" in jeep.raw["content"]
    assert [m.language for m in mentions[:2]] == ["ja", "en"]
    assert all(m.created_at.tzinfo == UTC and m.in_reply_to_id is None for m in mentions)


def test_the_local_server_writes_link_headers_like_the_recording(cassettes: Path) -> None:
    recorded = yaml.safe_load((cassettes / "test_public_tl_anonymous.yaml").read_text())["interactions"][2]
    [link] = recorded["response"]["headers"]["link"]
    assert link.startswith(
        '<http://localhost:3000/api/v1/timelines/public?max_id=117020574694606796>; rel="next"'
    )
    with MastodonServer(clock=lambda: T0 + timedelta(hours=1)) as server:
        first = server.add_status("anna", "#aurora uno", T0)
        last = server.add_status("anna", "#aurora due", T0 + timedelta(minutes=1))
        made = MastodonCollector(
            Settings(instances=(server.url,), retry_backoff_seconds=0),
            {},
            Context(clock=lambda: T0 + timedelta(hours=1)),
        )
        list(made.fetch(watch("w", "#aurora"), None))
        made._call("test", server.host, "timeline_hashtag", {"hashtag": "aurora"})
        url = f"{server.url}/api/v1/timelines/tag/aurora"
    header = made._last.headers["Link"] if made._last is not None else ""
    oldest, newest = first.rsplit("/", 1)[1], last.rsplit("/", 1)[1]
    assert header == f'<{url}?max_id={oldest}>; rel="next", <{url}?min_id={newest}>; rel="prev"'


def test_account_statuses_recording_walks_back_with_max_id_and_pauses_at_the_page_budget(
    cassettes: Path,
) -> None:
    made = collector(
        {"MASTODON_ACCESS_TOKEN": TOKEN}, accounts=("mastodonpy_test",), limit=5, pages_per_run=2
    )
    with _replay().use_cassette(str(cassettes / "test_fetch_next_previous.yaml")) as cassette:
        pages = list(made.fetch(feed("posts:@mastodonpy_test"), None))
    # The account id comes from the token's own account (verify_credentials), then two pages.
    assert [r.path for r in cassette.requests if r.method == "GET"][:1] == [
        "/api/v1/accounts/verify_credentials"
    ]
    assert [len(p.mentions) for p in pages] == [5, 5]
    texts = [m.text for p in pages for m in p.mentions]
    assert texts == [f"Toot number {n}!" for n in range(9, -1, -1)]
    first = pages[0].mentions[0]
    assert (first.author_handle, first.author_name) == ("mastodonpy_test@localhost:3000", "John Lennon")
    assert pages[0].cursor is None  # mid-walk: the stored position stays put
    state = json.loads(pages[1].cursor or "")["localhost:3000"]["posts"]
    assert state["resume"] == {"max_id": "117020580452511285", "newest": "117020580518794573"}
    assert state["since"] == snowflake_at(AUG1 - timedelta(days=7))


# -- queries -----------------------------------------------------------------


def test_query_tags_and_search_text() -> None:
    assert hashtags_of(parse('#Acme "caffè aurora" OR (#acme -#spam)')) == ["acme"]
    assert search_queries(parse('"caffè aurora" OR (acme -lavoro lang:it)')) == ['"caffè aurora"', "acme"]
    assert search_queries(parse("lang:it OR acme")) == []  # one alternative has no word: no search


def test_a_watch_with_nothing_to_read_says_what_to_add() -> None:
    made = MastodonCollector(Settings(instances=("http://127.0.0.1:9",)), {})
    with pytest.raises(
        CollectorError, match=r"add a #hashtag to the query, set hashtags, or turn on full_text_search"
    ):
        list(made.fetch(watch("brand", "aurora"), None))


# -- the local server --------------------------------------------------------


@pytest.fixture
def server() -> Iterator[MastodonServer]:
    with MastodonServer(token=TOKEN, owner="acme", clock=lambda: T0 + timedelta(hours=2)) as started:
        yield started


def live(server: MastodonServer, env: dict[str, str] | None = None, **options: Any) -> MastodonCollector:
    settings = Settings(instances=(server.url,), retry_backoff_seconds=0, **options)
    made = MastodonCollector(
        settings,
        {"MASTODON_ACCESS_TOKEN": TOKEN} if env is None else env,
        Context(clock=lambda: T0 + timedelta(hours=2)),
    )
    return made


def test_tags_are_matched_locally_and_replies_link_within_the_instance(server: MastodonServer) -> None:
    root = server.add_status("anna", "Il #caffè Aurora è buono", T0, lang="it")
    reply = server.add_status("bruno", "@anna sì, #caffè Aurora!", T0 + timedelta(minutes=1), reply_to=root)
    server.add_status("carla", "#caffè al bar, altro", T0 + timedelta(minutes=2))
    server.add_status("dario", "CW text", T0 + timedelta(minutes=3), spoiler="Aurora spoiler")
    pages = list(live(server, hashtags=("caffè",)).fetch(watch("brand", "aurora"), None))
    found = {m.native_id: m for p in pages for m in p.mentions}
    assert set(found) == {root, reply}  # carla's post has the tag but not the word
    assert found[reply].in_reply_to_id == root
    assert found[reply].text == "@anna sì, #caffè Aurora!"
    assert found[root].language == "it" and found[root].url == f"{server.url}/@anna/{root.split('/')[1]}"


def test_content_warnings_are_part_of_the_text_and_search_walks_back(server: MastodonServer) -> None:
    ids = [server.add_status("anna", f"Aurora {i}", T0 + timedelta(minutes=i)) for i in range(5)]
    cw = server.add_status("dario", "ottimo", T0 + timedelta(minutes=9), spoiler="Aurora, recensione")
    made = live(server, full_text_search=True, limit=2)
    pages = list(made.fetch(watch("brand", "aurora"), None))
    assert [len(p.mentions) for p in pages] == [2, 2, 2, 0]  # a full last page needs one more request
    assert [p.cursor is None for p in pages] == [True, True, True, False]
    texts = {m.native_id: m.text for p in pages for m in p.mentions}
    assert texts[cw] == "Aurora, recensione\n\nottimo" and set(texts) == {*ids, cw}
    searches = [r for r in server.requests if r.path == "/api/v2/search"]
    assert searches[0].params["q"] == "aurora" and searches[0].params["type"] == "statuses"
    assert searches[0].headers["Authorization"] == f"Bearer {TOKEN}"  # the home instance gets the token
    later = server.add_status("anna", "Aurora again", T0 + timedelta(minutes=30))
    [page] = list(made.fetch(watch("brand", "aurora"), pages[-1].cursor))
    assert [m.native_id for m in page.mentions] == [later]
    assert server.requests[-1].params["min_id"] == cw.split("/")[1]


def test_mentions_need_the_token_and_name_the_variable(server: MastodonServer) -> None:
    server.add_status("bruno", "@acme help!", T0)
    with pytest.raises(AuthError) as missing:
        list(live(server, env={}, accounts=("acme",)).fetch(feed("@acme"), None))
    assert str(missing.value) == (
        "mastodon (@acme): access token missing; set MASTODON_ACCESS_TOKEN in the environment"
    )
    [page] = list(live(server, accounts=("acme",)).fetch(feed("@acme"), None))
    assert [(m.author_handle, m.text) for m in page.mentions] == [(f"bruno@{server.host}", "@acme help!")]
    server.token = "revoked"
    with pytest.raises(AuthError) as refused:
        list(live(server, accounts=("acme",)).fetch(feed("@acme"), None))
    assert str(refused.value) == (
        f"mastodon (@acme): token rejected (401); set MASTODON_ACCESS_TOKEN to a valid access token for {server.host}"
    )


def test_own_posts_are_found_by_lookup_without_a_token(server: MastodonServer) -> None:
    own = server.add_status("acme", "Nuovo menu", T0)
    server.add_status("bruno", "altro", T0)
    [page] = list(live(server, env={}, accounts=("acme",)).fetch(feed("posts:@acme"), None))
    assert [m.native_id for m in page.mentions] == [own]
    assert [r.path for r in server.requests][:1] == ["/api/v1/accounts/lookup"]


def test_a_429_raises_rate_limited_with_the_header_reset_and_a_spent_window_stops_early(
    server: MastodonServer,
) -> None:
    for i in range(5):
        server.add_status("anna", f"#aurora {i}", T0 + timedelta(minutes=i))
    server.inject("429", seconds=120)
    with pytest.raises(RateLimited) as limited:
        list(live(server).fetch(watch("brand", "#aurora"), None))
    assert limited.value.retry_at == T0 + timedelta(hours=2, seconds=120)
    assert str(limited.value).startswith(
        "mastodon (watch 'brand'): rate limited (429); waiting until 2026-03-02 12:02"
    )
    server.rate_limit = 2
    server._window = None
    pages: list[Page] = []
    with pytest.raises(RateLimited, match="rate limit used up"):
        for page in live(server, limit=2).fetch(watch("brand", "#aurora"), None):
            pages.append(page)
    assert len(pages) == 2 and '"resume"' in (pages[-1].cursor or "")


def test_a_closed_instance_fails_in_one_line() -> None:
    made = MastodonCollector(Settings(instances=("http://127.0.0.1:9",), retry_attempts=1), {})
    with pytest.raises(CollectorError) as failed:
        list(made.fetch(watch("brand", "#aurora"), None))
    assert (
        str(failed.value)
        == "mastodon (watch 'brand'): cannot connect to 127.0.0.1:9; check the network or instances"
    )
