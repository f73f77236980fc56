"""The RSS/Atom collector against recorded real feeds (vcrpy cassettes) and the local feed server."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import vcr  # type: ignore[import-untyped]

from collectors.base import Context
from collectors.rss import FeedProblem, RssCollector, Settings, entry_id, feed_date, normalize
from listener.demo.rssserver import RssServer
from listener.errors import MalformedPayload, RateLimited
from listener.model import Page, Watch
from listener.query import parse
from tests.harness import Clock
from tests.harness_rss import VerbatimFeeds

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SIMON = "https://simonwillison.net/atom/everything/"
MICRO = "https://micro.mjdescy.me/"


def watch(name: str, query: str) -> Watch:
    return Watch(name, query, parse(query))


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + timedelta(hours=1))


@pytest.fixture
def cassettes(shared_dir: Path) -> Path:
    return shared_dir / "fixtures" / "rss"


@pytest.fixture
def feeds(clock: Clock) -> Iterator[RssServer]:
    with RssServer(("/a.atom", "/b.rss"), clock=clock, language="it") as server:
        yield server


def collector(clock: Any, transport: httpx.BaseTransport | None = None, **options: Any) -> RssCollector:
    return RssCollector(
        Settings(retry_backoff_seconds=0, **options), {}, Context(clock=clock, transport=transport)
    )


def mentions(pages: list[Page]) -> list[Any]:
    return [m for p in pages for m in p.mentions]


# -- the recordings ----------------------------------------------------------


def test_the_recorded_atom_feed_normalises(cassettes: Path, clock: Clock) -> None:
    made = collector(clock, feeds={"llm": (SIMON,)})
    with vcr.VCR(record_mode="none").use_cassette(str(cassettes / "test_get_rss_exists")) as cassette:
        pages = list(made.fetch(watch("llm", "datasette"), None))
    assert cassette.play_count == 1
    found = mentions(pages)
    assert len(found) == 4 and all("datasette" in m.text.lower() for m in found)  # of 30 entries
    first = found[0]
    assert first.native_id == "http://simonwillison.net/2023/Jul/16/weeknotes/#atom-everything"
    assert first.url == first.native_id
    assert first.text.startswith(
        "Weeknotes: Self-hosted language models with LLM plugins, a new Datasette tutorial, a dozen package "
        "releases, a dozen TILs\n\nA lot of stuff to cover from the past two and a half weeks.\n\n"
        "LLM and self-hosted language model plugins\n\nMy biggest project was the new version of my LLM tool"
    )
    assert "<" not in first.text and "&lt;" not in first.text and "&amp;" not in first.text
    assert first.created_at == datetime(2023, 7, 16, 5, 55, 54, tzinfo=UTC)
    assert (first.author_name, first.language) == ("Simon Willison", "en-us")  # the feed's author, xml:lang
    assert first.raw["id"] == first.native_id and "published_parsed" not in first.raw
    state = json.loads(pages[-1].cursor or "")["feeds"][SIMON]
    assert state["modified"] == "Sun, 16 Jul 2023 05:55:54 GMT" and "etag" not in state  # none was sent
    assert len(state["seen"]) == 30


def test_a_web_page_leads_to_its_rss_feed(cassettes: Path, clock: Clock) -> None:
    made = collector(clock, all_watches=(MICRO,))
    with vcr.VCR(record_mode="none").use_cassette(str(cassettes / "test_get_rss_redirect")) as cassette:
        pages = list(made.fetch(watch("tastiere", "keyboard OR Boston"), None))
    assert cassette.play_count == 2  # the page once, then the feed it names
    planck, boston = mentions(pages)[:2]
    assert planck.native_id == "http://mjdescy.micro.blog/2023/07/11/goodbye-planck-ez.html"
    assert planck.url == "https://micro.mjdescy.me/2023/07/11/goodbye-planck-ez.html"
    assert planck.text == (
        "Goodbye, Planck EZ\n\nI was sad to receive an email today from the manufacturer of my favorite "
        "keyboard, the Planck EZ, saying that it is being discontinued. Being an ortholinear keyboard, the "
        "Planck EZ is obviously a niche product, but it is (was) the most feature-rich, easy-to-use, and "
        "easy-to-acquire keyboard of its type. I bought my second one earlier this year, and don\u2019t think "
        "I could justify buying another right now."
    )
    assert planck.created_at == datetime(2023, 7, 11, 15, 33, 41, tzinfo=UTC)  # -0400 in the feed
    assert (planck.language, planck.author_name) == ("en", None)  # the channel's <language>
    assert (boston.text, boston.created_at) == (
        "Boston is a great city to visit in the spring.",  # an empty <title> adds nothing
        datetime(2023, 5, 29, 14, 49, 3, tzinfo=UTC),
    )
    state = json.loads(pages[-1].cursor or "")["feeds"][MICRO]
    assert (state["href"], state["etag"]) == (MICRO + "feed.xml", '"rxn1zib7m"')
    assert len(state["seen"]) == 25


# -- entry ids ---------------------------------------------------------------


def test_entry_ids_are_kept_when_they_are_uris_and_made_unique_when_not() -> None:
    assert (
        entry_id("yt:video:dQw4w9WgXcQ", "https://www.youtube.com/feeds/videos.xml") == "yt:video:dQw4w9WgXcQ"
    )
    assert entry_id("1234", "https://blog.example/feed") == "https://blog.example/feed#1234"
    long = entry_id("https://example.com/" + "x" * 600, "https://blog.example/feed")
    assert long.startswith("sha256:") and len(long) == 71


# -- the local server --------------------------------------------------------


def test_conditional_gets_and_seen_ids_keep_runs_apart(feeds: RssServer, clock: Clock) -> None:
    feeds.add_mention("giulia", "Caffè Aurora a Milano", T0, lang="it-IT")
    feeds.add_mention("marco", "Aurora & co: <prezzi>", T0 + timedelta(minutes=1))
    feeds.add_mention("anna", "Niente di rilevante", T0 + timedelta(minutes=2))
    made = collector(clock, feeds={"brand": (feeds.url + "/a.atom",)}, all_watches=(feeds.url + "/b.rss",))
    first = list(made.fetch(watch("brand", "aurora"), None))
    assert [p.cursor for p in first[:-1]] == [None, None] and first[-1].mentions == []
    giulia, marco = mentions(first)
    assert (giulia.text, giulia.language, giulia.author_name) == ("Caffè Aurora a Milano", "it-it", "giulia")
    assert (marco.text, marco.language, marco.created_at) == (
        "Aurora & co: <prezzi>",
        "it",
        T0 + timedelta(minutes=1),
    )
    assert marco.native_id == "tag:news.example,2026:entry-2" and marco.url == "https://news.example/b.rss/2"

    calls = len(feeds.requests)
    again = list(made.fetch(watch("brand", "aurora"), first[-1].cursor))
    assert mentions(again) == [] and again[-1].cursor == first[-1].cursor
    assert [r.headers.get("If-None-Match", "")[:1] for r in feeds.requests[calls:]] == ['"', '"']  # both 304

    late = feeds.add_entry("/b.rss", "piero", T0 + timedelta(minutes=5), text="Aurora, di nuovo")
    third = list(made.fetch(watch("brand", "aurora"), again[-1].cursor))
    assert [m.native_id for m in mentions(third)] == [late]


def test_entries_without_a_date_take_the_fetch_time_and_google_links_are_unwrapped(clock: Clock) -> None:
    alert = (
        b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        b"<id>tag:google.com,2005:reader/user/0/state/com.google/alerts/1</id><title>Google Alert - aurora</title>"
        b"<entry><id>tag:google.com,2013:googlealerts/feed:987</id>"
        b'<title type="html">&lt;b&gt;Aurora&lt;/b&gt; apre a Roma</title>'
        b'<link href="https://www.google.com/url?rct=j&amp;sa=t&amp;url=https://giornale.example/aurora&amp;ct=ga"/>'
        b'<content type="html">Il caff&amp;egrave; &lt;b&gt;Aurora&lt;/b&gt;</content></entry></feed>'
    )

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["User-Agent"].startswith("listener/")
        return httpx.Response(200, content=alert, headers={"Content-Type": "application/atom+xml"})

    made = collector(
        clock,
        all_watches=("https://www.google.com/alerts/feeds/1/2",),
        transport=httpx.MockTransport(handler),
    )
    [found] = mentions(list(made.fetch(watch("brand", "aurora"), None)))
    assert (found.native_id, found.url) == (
        "tag:google.com,2013:googlealerts/feed:987",
        "https://giornale.example/aurora",
    )
    assert (found.text, found.created_at) == ("Aurora apre a Roma\n\nIl caffè Aurora", clock.now)
    assert found.raw["created_at_unknown"] is True  # the fetch time stands in for a date the feed lacks


def test_a_gone_feed_is_skipped_and_named_while_the_others_are_read(feeds: RssServer, clock: Clock) -> None:
    feeds.add_mention("giulia", "Aurora", T0)
    made = collector(clock, all_watches=(feeds.url + "/gone.xml", feeds.url + "/a.atom"))
    pages: list[Page] = []
    with pytest.raises(FeedProblem) as caught:
        for page in made.fetch(watch("brand", "aurora"), None):
            pages.append(page)
    assert str(caught.value) == (
        f"rss (watch 'brand'): {feeds.url}/gone.xml is gone (404); fix or remove it in [networks.rss]"
    )
    assert len(mentions(pages)) == 1
    assert list(json.loads(pages[-1].cursor or "")["feeds"]) == [feeds.url + "/a.atom"]


def test_a_page_without_a_feed_and_a_cut_off_feed_fail_cleanly(feeds: RssServer, clock: Clock) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html><head><title>Blog</title></head></html>",
                              headers={"Content-Type": "text/html"})  # fmt: skip

    made = collector(clock, all_watches=("https://blog.example/",), transport=httpx.MockTransport(handler))
    with pytest.raises(
        FeedProblem, match=r"https://blog.example/ is a web page that names no feed; configure"
    ):
        list(made.fetch(watch("brand", "aurora"), None))
    feeds.add_mention("giulia", "Aurora", T0)
    feeds.inject("malformed-json", times=2)
    made = collector(clock, all_watches=(feeds.url + "/a.atom",), retry_attempts=2)
    with pytest.raises(
        MalformedPayload, match=r"a.atom is not well-formed XML \(.*\); the next run retries$"
    ):
        list(made.fetch(watch("brand", "aurora"), None))


def test_a_429_names_when_to_come_back(feeds: RssServer, clock: Clock) -> None:
    feeds.inject("429", seconds=120)
    made = collector(clock, all_watches=(feeds.url + "/a.atom",))
    with pytest.raises(RateLimited) as caught:
        list(made.fetch(watch("brand", "aurora"), None))
    assert caught.value.retry_at == clock.now + timedelta(seconds=120)
    assert str(caught.value) == (
        f"rss (watch 'brand'): {feeds.url}/a.atom rate limited us (429); waiting until "
        f"{clock.now + timedelta(seconds=120):%Y-%m-%d %H:%M:%S} UTC"
    )


def test_a_broken_entry_is_rejected_and_its_feed_mates_kept(feeds: RssServer, clock: Clock) -> None:
    feeds.add_entry("/b.rss", "giulia", T0, text="Aurora uno")
    kept = feeds.add_entry("/b.rss", "marco", T0 - timedelta(minutes=1), text="Aurora due")
    feeds.inject("malformed-item")
    made = collector(clock, all_watches=(feeds.url + "/b.rss",))
    pages = list(made.fetch(watch("brand", "aurora"), None))
    assert [m.native_id for m in mentions(pages)] == [kept]
    [reject] = [r for p in pages for r in p.rejects]
    assert (reject.network, reject.reason) == ("rss", "entry has neither an id nor a link")
    assert reject.raw["summary"] == "<p>Aurora uno</p>"


# -- dates in other languages, authors as feeds write them ---------------------

DATES = [  # (language, pubDate as the feed writes it, the time it means)
    (
        "it",
        "mer, 16 nov 2022 00:38:15 +0100",
        datetime(2022, 11, 15, 23, 38, 15, tzinfo=UTC),
    ),  # Il Messaggero
    ("it", "martedì, 15 marzo 2022 10:00:00 CET", datetime(2022, 3, 15, 9, 0, tzinfo=UTC)),
    ("it", "mar, 15 mar 2022 10:00:00 +01:00", datetime(2022, 3, 15, 9, 0, tzinfo=UTC)),  # martedì, marzo
    ("fr", "jeu., 01 déc. 2022 08:05:00 +0100", datetime(2022, 12, 1, 7, 5, tzinfo=UTC)),
    ("fr", "7 juillet 2022 12:00:00 CEST", datetime(2022, 7, 7, 10, 0, tzinfo=UTC)),
    ("es", "mié, 04 ene 2023 12:00:00 GMT", datetime(2023, 1, 4, 12, 0, tzinfo=UTC)),
    ("es", "16 de noviembre de 2022 00:38:15 -0300", datetime(2022, 11, 16, 3, 38, 15, tzinfo=UTC)),
    ("de", "Mi, 16 Nov 2022 00:38:15 MEZ", datetime(2022, 11, 15, 23, 38, 15, tzinfo=UTC)),
    ("de", "Donnerstag, 01. Oktober 2020 12:00 MESZ", datetime(2020, 10, 1, 10, 0, tzinfo=UTC)),
    ("de", "Di, 15 Mär 2022 10:00:00 +0100", datetime(2022, 3, 15, 9, 0, tzinfo=UTC)),
    ("pt", "seg, 03 out 2022 10:00:00 -0300", datetime(2022, 10, 3, 13, 0, tzinfo=UTC)),
    ("pt", "sábado, 3 de setembro de 2022 10:00 BRT", datetime(2022, 9, 3, 13, 0, tzinfo=UTC)),
    ("en", "Wed, 16 Nov 2022 00:38:15 CET", datetime(2022, 11, 15, 23, 38, 15, tzinfo=UTC)),  # not UTC
]


@pytest.fixture
def verbatim(clock: Clock) -> Iterator[VerbatimFeeds]:
    with VerbatimFeeds(clock) as server:
        yield server


def test_dates_in_italian_french_spanish_german_and_portuguese_are_read(
    verbatim: VerbatimFeeds, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    ids = {verbatim.add_item(f"/{lang}.rss", f"Aurora {i}", date=date): when
           for i, (lang, date, when) in enumerate(DATES)}  # fmt: skip
    made = collector(clock, all_watches=tuple(verbatim.url + path for path in verbatim.items))
    found = mentions(list(made.fetch(watch("brand", "aurora"), None)))
    assert {m.native_id: m.created_at for m in found} == ids
    assert not any("created_at_unknown" in m.raw for m in found) and not caplog.records
    assert {lang for lang, _, _ in DATES} == {"it", "fr", "es", "de", "pt", "en"}


def test_a_date_that_cannot_be_read_is_kept_unknown_and_named_in_a_warning(
    verbatim: VerbatimFeeds, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    bad = verbatim.add_item("/news.rss", "Aurora uno", date="mer, 16 brumaio 2022 00:38:15 +0100")
    no_zone = verbatim.add_item("/news.rss", "Aurora due", date="Wed, 16 Nov 2022 00:38:15 XYZ")
    good = verbatim.add_item("/news.rss", "Aurora tre", date="mer, 16 nov 2022 00:38:15 +0100")
    undated = verbatim.add_item("/news.rss", "Aurora quattro")
    made = collector(clock, all_watches=(verbatim.url + "/news.rss",))
    with caplog.at_level(logging.WARNING, logger="collectors.rss"):
        found = {m.native_id: m for m in mentions(list(made.fetch(watch("brand", "aurora"), None)))}
    for unknown in (bad, no_zone, undated):  # the fetch time stands in, and says so
        assert (found[unknown].created_at, found[unknown].raw["created_at_unknown"]) == (clock.now, True)
    assert found[bad].raw["published"] == "mer, 16 brumaio 2022 00:38:15 +0100"  # kept as written
    assert "created_at_unknown" not in found[good].raw
    assert [r.getMessage() for r in caplog.records] == [
        f"rss: {verbatim.url}/news.rss: entry {bad}: cannot read the date "
        "'mer, 16 brumaio 2022 00:38:15 +0100'; stored with the fetch time, created_at_unknown",
        f"rss: {verbatim.url}/news.rss: entry {no_zone}: cannot read the date "
        "'Wed, 16 Nov 2022 00:38:15 XYZ'; stored with the fetch time, created_at_unknown",
    ]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("mer, 16 nov 2022 00:38:15", "a time without a time zone"),
        ("gio, 29 feb 2023 10:00:00 +0100", "day is out of range for month"),
        ("16 nov 2022 10:00 +2500", "no such time zone offset"),
        ("Wednesday 16", "expected one month name"),
        ("16 Nov 2022 10:00 Europe", "no other word, found \\['nov', 'europe'\\]"),
    ],
)
def test_feed_date_says_why_it_cannot_read_a_date(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        feed_date(value)


AUTHORS = [  # (element, as the feed writes it, the name stored)
    ("author", "jonas@insanity.industries (Jonas Große Sundrup)", "Jonas Große Sundrup"),
    ("dc:creator", "Simon St.Laurent (mailto:simonstl@simonstl.com)", "Simon St.Laurent"),
    ("author", "Giulia Rossi <giulia.rossi@ilmessaggero.it>", "Giulia Rossi"),
    ("dc:creator", '"Rossi, Giulia" <giulia@example.it>', "Rossi, Giulia"),
    ("dc:creator", "Marco Bianchi", "Marco Bianchi"),
    ("author", "redazione@ilmessaggero.it", "redazione@ilmessaggero.it"),
    ("dc:creator", "Redazione Tecnologia (Milano)", "Redazione Tecnologia (Milano)"),
]


def test_authors_are_stored_by_their_human_name_and_never_cut(verbatim: VerbatimFeeds, clock: Clock) -> None:
    ids = {verbatim.add_item("/people.rss", f"Aurora {i}", date="Wed, 16 Nov 2022 00:38:15 +0100",
                             author=author, element=element): name
           for i, (element, author, name) in enumerate(AUTHORS)}  # fmt: skip
    made = collector(clock, all_watches=(verbatim.url + "/people.rss",))
    found = mentions(list(made.fetch(watch("brand", "aurora"), None)))
    assert {m.native_id: m.author_name for m in found} == ids


def test_an_unreadable_published_date_falls_back_to_a_readable_updated_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    entry = {"id": "tag:news.example,2026:1", "title": "Aurora", "published": "mer, 16 brumaio 2022",
             "updated": "2022-11-16T00:38:15+01:00", "updated_parsed": (2022, 11, 15, 23, 38, 15, 1, 319, 0)}  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="collectors.rss"):
        found = normalize(entry, "https://news.example/feed", None, T0)
    assert (found.created_at, "created_at_unknown" in found.raw) == (
        datetime(2022, 11, 15, 23, 38, 15, tzinfo=UTC),
        False,
    )
    assert caplog.records[-1].getMessage() == (
        "rss: https://news.example/feed: entry tag:news.example,2026:1: cannot read the date "
        "'mer, 16 brumaio 2022'; its updated time is used"
    )
