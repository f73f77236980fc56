"""RSS and Atom feeds (Google Alerts, news sites, blogs, YouTube channels), fetched with httpx, parsed by feedparser.

Configuration, ``[networks.rss]``::

    all_watches = ["https://www.youtube.com/feeds/videos.xml?channel_id=UC..."]  # read for every watch

    [networks.rss.feeds]  # watch name -> the feeds read for that watch only
    brand = ["https://www.google.com/alerts/feeds/0123/4567", "https://blog.example.com/feed"]

A watch reads its own feeds, then ``all_watches``. Feed entries are not search
results, so each one passes the watch's local matcher. A web page instead of a
feed is fine: its ``<link rel="alternate">`` feed is found and remembered.

The cursor is JSON ``{"feeds": {url: {"etag", "modified", "href", "seen"}}}``:
per configured URL, the validators for a conditional GET (a 304 means nothing
new), the discovered feed address, and the ids of the entries in the last
document, which are skipped next time. It is stored once, after the walk's last
feed. A transient failure (5xx, timeout, a document that is not XML, 429) stops
the walk and leaves the cursor as it was: the next run reads every feed again
and the store drops the repeats. A feed that is gone or refuses us (404, 410,
403, a page with no feed) is skipped so the others still run; the run then ends
with an error naming it.

Dates: feedparser reads ISO 8601 and English RFC 822; ``feed_date`` reads what
news sites write in Italian, French, Spanish, German and Portuguese
(``mer, 16 nov 2022 00:38:15 +0100``) and the zone names feedparser takes for
UTC (``CET``, ``MESZ``). A date that neither can read is never guessed: the
entry is stored with the fetch time as ``created_at``, ``"created_at_unknown":
true`` in its ``raw``, and a warning names the feed and the value. An entry
with no date at all is stored the same way, without the warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import xml.sax
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, cast
from urllib.parse import parse_qs, urljoin, urlsplit

import feedparser  # type: ignore[import-untyped]
import httpx
from bs4 import BeautifulSoup

from collectors._common import retry_after, retrying, tls, until
from collectors._feed_dates import feed_date
from collectors._html import html_to_text
from collectors.base import Collector, Context, NetworkSettings
from collectors.rss_settings import Settings
from listener.errors import CollectorError, MalformedPayload, RateLimited, SourceUnavailable
from listener.model import Cursor, Feed, Mention, Page, Reject, Watch
from listener.query import Query

__all__ = [
    "FeedProblem",
    "RssCollector",
    "Settings",
    "author_name",
    "entry_id",
    "feed_date",
    "normalize",
    "normalize_feed",
]

log = logging.getLogger(__name__)

ACCEPT = "application/atom+xml, application/rss+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"
MAX_ID_LENGTH = 500  # longer entry ids are stored as their SHA-256
MAX_SEEN = 1000  # per feed: more than any feed document holds
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")  # http:, tag:, urn:, yt:
_FEED_TYPES = ("application/rss+xml", "application/atom+xml")


class FeedProblem(CollectorError):
    """One feed is gone or refuses us: skipped so the walk goes on, then reported."""


# -- normalising -------------------------------------------------------------


def entry_id(key: str, feed_url: str) -> str:
    """The stored id of an entry whose ``<id>``/``<guid>`` (else link) is ``key``.

    A URI (``http:``, ``tag:``, ``yt:``) is unique everywhere and is kept, so the
    same article in two feeds is stored once. A bare guid such as ``1234`` is
    unique only within its feed and gets the feed URL in front. Ids past
    ``MAX_ID_LENGTH`` characters are stored as ``sha256:<hex>``.
    """
    native = key if _SCHEME.match(key) else f"{feed_url}#{key}"
    if len(native) > MAX_ID_LENGTH:
        return "sha256:" + hashlib.sha256(native.encode()).hexdigest()
    return native


def _text(detail: Any, value: Any) -> str:
    """A feed text construct as plain text: HTML is converted, plain text only trimmed."""
    if not isinstance(value, str):
        return ""
    kind = detail.get("type", "") if isinstance(detail, dict) else ""
    return html_to_text(value) if "html" in kind else value.strip()


def _body(entry: Mapping[str, Any]) -> str:
    """The summary, else the content, as plain text (feedparser copies Atom content to ``summary``)."""
    content = entry.get("content")
    if isinstance(entry.get("summary_detail"), dict):
        return _text(entry["summary_detail"], entry.get("summary"))
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return _text(content[0], content[0].get("value"))
    return html_to_text(entry["summary"]) if isinstance(entry.get("summary"), str) else ""


def _link(link: Any) -> str | None:
    """The entry's link; Google Alerts wraps the article's in ``google.com/url?url=...``: unwrap it."""
    if not isinstance(link, str) or not link:
        return None
    parts = urlsplit(link)
    if parts.hostname in ("www.google.com", "google.com") and parts.path == "/url":
        target = parse_qs(parts.query).get("url")
        if target:
            return target[0]
    return link


# -- dates and people --------------------------------------------------------


def _when(entry: Mapping[str, Any]) -> tuple[datetime | None, str | None]:
    """``published``, else ``updated``, in UTC; and the first value that could not be read, if any.

    feedparser's reading (a UTC ``struct_time``) is taken unless the value ends
    in a zone name, which feedparser takes for UTC when it does not know it;
    ``feed_date`` reads those and what feedparser left unread.
    """
    unreadable = None
    for key in ("published", "updated"):
        # dict.get: feedparser's own get maps a missing "updated" to "published", with a DeprecationWarning.
        value, moment = (
            dict.get(cast(dict[str, Any], entry), key),
            dict.get(cast(dict[str, Any], entry), f"{key}_parsed"),
        )
        words = value.split() if isinstance(value, str) else []
        if moment and not (words and words[-1].isalpha()):  # a zone name last: feedparser may not know it
            year, month, day, hour, minute, second = moment[:6]
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC), unreadable
        if isinstance(value, str) and value.strip():
            try:
                return feed_date(value), unreadable
            except ValueError:
                unreadable = unreadable or value
    return None, unreadable


_EMAIL = re.compile(r"(?:mailto:)?[^\s@<>()\[\],;:\"']+@[^\s@<>()\[\],;:\"']+\.[^\s@<>()\[\],;:\"']+", re.I)


def author_name(value: str) -> str | None:
    """The person an author string names: the human name if it has one, else the address.

    RSS writes ``email (Name)``, ``Name (mailto:email)``, ``Name <email>``, a
    plain name or a plain address. feedparser's own split cuts addresses whose
    domain ends in more than four letters (``jonas@insanity.industries``), so
    the string is read here. A name with a parenthesis of its own is kept whole.
    """
    text = " ".join(value.split())
    for pattern in (r"(.*?)\s*\(([^()]*)\)", r"(.*?)\s*<([^<>]*)>"):
        parts = re.fullmatch(pattern, text)
        if parts is None:
            continue
        outside, inside = (p.strip(" \"'") for p in parts.groups())
        if _EMAIL.fullmatch(inside):
            return outside or re.sub(r"(?i)^mailto:", "", inside)  # Name (email), Name <email>, <email>
        if _EMAIL.fullmatch(outside) and inside:
            return inside  # email (Name)
    return re.sub(r"(?i)^mailto:", "", text) or None


def _jsonable(value: Any) -> Any:
    """The entry as JSON: feedparser's ``*_parsed`` times repeat the strings beside them and are left out."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items() if not str(k).endswith("_parsed")}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def normalize(
    entry: Any, feed_url: str, language: str | None, fetched_at: datetime, feed_author: Any = None
) -> Mention:
    """One feedparser entry as a ``Mention``; raises on an entry that cannot be stored.

    ``created_at`` is the entry's published (else updated) time. An entry with
    neither, or with dates that cannot be read, gets ``fetched_at``, the time the
    feed was read (by then it was published), and ``"created_at_unknown": true``
    in its ``raw``; a date that cannot be read is logged as a warning. ``language``
    is the feed's, used when the entry has none; ``feed_author`` likewise (an Atom
    feed's author applies to entries without one).
    """
    key, text = _key_and_text(entry)
    author = entry.get("author_detail") or feed_author
    author = author if isinstance(author, dict) else {}
    name = entry.get("author") or author.get("name")  # the string as written: feedparser's split cuts names
    native_id = entry_id(key.strip(), feed_url)
    created_at, raw = _created(entry, feed_url, native_id, fetched_at)
    lang = _language(entry) or language
    return Mention(
        network="rss",
        native_id=native_id,
        text=text,
        created_at=created_at,
        url=_link(entry.get("link")),
        author_id=author.get("href") or None,
        author_name=author_name(name) if isinstance(name, str) else None,
        language=lang.lower() if isinstance(lang, str) else None,
        raw=raw,
    )


def _key_and_text(entry: Any) -> tuple[str, str]:
    """The entry's id (else link) and its title and body as text; raises on an entry that has neither."""
    if not isinstance(entry, dict):
        raise ValueError(f"an entry must be a mapping, not {type(entry).__name__}")
    key = entry.get("id") or entry.get("link")
    if not isinstance(key, str) or not key.strip():
        raise ValueError("entry has neither an id nor a link")
    title = _text(entry.get("title_detail"), entry.get("title"))
    text = "\n\n".join(part for part in (title, _body(entry)) if part)
    if not text:
        raise ValueError("entry has no title and no text")
    return key, text


def _language(entry: Mapping[str, Any]) -> Any:
    """The language the entry's title or summary declares, if any."""
    details = [d for k in ("title_detail", "summary_detail") if isinstance(d := entry.get(k), dict)]
    return next((d["language"] for d in details if d.get("language")), None)


def _created(
    entry: Mapping[str, Any], feed_url: str, native_id: str, fetched_at: datetime
) -> tuple[datetime, dict[str, Any]]:
    """The entry's time and its raw JSON, which says ``created_at_unknown`` when the fetch time stands in."""
    created_at, unreadable = _when(entry)
    raw = _jsonable(entry)
    if unreadable is not None:
        instead = (
            "its updated time is used" if created_at else "stored with the fetch time, created_at_unknown"
        )
        log.warning(
            "rss: %s: entry %s: cannot read the date %r; %s", feed_url, native_id, unreadable, instead
        )
    if created_at is None:
        return fetched_at, {**raw, "created_at_unknown": True}
    return created_at, raw


def normalize_feed(
    parsed: Any, feed_url: str, fetched_at: datetime, language: str | None = None
) -> tuple[list[Mention], list[Reject]]:
    """Every entry of a parsed feed: those that normalise, and the rest as rejects."""
    feed_language = parsed.feed.get("language") or language
    feed_author = (
        parsed.feed.get("author_detail") if str(parsed.get("version", "")).startswith("atom") else None
    )
    mentions: list[Mention] = []
    rejects: list[Reject] = []
    for entry in parsed.entries:
        try:
            mentions.append(normalize(entry, feed_url, feed_language, fetched_at, feed_author))
        except (KeyError, TypeError, ValueError) as exc:
            rejects.append(Reject("rss", str(exc), _jsonable(entry), None))
    return mentions, rejects


def discover(page: str, base: str) -> str | None:
    """The first ``<link rel="alternate">`` RSS or Atom feed a web page names, as an absolute URL."""
    soup = BeautifulSoup(page, "html.parser")
    for link in soup.find_all("link", href=True):
        rel: Any = link.get("rel") or []
        if "alternate" in rel and str(link.get("type", "")).lower() in _FEED_TYPES:
            return urljoin(base, str(link["href"]))
    return None


# -- collecting --------------------------------------------------------------


def _broken(parsed: Any) -> bool:
    """Whether feedparser met an XML error (not merely a wrong media type or encoding label)."""
    return bool(parsed.bozo) and isinstance(parsed.get("bozo_exception"), xml.sax.SAXException)


@dataclass
class _Read:
    """What reading one feed gave: new entries, broken ones, and the feed's next state."""

    mentions: list[Mention]
    rejects: list[Reject]
    state: dict[str, Any]


class RssCollector(Collector):
    """Each watch reads its feeds with conditional GETs; entries pass the watch's local matcher."""

    name: ClassVar[str] = "rss"
    Settings: ClassVar[type[NetworkSettings]] = Settings

    def __init__(
        self, settings: NetworkSettings, env: Mapping[str, str], context: Context | None = None
    ) -> None:
        super().__init__(settings, env, context)
        self.settings = cast(Settings, settings)

    def urls(self, watch: str) -> list[str]:
        """The watch's own feeds, then the shared ones, each once."""
        return list(dict.fromkeys([*self.settings.feeds.get(watch, ()), *self.settings.all_watches]))

    def fetch(self, source: Watch | Feed, cursor: Cursor | None, budget: int | None = None) -> Iterator[Page]:
        """A page per feed with what it has new for the watch, then the new cursor on a last, empty page."""
        if isinstance(source, Feed):
            return  # no has_feeds: the runner never asks; the feeds here are a watch's URLs
        watch, urls = source, self.urls(source.name)
        if not urls:
            return
        context, query = f"rss (watch {watch.name!r})", Query(watch.root)
        before: dict[str, Any] = (json.loads(cursor) if cursor else {}).get("feeds", {})
        after: dict[str, Any] = {}
        problems: list[FeedProblem] = []
        with httpx.Client(
            timeout=self.settings.timeout_seconds,
            follow_redirects=True,
            headers={"User-Agent": self.settings.user_agent, "Accept": ACCEPT},
            verify=tls(),
            transport=self.context.transport,
        ) as client:
            for url in urls:
                try:
                    read = self._read(client, context, url, before.get(url, {}))
                except FeedProblem as exc:
                    problems.append(exc)
                    if url in before:
                        after[url] = before[url]
                    continue
                after[url] = read.state
                yield Page(
                    "rss", watch.name, [m for m in read.mentions if query.matches(m)], None, read.rejects
                )
        yield Page("rss", watch.name, [], json.dumps({"feeds": after}))
        if problems:
            more = f" ({len(problems)} of {len(urls)} feeds failed)" if len(problems) > 1 else ""
            raise FeedProblem(f"{problems[0]}{more}")

    def _read(self, client: httpx.Client, context: str, url: str, state: Mapping[str, Any]) -> _Read:
        """One feed: a conditional GET, feed discovery if it is a web page, and the entries not seen before."""
        href = state.get("href") or url
        response, parsed = self._get(client, context, href, state)
        if response.status_code == 304:
            return _Read([], [], dict(state))
        if not parsed.entries and not parsed.version and "html" in response.headers.get("content-type", ""):
            found = discover(response.text, str(response.url))
            if found is None or found == href:
                raise FeedProblem(
                    f"{context}: {url} is a web page that names no feed; configure the feed's own address"
                )
            href = found
            response, parsed = self._get(client, context, href, {})
        if not parsed.version and not parsed.entries:
            raise FeedProblem(
                f"{context}: {href} is not an RSS or Atom feed; fix or remove it in [networks.rss]"
            )
        mentions, rejects = normalize_feed(
            parsed, href, self.clock(), response.headers.get("content-language")
        )
        seen = set(state.get("seen", []))
        new_state: dict[str, Any] = {"seen": list(dict.fromkeys(m.native_id for m in mentions))[:MAX_SEEN]}
        if href != url:
            new_state["href"] = href
        if not _broken(parsed):  # a cut-off document's validators would turn its full version into a 304
            for key, header in (("etag", "etag"), ("modified", "last-modified")):
                if response.headers.get(header):
                    new_state[key] = response.headers[header]
        return _Read([m for m in mentions if m.native_id not in seen], rejects, new_state)

    def _get(
        self, client: httpx.Client, context: str, url: str, state: Mapping[str, Any]
    ) -> tuple[httpx.Response, Any]:
        """The one choke point: a feed request and its parse, failures turned into ours, transient ones retried.

        A document that is not well-formed XML and yields no entry is transient
        (a cut-off transfer); one with entries is kept, as feedparser recovers them.
        """
        conditions = {}
        if state.get("etag"):
            conditions["If-None-Match"] = state["etag"]
        if state.get("modified"):
            conditions["If-Modified-Since"] = state["modified"]

        def once() -> tuple[httpx.Response, Any]:
            try:
                response = client.get(url, headers=conditions)
            except httpx.TimeoutException:
                raise SourceUnavailable(
                    f"{context}: {url} gave no answer within {self.settings.timeout_seconds:g}s; "
                    "raise timeout_seconds or retry later"
                ) from None
            except httpx.HTTPError as exc:
                raise SourceUnavailable(
                    f"{context}: cannot connect to {url} ({type(exc).__name__}); check the network or the URL"
                ) from None
            status = response.status_code
            if status == 429:
                reset = retry_after(response.headers, self.clock())
                raise RateLimited(
                    f"{context}: {url} rate limited us (429); waiting until {until(reset)}", reset
                )
            if status >= 500:
                raise SourceUnavailable(
                    f"{context}: {url} has a server error ({status}); the next run retries"
                )
            if status in (404, 410):
                raise FeedProblem(f"{context}: {url} is gone ({status}); fix or remove it in [networks.rss]")
            if status >= 400:
                raise FeedProblem(
                    f"{context}: {url} refused the request ({status} {response.reason_phrase}); "
                    "check the URL, or remove it in [networks.rss]"
                )
            if status == 304:
                return response, None
            # Content-Location makes relative links in the feed absolute against where it was fetched.
            received = {**dict(response.headers), "content-location": str(response.url)}
            parsed = feedparser.parse(response.content, response_headers=received)
            if _broken(parsed) and parsed.version and not parsed.entries:  # a web page has no version
                reason = " ".join(str(parsed.bozo_exception).split())
                raise MalformedPayload(
                    f"{context}: {url} is not well-formed XML ({reason}); the next run retries"
                )
            return response, parsed

        return retrying(
            once,
            attempts=self.settings.retry_attempts,
            backoff=self.settings.retry_backoff_seconds,
            sleep=self.sleep,
        )
