"""The YouTube collector: recorded real responses through google-api-python-client, the quota planner,
and a simulated day against the local server through the real runner."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from googleapiclient.discovery import build_from_document  # type: ignore[import-untyped]
from googleapiclient.http import HttpMockSequence  # type: ignore[import-untyped]

from collectors import youtube_quota as quota
from collectors.base import Context
from collectors.youtube import (
    Settings,
    YouTubeCollector,
    normalize_comment_page,
    normalize_thread_page,
    normalize_video_page,
    to_youtube_query,
    uploads_playlist,
)
from listener.budgets import StoreLedger
from listener.collect import collect
from listener.demo.youtubeserver import YouTubeServer, error_body
from listener.errors import AuthError, RateLimited, SourceUnavailable
from listener.model import Feed, SaveResult, Watch
from listener.query import Query, parse
from storage import Store
from tests.backends import Backend
from tests.harness import Clock

KEY = "AIzaSy-test-key-5e7d"
ENV = {"YOUTUBE_API_KEY": KEY}
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # 04:00 in Los Angeles (PST)
OPEN = {
    "pacing": False,
    "daily_unit_share": 10_000,
    "retry_backoff_seconds": 0,
}  # the planner stays out of the way


def watch(name: str, query: str) -> Watch:
    return Watch(name, query, parse(query))


@pytest.fixture
def yt_dir(shared_dir: Path) -> Path:
    return shared_dir / "fixtures" / "youtube"


def ok(path: Path) -> tuple[dict[str, str], bytes]:
    return {"status": "200"}, path.read_bytes()


def replay(
    yt_dir: Path,
    *answers: tuple[dict[str, str], bytes],
    clock: Callable[[], datetime] = lambda: T0,
    **settings: Any,
) -> tuple[YouTubeCollector, Any]:
    """A collector whose client is built from the recorded discovery document and answers from ``answers``."""
    http = HttpMockSequence(list(answers))
    service = build_from_document((yt_dir / "youtube.v3.json").read_text(), developerKey=KEY, http=http)
    collector = YouTubeCollector(Settings(**{**OPEN, **settings}), ENV, Context(clock=clock), service=service)
    return collector, http


def asked(http: Any) -> list[dict[str, str]]:
    """The query parameters of each request the mock answered."""
    return [{k: v[-1] for k, v in parse_qs(urlsplit(uri).query).items()} for uri, *_ in http.request_sequence]


# -- recorded responses --------------------------------------------------------


def test_search_walks_two_recorded_pages_unescapes_and_stops_at_the_page_cap(yt_dir: Path) -> None:
    search = yt_dir / "search"
    collector, http = replay(
        yt_dir,
        ok(search / "search_by_keywords_p1.json"),
        ok(search / "search_by_keywords_p2.json"),
        pages_per_run=2,
    )
    pages = list(collector.fetch(watch("surf", "surfing"), None))
    first, second = asked(http)
    assert (first["q"], first["type"], first["order"], first["part"]) == (
        "surfing",
        "video",
        "date",
        "snippet",
    )
    assert "pageToken" not in first and second["pageToken"] == "CBkQAA" and "publishedAfter" not in first
    assert [len(p.mentions) for p in pages] == [25, 25] and [p.units for p in pages] == [100, 100]
    top = pages[0].mentions[0]
    assert (top.native_id, top.url) == ("gQ_1zX-F_No", "https://www.youtube.com/watch?v=gQ_1zX-F_No")
    assert top.created_at == datetime(2019, 12, 5, 19, 0, 10, tzinfo=UTC)
    assert (top.author_id, top.author_name, top.conversation_id) == (
        "UCo_q6aOlvPH7M-j_XGWVgXg",
        "Jamie O'Brien",
        top.native_id,
    )
    assert top.text.startswith("SURFING HAWAII’S BEST WAVE WITH MY GIRLFRIEND (PIPELINE)\n\nSOME FUN BARRELS")
    texts = [m.text.split("\n")[0] for p in pages for m in p.mentions]
    assert (
        "SURFING PERFECT PIPE & BACKDOOR || SUNRISE SHACK!" in texts and "World's best surfing 2017" in texts
    )
    assert '"Pacific Dreams" A California Surfing Film' in texts
    assert not any("&amp;" in t or "&#39;" in t or "&quot;" in t for t in texts)
    # Page 2 still has a token: the cap stops the walk, the cursor resumes it, the position has not moved.
    assert pages[0].cursor is None
    state = json.loads(pages[1].cursor or "")
    assert state["resume"]["page_token"] == "CDIQAA" and state["published_after"] is None
    assert (
        state["resume"]["newest"] == "2019-12-06T08:25:39Z"
    )  # recorded in relevance order: the max, not the first


def test_search_resumes_from_the_cursor_and_moves_published_after_on_the_last_page(yt_dir: Path) -> None:
    search = yt_dir / "search"
    body = json.loads((search / "search_by_location.json").read_text())
    del body["nextPageToken"]  # make it the last page of the walk
    collector, http = replay(yt_dir, ({"status": "200"}, json.dumps(body).encode()))
    cursor = json.dumps(
        {"published_after": "2020-01-01T00:00:00Z", "resume": {"page_token": "CAUQAA", "newest": None}}
    )
    [page] = list(collector.fetch(watch("surf", "surfing"), cursor))
    [params] = asked(http)
    assert (params["pageToken"], params["publishedAfter"]) == ("CAUQAA", "2020-01-01T00:00:00Z")
    newest = max(m.created_at for m in page.mentions).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert json.loads(page.cursor or "")["published_after"] == newest


def test_comment_threads_walk_both_pages_with_plain_text_and_fetch_missing_replies(yt_dir: Path) -> None:
    threads, comments = yt_dir / "comment_threads", yt_dir / "comments"
    collector, http = replay(
        yt_dir,
        ok(threads / "comment_threads_by_video_paged_1.json"),
        ok(comments / "comments_by_parent_paged_1.json"),  # the thread with 2 replies that came without them
        ok(threads / "comment_threads_by_video_paged_2.json"),
        ok(comments / "comments_by_parent_paged_2.json"),
        videos=("F1UP7wRCPH8",),
    )
    pages = list(collector.fetch(Feed("comments", keep_all=True), None))
    calls = asked(http)
    assert [c.get("videoId") for c in calls] == ["F1UP7wRCPH8", None, "F1UP7wRCPH8", None]
    assert calls[1]["parentId"] == "UgwI_ylXVnzPS8Q-oAV4AaABAg" and calls[2]["order"] == "time"
    assert [p.units for p in pages] == [2, 2] and pages[0].cursor is None
    first = pages[0].mentions[0]
    assert (first.native_id, first.text, first.author_name, first.author_id) == (
        "UgyZ1jqkHKYvi1-ruOZ4AaABAg", "Google.com", "himani agarwal", "UCzj-CjKYmGlZ7vTL-vOe57A"
    )  # fmt: skip
    assert first.url == "https://www.youtube.com/watch?v=F1UP7wRCPH8&lc=UgyZ1jqkHKYvi1-ruOZ4AaABAg"
    assert (first.created_at, first.conversation_id, first.in_reply_to_id) == (
        datetime(2019, 11, 26, 15, 51, 44, tzinfo=UTC), "F1UP7wRCPH8", None
    )  # fmt: skip
    assert (first.like_count, first.reply_count) == (0, 0)
    reply = pages[0].mentions[5]
    assert reply.native_id == "Ugw5zYU6n9pmIgAZWvN4AaABAg.91zT3cYb5B291za6voUoRh"
    assert (reply.in_reply_to_id, reply.conversation_id) == ("Ugw5zYU6n9pmIgAZWvN4AaABAg", "F1UP7wRCPH8")
    assert json.loads(pages[1].cursor or "") == {"videos": {"F1UP7wRCPH8": "2019-11-26T15:51:44Z"}}


def test_threads_related_to_a_channel_include_comments_on_the_channel_itself(yt_dir: Path) -> None:
    body = json.loads((yt_dir / "comment_threads" / "comment_threads_all_to_me.json").read_text())
    mentions, rejects = normalize_thread_page(body)
    assert not rejects and len(mentions) == 4
    on_video, on_channel = mentions[0], mentions[2]
    assert on_video.url == "https://www.youtube.com/watch?v=JE8xdDp5B8Q&lc=UgyWeTdgc4sc1xgmbld4AaABAg"
    assert (on_channel.native_id, on_channel.text, on_channel.conversation_id) == (
        "Ugy0FhSzKMNMT9qs6zt4AaABAg", "大满贯", "Ugy0FhSzKMNMT9qs6zt4AaABAg"
    )  # fmt: skip
    assert on_channel.url == (
        "https://www.youtube.com/channel/UCa-vrCLQHviTOVnEKDOdetQ/discussion?lc=Ugy0FhSzKMNMT9qs6zt4AaABAg"
    )
    assert mentions[1].like_count == 1 and mentions[3].reply_count == 1


def test_a_thread_with_its_replies_and_html_display_text(yt_dir: Path) -> None:
    thread = json.loads((yt_dir / "comment_thread_info.json").read_text())
    del thread["snippet"]["topLevelComment"]["snippet"]["textOriginal"]  # fall back on the HTML text
    top, reply = normalize_thread_page({"items": [thread]})[0]
    assert (top.text, top.reply_count) == ("Actions.ai", 1)
    assert reply.native_id.startswith("UgydxWWoeA7F1OdqypJ4AaABAg.") and reply.in_reply_to_id == top.native_id
    assert reply.conversation_id == "D-lhorsDlUQ" and "replies" not in top.raw


def test_replies_by_parent_page_through_the_library(yt_dir: Path) -> None:
    comments = yt_dir / "comments"
    http = HttpMockSequence(
        [ok(comments / "comments_by_parent_paged_1.json"), ok(comments / "comments_by_parent_paged_2.json")]
    )
    service = build_from_document((yt_dir / "youtube.v3.json").read_text(), developerKey=KEY, http=http)
    request, found = (
        service.comments().list(part="snippet", parentId="Ugw5zYU6n9pmIgAZWvN4AaABAg", maxResults=2),
        [],
    )
    while request is not None:
        body = request.execute(num_retries=0)
        found += normalize_comment_page(body, video_id="JE8xdDp5B8Q")[0]
        request = service.comments().list_next(request, body)
    assert [m.text for m in found] == [
        "this is the third reply!",
        "this is the second reply!",
        "hey, this is the replay",
    ]
    assert {m.in_reply_to_id for m in found} == {"Ugw5zYU6n9pmIgAZWvN4AaABAg"}
    assert found[2].created_at == datetime(2019, 12, 1, 4, 46, tzinfo=UTC)
    assert (
        found[0].url
        == "https://www.youtube.com/watch?v=JE8xdDp5B8Q&lc=Ugw5zYU6n9pmIgAZWvN4AaABAg.91zT3cYb5B291za6voUoRh"
    )


def test_own_uploads_resolve_a_handle_page_the_playlist_and_read_counts(yt_dir: Path) -> None:
    collector, http = replay(
        yt_dir,
        ok(yt_dir / "channels" / "info.json"),
        ok(yt_dir / "playlist_items" / "playlist_items_paged_1.json"),
        ok(yt_dir / "video_api_response.json"),
        ok(yt_dir / "playlist_items" / "playlist_items_paged_2.json"),
        ok(yt_dir / "videos" / "videos_info_multi.json"),
        channel_id="@googledevelopers",
    )
    assert [f.name for f in collector.feeds()] == ["posts:@googledevelopers", "comments"]
    pages = list(collector.fetch(Feed("posts:@googledevelopers", keep_all=True), None))
    calls = asked(http)
    assert calls[0]["forHandle"] == "googledevelopers"
    assert calls[1]["playlistId"] == "UU_x5XG1OV2P6uZZ5FSM9Ttw" and calls[3]["pageToken"] == "CAoQAA"
    assert calls[2]["id"].split(",")[0] == "CvTApw9X8aA" and len(calls[2]["id"].split(",")) == 10
    assert [p.units for p in pages] == [3, 2]
    video = pages[0].mentions[0]
    assert (video.native_id, video.language, video.view_count, video.like_count, video.reply_count) == (
        "D-lhorsDlUQ", "en", 7920, 190, 32
    )  # fmt: skip
    assert video.text.startswith("What are Actions on Google (Assistant on Air)\n\nIn the first episode")
    assert (video.author_id, video.author_name) == ("UC_x5XG1OV2P6uZZ5FSM9Ttw", "Google Developers")
    # The recorded videos answer is not about these playlist items: the ones it lacks count as gone.
    assert len(pages[0].deleted) == 10 and "CvTApw9X8aA" in pages[0].deleted
    assert json.loads(pages[1].cursor or "") == {"since": "2019-09-11T23:00:05Z"}


def test_video_and_channel_answers(yt_dir: Path) -> None:
    single = json.loads((yt_dir / "videos" / "videos_info_single.json").read_text())
    [video], _ = normalize_video_page(single)
    assert (video.native_id, video.created_at) == (
        "D-lhorsDlUQ",
        datetime(2019, 3, 21, 20, 37, 49, tzinfo=UTC),
    )
    assert video.view_count is None  # no statistics part asked
    channels = json.loads((yt_dir / "channels" / "info_multiple.json").read_text())
    assert uploads_playlist(channels) == "UUK8sQmJBp8GCxrOtXWBpyEA"
    assert uploads_playlist(json.loads((yt_dir / "channels" / "info.json").read_text())) is None


def test_recorded_errors_become_one_line_auth_errors(yt_dir: Path) -> None:
    collector, _ = replay(yt_dir, ({"status": "400"}, (yt_dir / "error_response.json").read_bytes()))
    with pytest.raises(AuthError) as invalid:
        list(collector.fetch(watch("surf", "surfing"), None))
    assert str(invalid.value) == (
        "youtube (watch 'surf'): API key rejected (400 keyInvalid); set YOUTUBE_API_KEY to a valid YouTube Data API key"
    )
    collector, _ = replay(yt_dir, ({"status": "403"}, (yt_dir / "error_permission_resp.json").read_bytes()))
    with pytest.raises(AuthError) as denied:
        list(collector.fetch(watch("surf", "surfing"), None))
    message = str(denied.value)
    assert message.startswith(
        "youtube (watch 'surf'): access denied (403 SERVICE_UNAVAILABLE): The caller does not have permission;"
    )
    assert "enable the YouTube Data API v3" in message and "\n" not in message and KEY not in message


def _answer(
    status: int, reason: str, domain: str, headers: dict[str, str] | None = None
) -> tuple[dict[str, str], bytes]:
    body = error_body(status, f"{reason} happened", reason, domain, "PERMISSION_DENIED")
    return {"status": str(status), **(headers or {})}, json.dumps(body).encode()


@pytest.mark.parametrize(
    ("now", "reset"),
    [
        (T0, datetime(2026, 3, 3, 8, 0, tzinfo=UTC)),  # PST: midnight is 08:00 UTC
        (datetime(2026, 7, 1, 6, 59, tzinfo=UTC), datetime(2026, 7, 1, 7, 0, tzinfo=UTC)),  # PDT: 07:00 UTC
    ],
)
def test_quota_exceeded_waits_until_midnight_pacific(yt_dir: Path, now: datetime, reset: datetime) -> None:
    collector, _ = replay(yt_dir, _answer(403, "quotaExceeded", "youtube.quota"), clock=lambda: now)
    with pytest.raises(RateLimited) as limited:
        list(collector.fetch(watch("surf", "surfing"), None))
    assert limited.value.retry_at == reset
    assert "daily quota is used up (quotaExceeded)" in str(limited.value) and "midnight Pacific" in str(
        limited.value
    )


def test_rate_limits_and_server_errors(yt_dir: Path) -> None:
    collector, _ = replay(yt_dir, _answer(403, "rateLimitExceeded", "usageLimits"))
    with pytest.raises(RateLimited) as short:
        list(collector.fetch(watch("surf", "surfing"), None))
    assert short.value.retry_at is None and "rate limited (403 rateLimitExceeded)" in str(short.value)
    collector, _ = replay(yt_dir, _answer(429, "userRateLimitExceeded", "usageLimits", {"retry-after": "30"}))
    with pytest.raises(RateLimited) as later:
        list(collector.fetch(watch("surf", "surfing"), None))
    assert later.value.retry_at == T0 + timedelta(seconds=30)
    failing = [_answer(503, "backendError", "global")] * 3
    collector, http = replay(yt_dir, *failing)
    with pytest.raises(SourceUnavailable) as down:
        list(collector.fetch(watch("surf", "surfing"), None))
    assert len(http.request_sequence) == 3  # retry_attempts, each without the library's own retries
    assert (
        str(down.value)
        == "youtube (watch 'surf'): server error (503); YouTube is having trouble, the next run retries"
    )


def test_a_video_with_comments_disabled_is_skipped_and_the_others_polled(
    yt_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    threads = yt_dir / "comment_threads"
    collector, http = replay(
        yt_dir,
        _answer(403, "commentsDisabled", "youtube.commentThread"),
        ok(threads / "comment_threads_by_channel.json"),
        videos=("closed00000", "F1UP7wRCPH8"),
    )
    with caplog.at_level(logging.WARNING):
        pages = list(collector.fetch(Feed("comments", keep_all=True), None))
    assert [c["videoId"] for c in asked(http)] == ["closed00000", "F1UP7wRCPH8"]
    assert sum(len(p.mentions) for p in pages) == 2
    assert "video closed00000: commentsDisabled happened (commentsDisabled); skipped" in caplog.text


def test_the_key_never_reaches_the_logs(yt_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    collector, _ = replay(yt_dir, ok(yt_dir / "search" / "search_by_location.json"), pages_per_run=1)
    with caplog.at_level(logging.DEBUG):
        list(collector.fetch(watch("surf", "surfing"), None))
    assert "URL being requested" in caplog.text and "key=***" in caplog.text and KEY not in caplog.text


def test_watch_queries_in_youtube_syntax() -> None:
    assert to_youtube_query(Query.parse('"caffè aurora" OR acme -lavoro')) == (
        '("caffè aurora" | acme -lavoro)',
        True,
    )
    assert to_youtube_query(Query.parse("acme lang:it")) == ("acme", False)
    assert to_youtube_query(Query.parse("network:reddit")) == (False, True)


def test_a_missing_key_names_the_variable() -> None:
    with pytest.raises(AuthError, match="set YOUTUBE_API_KEY in the environment"):
        YouTubeCollector(Settings(), {})


# -- the quota planner ---------------------------------------------------------


def test_the_quota_day_is_pacific_and_follows_daylight_saving() -> None:
    assert quota.day_start(T0) == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    spring = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # a 23-hour day
    assert quota.next_reset(spring) - quota.day_start(spring) == timedelta(hours=23)
    autumn = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)  # a 25-hour day
    assert quota.next_reset(autumn) - quota.day_start(autumn) == timedelta(hours=25)
    assert quota.runs_left(datetime(2026, 3, 3, 7, 45, tzinfo=UTC), 15) == 1
    assert quota.runs_left(quota.day_start(T0), 15) == 96


def test_searches_wait_for_the_pace_and_never_take_the_polls_share() -> None:
    midnight = quota.day_start(T0)
    plan: Callable[..., int] = lambda **kw: quota.search_pages(  # noqa: E731
        **{"share": 2000, "spent": 0, "now": midnight, "interval_minutes": 15, "poll_units_per_run": 8, **kw}
    )
    assert plan() == 0  # 20 units allowed by the end of the first run
    assert (
        plan(now=midnight + timedelta(hours=2)) == 1
    )  # (2h15 of 24h) x 2000 = 187, less 8 for this run's polls
    assert plan(now=midnight + timedelta(hours=5)) == 4  # (5h15 of 24h) x 2000 = 437, less 8
    assert plan(now=midnight + timedelta(hours=2), spent=90) == 0
    assert plan(now=midnight + timedelta(hours=12), pacing=False) == 16  # 2000 - 48 runs x 8 units
    assert plan(now=midnight + timedelta(hours=23, minutes=45), spent=1900, pacing=False) == 0
    assert quota.poll_fits(share=2000, spent=1999) and not quota.poll_fits(share=2000, spent=2000)


def test_watches_take_turns() -> None:
    now, hour = T0, timedelta(hours=1)
    usual = {"searched_at": now - 2 * hour, "passed_at": now - hour, "now": now, "lookback": 6 * hour,
             "recent": {"a", "b"}, "since_search": {"a"}, "since_pass": set()}  # fmt: skip
    turn = lambda **kw: quota.takes_turn("b", **{**usual, **kw})  # noqa: E731
    assert turn() and turn(searched_at=None)
    assert not turn(passed_at=None)  # after a search, a watch first leaves one chance to the others
    assert not turn(since_pass={"a"})  # someone took the chance it passed: pass again
    assert not turn(since_search=set())  # "a" has waited longer
    assert turn(since_search=set(), searched_at=now - 7 * hour)  # "a" is silent for too long: gone


def test_quota_status_reads_the_ledger(backend: Backend) -> None:
    store = backend.store
    run = store.start_run("youtube", "brand", quota.day_start(T0) - timedelta(minutes=1))  # yesterday's quota
    store.finish_run(run, SaveResult(), 0, units=100, now=T0)
    run = store.start_run("youtube", "brand", T0 - timedelta(hours=1))
    store.finish_run(run, SaveResult(), 0, units=101, now=T0)
    status = quota.quota_status(Settings(daily_unit_share=1500), StoreLedger(store, "youtube"), T0)
    assert status == (101, 1500, datetime(2026, 3, 3, 8, 0, tzinfo=UTC))


# -- a simulated day through the runner ----------------------------------------


def test_a_day_of_runs_keeps_within_the_share_and_polls_every_video_each_run(store: Store) -> None:
    """On SQLite only, for the suite's time: its ledger reads run on both backends above."""
    midnight = quota.day_start(datetime(2026, 3, 3, 12, 0, tzinfo=UTC))
    clock = Clock(midnight)
    with YouTubeServer(api_key=KEY, clock=clock) as server:
        brand = server.add_channel("Brand")
        videos = [
            server.add_video("Brand", f"Brand video {i}", midnight - timedelta(days=1, hours=i))
            for i in range(5)
        ]
        for hour in range(24):
            at = midnight + timedelta(hours=hour)
            server.add_mention("fan", f"Aurora review {hour}", at + timedelta(minutes=5))
            server.add_mention("critic", f"Borealis review {hour}", at + timedelta(minutes=7))
            server.add_mention(
                "viewer", f"nice one {hour}", at + timedelta(minutes=3), reply_to=videos[hour % 5]
            )
        settings = Settings(
            api_base_url=server.url, channel_id=brand, videos=tuple(videos), interval_minutes=15,
            daily_unit_share=2000, retry_backoff_seconds=0,
        )  # fmt: skip
        watches = [watch("brand", "aurora"), watch("rival", "borealis")]
        searches: Counter[str] = Counter()
        for run in range(96):
            clock.now = midnight + timedelta(minutes=15 * run)
            before = len(server.requests)
            outcomes = collect(store, {"youtube": settings}, watches, env=ENV, now=clock)
            assert [o.error for o in outcomes] == [None] * 4, outcomes
            made = server.requests[before:]
            polled = {r.params.get("videoId") for r in made if r.path.endswith("/commentThreads")}
            assert set(videos) <= polled, f"run {run} polled {polled}"
            searches.update(r.params["q"] for r in made if r.path.endswith("/search"))
        spent = server.units_on(midnight)
        assert spent <= 2000 and store.units_since("youtube", midnight) == spent
        assert spent > 1800  # the share is used, not hoarded
        assert searches["aurora"] >= 5 and abs(searches["aurora"] - searches["borealis"]) <= 1  # turns
        stored = {r[0] for r in store.conn.execute("SELECT text FROM mentions WHERE network = 'youtube'")}
        assert "Aurora review 20" in stored and "nice one 23" in stored and "Brand video 0" in stored
