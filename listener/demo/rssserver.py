"""Local RSS 2.0 and Atom feeds with ETag, Last-Modified and 304s, like a blog or news site serves them.

Each feed is a path: one ending in ``.atom`` is served as Atom 1.0, any other as
RSS 2.0 (the shapes of the recorded feeds in ``shared/fixtures/rss``). A
document holds the newest ``window`` entries published by the server's clock,
as real feeds do. ``add_mention`` spreads posts over the feeds in turn, so a
few posts make a walk of several requests. Faults keep their meaning for a
document that is not JSON: ``malformed-json`` cuts the document before its
first entry (a dropped proxy), ``malformed-item`` strips an entry of its id and
link, and errors are HTML pages, a 429 with ``Retry-After``.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler
from typing import Self, cast
from xml.sax.saxutils import escape, quoteattr

from listener.demo.wire import Fault, Reply, Request, WireServer
from listener.records import utcnow

__all__ = ["RssServer"]

ATOM = "application/atom+xml; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
HTML = "text/html; charset=utf-8"


@dataclass(frozen=True, slots=True)
class _Entry:
    id: str
    link: str
    title: str
    html: str
    author: str
    published: datetime
    lang: str | None


def _html(text: str) -> str:
    return "".join(f"<p>{escape(p)}</p>" for p in text.split("\n\n"))


def _feed_handler(base: type[BaseHTTPRequestHandler]) -> type[BaseHTTPRequestHandler]:
    """The wire handler, except that a reply's own Content-Type replaces the default JSON one."""

    class Handler(base):  # type: ignore[valid-type,misc]
        def send_header(self, keyword: str, value: str) -> None:
            if keyword == "Content-Type" and value.startswith("application/json"):
                return  # every reply of this server names its type
            super().send_header(keyword, value)

    return Handler


class RssServer(WireServer):
    """Feeds at ``paths`` (``.atom`` for Atom, anything else RSS 2.0), served with validators."""

    def __init__(
        self,
        paths: Sequence[str] = ("/feed.xml",),
        clock: Callable[[], datetime] = utcnow,
        window: int = 20,
        language: str | None = None,
    ) -> None:
        super().__init__(clock)
        self.window = window
        self.language = language  # the channel's <language> / the feed's xml:lang
        self.entries: dict[str, list[_Entry]] = {path: [] for path in paths}
        self._turn = 0

    def start(self) -> Self:
        super().start()
        assert self._httpd is not None
        handler = cast(type[BaseHTTPRequestHandler], self._httpd.RequestHandlerClass)
        self._httpd.RequestHandlerClass = _feed_handler(handler)
        return self

    # -- content -------------------------------------------------------------

    def add_entry(
        self, path: str, author: str, when: datetime, *, title: str = "", text: str = "",
        lang: str | None = None, link: str | None = None,
    ) -> str:  # fmt: skip
        """An entry in the feed at ``path``; returns its id (a URI, as feeds give)."""
        number = sum(len(e) for e in self.entries.values()) + 1
        link = link or f"https://news.example/{path.strip('/').replace('/', '-')}/{number}"
        entry = _Entry(f"tag:news.example,2026:entry-{number}", link, title, _html(text) if text else "",
                       author, when, lang)  # fmt: skip
        self.entries[path].append(entry)
        return entry.id

    def add_mention(
        self, author: str, text: str, when: datetime, *, lang: str | None = None, reply_to: str | None = None
    ) -> str:
        """A post in the next feed in turn: an Atom entry titled ``text``, an RSS item with only a description.

        Feeds have no replies: ``reply_to`` is ignored. ``lang`` becomes the Atom
        entry's ``xml:lang``; RSS 2.0 has only the channel's ``<language>``.
        """
        paths = list(self.entries)
        path = paths[self._turn % len(paths)]
        self._turn += 1
        if path.endswith(".atom"):
            return self.add_entry(path, author, when, title=text, lang=lang)
        return self.add_entry(path, author, when, text=text, lang=lang)

    # -- documents -----------------------------------------------------------

    def _visible(self, path: str) -> list[_Entry]:
        now = self.clock()
        shown = [e for e in self.entries[path] if e.published <= now]
        return sorted(shown, key=lambda e: e.published, reverse=True)[: self.window]

    def _atom(self, path: str, entries: list[_Entry], updated: datetime) -> bytes:
        lang = f" xml:lang={quoteattr(self.language)}" if self.language else ""
        parts = [f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"{lang}>',
                 f"<title>Demo feed {escape(path)}</title><link href=\"{self.url}{path}\" rel=\"self\"/>",
                 f"<id>{escape(self.url + path)}</id><updated>{updated.isoformat()}</updated>"]  # fmt: skip
        for e in entries:
            elang = f" xml:lang={quoteattr(e.lang)}" if e.lang else ""
            parts.append(
                f"<entry{elang}><title>{escape(e.title)}</title>"
                f'<link href={quoteattr(e.link)} rel="alternate"/><id>{escape(e.id)}</id>'
                f"<published>{e.published.isoformat()}</published><updated>{e.published.isoformat()}</updated>"
                f"<author><name>{escape(e.author)}</name></author>"
                + (f'<summary type="html">{escape(e.html)}</summary>' if e.html else "")
                + "</entry>"
            )
        parts.append("</feed>")
        return "".join(parts).encode()

    def _rss(self, path: str, entries: list[_Entry], updated: datetime) -> bytes:
        parts = ['<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
                 'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>',
                 f"<title>Demo feed {escape(path)}</title><link>{escape(self.url)}/</link><description/>",
                 f"<language>{escape(self.language)}</language>" if self.language else "",
                 f"<lastBuildDate>{format_datetime(updated)}</lastBuildDate>"]  # fmt: skip
        for e in entries:
            parts.append(
                "<item>"
                + (f"<title>{escape(e.title)}</title>" if e.title else "")
                + f'<link>{escape(e.link)}</link><guid isPermaLink="false">{escape(e.id)}</guid>'
                f"<pubDate>{format_datetime(e.published)}</pubDate><dc:creator>{escape(e.author)}</dc:creator>"
                + (f"<description>{escape(e.html)}</description>" if e.html else "")
                + "</item>"
            )
        parts.append("</channel></rss>")
        return "".join(parts).encode()

    # -- wire ----------------------------------------------------------------

    def route(self, request: Request) -> Reply:
        if request.path not in self.entries:
            return Reply(404, b"<h1>404 Not Found</h1>", {"Content-Type": HTML})
        entries = self._visible(request.path)
        updated = entries[0].published if entries else datetime(2026, 1, 1, tzinfo=self.clock().tzinfo)
        atom = request.path.endswith(".atom")
        body = (self._atom if atom else self._rss)(request.path, entries, updated)
        etag = '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest()[:16] + '"'
        modified = format_datetime(updated.replace(microsecond=0), usegmt=True)
        validators = {"ETag": etag, "Last-Modified": modified}
        asked_etag, asked_since = (
            request.headers.get("If-None-Match"),
            request.headers.get("If-Modified-Since"),
        )
        if asked_etag is not None:
            unchanged = etag in [t.strip() for t in asked_etag.split(",")]
        else:
            unchanged = asked_since is not None and parsedate_to_datetime(asked_since) >= updated.replace(
                microsecond=0
            )
        if unchanged:
            return Reply(304, b"", validators)
        return Reply(200, body, {"Content-Type": ATOM if atom else RSS, **validators})

    def error_reply(self, status: int, fault: Fault) -> Reply:
        reasons = {401: "Unauthorized", 403: "Forbidden", 429: "Too Many Requests", 500: "Internal Server Error",
                   503: "Service Unavailable"}  # fmt: skip
        headers = {"Content-Type": HTML}
        if status == 429:
            headers["Retry-After"] = str(int(fault.seconds))
        return Reply(status, f"<h1>{status} {reasons[status]}</h1>".encode(), headers)

    def dispatch(self, request: Request) -> Reply | None:
        """``WireServer.dispatch`` for XML bodies: the two malformed faults act on the document's bytes."""
        with self.lock:
            self.requests.append(request)
        fault = self._take_fault(request.path)
        kind = fault.kind if fault is not None else None
        if kind == "drop":
            return None
        if kind == "slow" and fault is not None:
            time.sleep(fault.seconds)
        if kind in ("429", "401", "403", "500", "503") and fault is not None:
            return self.error_reply(int(kind), fault)
        with self.lock:
            reply = self.route(request)
        if reply.status == 200 and isinstance(reply.body, bytes):
            if kind == "malformed-item":
                reply.body = _strip_first_entry(reply.body)
            if kind == "malformed-json":
                first = min((i for i in (reply.body.find(b"<item"), reply.body.find(b"<entry")) if i >= 0),
                            default=len(reply.body) // 2)  # fmt: skip
                reply.body = reply.body[:first]
        return reply


def _strip_first_entry(body: bytes) -> bytes:
    """Remove the id (guid) and link of the first entry: it can no longer be told apart or linked to."""
    text = body.decode()
    match = re.search(r"<(item|entry)\b.*?</\1>", text, re.S)
    if match is None:
        return body
    entry = re.sub(
        r"<(guid|id)\b[^>]*>.*?</\1>|<link\b[^>]*/>|<link>.*?</link>", "", match.group(0), flags=re.S
    )
    return (text[: match.start()] + entry + text[match.end() :]).encode()
