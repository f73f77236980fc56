"""The Hacker News collector against recorded Algolia replies (2014) and the local Algolia server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from collectors.base import Context
from collectors.hackernews import HackerNewsCollector, Settings, normalize_page, to_algolia_queries
from listener.demo.hnserver import HackerNewsServer
from listener.errors import CollectorError, MalformedPayload, RateLimited, SourceUnavailable
from listener.model import Watch
from listener.query import Query, parse
from tests.harness import Clock

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def watch(name: str, query: str) -> Watch:
    return Watch(name, query, parse(query))


@pytest.fixture
def recorded(shared_dir: Path) -> dict[str, dict[str, Any]]:
    """The recorded replies by URL."""
    entries = json.loads((shared_dir / "fixtures" / "hn_algolia" / "fixtures.json").read_text())
    return {e["url"]: e["reply"] for e in entries}


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + timedelta(hours=1))


@pytest.fixture
def hn(clock: Clock) -> Iterator[HackerNewsServer]:
    with HackerNewsServer(clock=clock) as server:
        yield server


def collector(server: HackerNewsServer, clock: Clock, **options: Any) -> HackerNewsCollector:
    settings = Settings(api_base_url=f"{server.url}/api/v1", retry_backoff_seconds=0, **options)
    return HackerNewsCollector(settings, {}, Context(clock=clock))


# -- the recordings ----------------------------------------------------------


def test_a_recorded_story_normalises(recorded: dict[str, dict[str, Any]]) -> None:
    [story], rejects = normalize_page(
        recorded["/api/v1/search_by_date?hitsPerPage=1&tags=(story)%2Cauthor_pg"]
    )
    assert not rejects
    assert (story.network, story.native_id, story.author_handle, story.author_id) == (
        "hackernews", "7493856", "pg", "pg",
    )  # fmt: skip
    assert story.text == "Meet the People Taking over Hacker News"  # story_text "" adds nothing
    assert story.created_at == datetime(2014, 3, 29, 20, 43, 24, tzinfo=UTC)
    assert story.url == "https://news.ycombinator.com/item?id=7493856"
    assert (story.in_reply_to_id, story.conversation_id) == (None, "7493856")  # 2014: story_id was null
    assert (story.like_count, story.reply_count, story.language) == (578, 290, None)
    assert "_highlightResult" not in story.raw and story.raw["objectID"] == "7493856"


def test_a_recorded_text_story_keeps_its_body_as_plain_text(recorded: dict[str, dict[str, Any]]) -> None:
    [story], _ = normalize_page(
        recorded["/api/v1/search_by_date?hitsPerPage=1&tags=(ask_hn)&page=2&query=apple"]
    )
    assert story.text.startswith("Ask HN: How can I get Swag from Startups?\n\n\\tHello HN,\\nI'm a college")
    assert "&#x27;" not in story.text and story.text.endswith("Thanks")
    assert (story.native_id, story.author_handle, story.reply_count) == ("7915384", "techidse", 3)


def test_recorded_comments_normalise_with_their_thread(recorded: dict[str, dict[str, Any]]) -> None:
    [reply], _ = normalize_page(recorded["/api/v1/search_by_date?hitsPerPage=1&tags=(comment)%2Cauthor_pg"])
    assert reply.text == "Is there a forum that doesn't ban people?"
    assert (reply.native_id, reply.in_reply_to_id, reply.conversation_id) == ("7494555", "7494175", "7493856")
    assert reply.created_at == datetime(2014, 3, 30, 0, 12, 35, tzinfo=UTC)
    assert (reply.like_count, reply.reply_count) == (8, None)
    [linked], _ = normalize_page(recorded["/api/v1/search_by_date?hitsPerPage=1&tags=(comment)"])
    assert linked.text == (
        "A perennial HN favorite\n\nhttps://hn.algolia.com/?q=Fibonacci+Flim-Flam#!/all/forever/...\n\n"
        "What's fascinating about this topic is that the reposts come at intervals that approximates "
        "the Fibonacci sequence."
    )
    assert (linked.author_handle, linked.url) == ("gohrt", "https://news.ycombinator.com/item?id=7919431")


def test_recorded_replies_replay_through_the_collector_with_local_filtering(
    recorded: dict[str, dict[str, Any]],
) -> None:
    """Page 0 is the recorded story search for 'apple', page 1 the comment search (its text lacks 'apple')."""
    bodies = [
        recorded[f"/api/v1/search_by_date?hitsPerPage=1&tags=({kind})&query=apple"]
        for kind in ("story", "comment")
    ]
    asked: list[httpx.QueryParams] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/search_by_date"
        asked.append(request.url.params)
        return httpx.Response(200, json=bodies[int(request.url.params["page"])])

    context = Context(
        clock=lambda: datetime(2014, 6, 20, 4, 0, tzinfo=UTC), transport=httpx.MockTransport(handler)
    )
    made = HackerNewsCollector(Settings(hits_per_page=1, pages_per_run=2), {}, context)
    first, second = made.fetch(watch("apple", "apple"), None)
    assert [dict(p) for p in asked] == [
        {"query": "apple", "tags": "(story,comment)", "numericFilters": "created_at_i>=1402632000",
         "hitsPerPage": "1", "page": str(page)} for page in (0, 1)
    ]  # fmt: skip
    assert [m.native_id for m in first.mentions] == ["7919424"] and first.cursor is None
    assert first.mentions[0].text == "Judge says concerned about Apple, Google hiring settlement"
    assert second.mentions == []  # the comment matched on Algolia's side only
    assert json.loads(second.cursor or "") == {  # pages_per_run spent: the walk resumes below 1403235154
        "since": None, "seen": [],
        "resume": {"search": 0, "before": 1403235154, "newest": 1403235346,
                   "recent": {"7919424": 1403235346, "7919418": 1403235154}},
    }  # fmt: skip


# -- queries -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "searches"),
    [
        ("aurora", ["aurora"]),
        ('"caffè aurora" milano', ["caffè aurora milano"]),
        ("aurora -lavoro lang:it", ["aurora"]),
        ("(aurora OR borealis) caffè", ["aurora caffè", "borealis caffè"]),
        ("aurora OR network:reddit", ["aurora"]),
        ("network:x", False),
        ("auror* caffè", ["caffè"]),
        ("-aurora", True),
        ("aurora OR site:acme.it", True),
    ],
)
def test_queries_lower_to_algolia_searches(query: str, searches: list[str] | bool) -> None:
    assert to_algolia_queries(Query.parse(query)) == searches


def test_a_query_with_nothing_to_search_is_refused_with_the_fix(hn: HackerNewsServer, clock: Clock) -> None:
    with pytest.raises(CollectorError) as caught:
        list(collector(hn, clock).fetch(watch("vago", "-aurora"), None))
    assert (
        str(caught.value)
        == "hackernews (watch 'vago'): nothing Hacker News can search for in '-aurora'; add a word"
    )
    assert list(collector(hn, clock).fetch(watch("altrove", "network:x"), None)) == []
    assert hn.requests == []


# -- the local server --------------------------------------------------------


def test_stories_and_comments_from_the_server_with_cursor_and_overlap(
    hn: HackerNewsServer, clock: Clock
) -> None:
    story = hn.add_story("marco", "Caffè Aurora opens in Milan", T0, text="Any tips & tricks?")
    reply = hn.add_mention(
        "anna", "I <3 Aurora's espresso\n\nSecond paragraph", T0 + timedelta(minutes=1), reply_to=story
    )
    hn.add_mention("piero", "Unrelated text", T0 + timedelta(minutes=2), reply_to=story)
    made = collector(hn, clock, hits_per_page=1, overlap_seconds=60)
    pages = list(made.fetch(watch("brand", "aurora"), None))
    mentions = [m for p in pages for m in p.mentions]
    assert [(m.native_id, m.text) for m in mentions] == [
        (reply, "I <3 Aurora's espresso\n\nSecond paragraph"),
        (story, "Caffè Aurora opens in Milan\n\nAny tips & tricks?"),
    ]
    assert (mentions[0].in_reply_to_id, mentions[0].conversation_id, mentions[1].reply_count) == (
        story,
        story,
        2,
    )
    assert [p.cursor for p in pages[:-1]] == [None]
    second = int((T0 + timedelta(minutes=1)).timestamp())
    assert json.loads(pages[-1].cursor or "") == {"since": second, "seen": sorted([reply, story])}

    late = hn.add_mention("late", "Aurora, indexed late", T0 + timedelta(seconds=30), reply_to=story)
    again = list(made.fetch(watch("brand", "aurora"), pages[-1].cursor))
    assert hn.requests[-1].params["numericFilters"] == f"created_at_i>={second - 60}"
    assert [m.native_id for p in again for m in p.mentions] == [late]  # the overlap finds it; the seen skip


def test_a_walk_cut_by_pages_per_run_resumes_where_it_stopped(hn: HackerNewsServer, clock: Clock) -> None:
    ids = [hn.add_mention("giulia", f"Aurora {i}", T0 + timedelta(minutes=i)) for i in range(5)]
    made = collector(hn, clock, hits_per_page=2, pages_per_run=2)
    first = list(made.fetch(watch("brand", "aurora"), None))
    assert [m.native_id for p in first for m in p.mentions] == ids[:0:-1]
    assert json.loads(first[-1].cursor or "")["resume"]["before"] == int(
        (T0 + timedelta(minutes=1)).timestamp()
    )
    newer = hn.add_mention("giulia", "Aurora 5", T0 + timedelta(minutes=5))
    rest = list(made.fetch(watch("brand", "aurora"), first[-1].cursor))
    assert [m.native_id for p in rest for m in p.mentions] == [ids[1], ids[0]]  # the boundary second repeats
    assert json.loads(rest[-1].cursor or "")["since"] == int((T0 + timedelta(minutes=4)).timestamp())
    last = list(made.fetch(watch("brand", "aurora"), rest[-1].cursor))
    assert [m.native_id for p in last for m in p.mentions] == [newer]


def test_own_posts_feed_keeps_everything_the_account_wrote(hn: HackerNewsServer, clock: Clock) -> None:
    mine = hn.add_story("acme_team", "We launched", T0)
    hn.add_story("someone", "We launched too", T0)
    made = collector(hn, clock, accounts=("@acme_team",))
    [feed] = made.feeds()
    assert (feed.name, feed.keep_all) == ("posts:@acme_team", True)
    [page] = made.fetch(feed, None)  # a feed, not a watch: it has no query
    assert [m.native_id for m in page.mentions] == [mine]
    assert hn.requests[-1].params["tags"] == "(story,comment),author_acme_team"


def test_failures_become_one_line_errors(hn: HackerNewsServer, clock: Clock) -> None:
    hn.add_mention("giulia", "Aurora", T0)
    made = collector(hn, clock, retry_attempts=2)
    hn.inject("429")
    with pytest.raises(RateLimited) as limited:
        list(made.fetch(watch("brand", "aurora"), None))
    assert limited.value.retry_at is None  # Algolia says no reset time: the runner waits its default
    assert str(limited.value) == (
        "hackernews (watch 'brand'): rate limited (429), Algolia allows 10,000 requests an hour per IP; "
        "waiting until the reset (time not given)"
    )
    hn.inject("503", times=2)
    with pytest.raises(
        SourceUnavailable, match=r"server error \(503\); Hacker News search is having trouble"
    ):
        list(made.fetch(watch("brand", "aurora"), None))
    hn.inject("malformed-json", times=2)
    with pytest.raises(
        MalformedPayload, match=r"^hackernews \(watch 'brand'\): the answer is not JSON \(\d+ bytes\)$"
    ):
        list(made.fetch(watch("brand", "aurora"), None))
    hn.rate_limit = 0
    with pytest.raises(RateLimited):
        list(made.fetch(watch("brand", "aurora"), None))


def test_a_broken_hit_is_rejected_and_its_page_mates_kept(hn: HackerNewsServer, clock: Clock) -> None:
    kept = hn.add_mention("giulia", "Aurora uno", T0)
    broken = hn.add_mention("marco", "Aurora due", T0 + timedelta(minutes=1))
    hn.inject("malformed-item")
    [page] = collector(hn, clock).fetch(watch("brand", "aurora"), None)
    assert [m.native_id for m in page.mentions] == [kept]
    [reject] = page.rejects
    assert (reject.native_id, reject.reason) == (broken, "missing field 'created_at_i'")
