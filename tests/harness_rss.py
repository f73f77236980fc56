"""The RSS collector's harness for the shared fault scenarios (keyless).

A feed is one document, so the "pages" of a walk are feeds: the watch reads its
own Atom feed, then two RSS feeds shared by every watch, and ``add_mention``
puts posts in each in turn, so five posts span three requests (2, 2, 1).
``VerbatimFeeds`` serves items with dates and authors written as real feeds do.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from xml.sax.saxutils import escape

from collectors import rss
from listener.demo.rssserver import RssServer
from listener.demo.wire import Reply, Request
from tests.harness import Harness

PATHS = ("/feeds/brand.atom", "/feeds/news.rss", "/feeds/blog.rss")


def make(clock: Callable[[], datetime]) -> Harness:
    server = RssServer(PATHS, clock=clock, language="it").start()
    own, *shared = (server.url + path for path in PATHS)
    settings = rss.Settings(feeds={"brand": (own,)}, all_watches=tuple(shared), retry_backoff_seconds=0)
    return Harness("rss", server, settings, "/feeds/", page_size=2)


class VerbatimFeeds(RssServer):
    """The local feed server, serving RSS 2.0 items whose date and author are written verbatim.

    Real feeds write dates in their own language and authors in several shapes;
    ``add_item`` puts such strings in a document as they are, escaped for XML only.
    """

    def __init__(self, clock: Callable[[], datetime], language: str | None = None) -> None:
        super().__init__((), clock=clock, language=language)
        self.items: dict[str, list[str]] = {}

    def add_item(
        self, path: str, text: str, *, date: str | None = None, author: str | None = None,
        element: str = "author",
    ) -> str:  # fmt: skip
        """An item in the feed at ``path`` with ``<pubDate>date</pubDate>`` and ``<element>author</element>``."""
        items = self.items.setdefault(path, [])
        guid = f"tag:news.example,2026:verbatim-{path.strip('/')}-{len(items) + 1}"
        items.append(
            f"<item><title>{escape(text)}</title><guid>{escape(guid)}</guid>"
            + (f"<pubDate>{escape(date)}</pubDate>" if date is not None else "")
            + (f"<{element}>{escape(author)}</{element}>" if author is not None else "")
            + "</item>"
        )
        return guid

    def route(self, request: Request) -> Reply:
        if request.path not in self.items:
            return Reply(404, b"<h1>404 Not Found</h1>", {"Content-Type": "text/html"})
        lang = f"<language>{escape(self.language)}</language>" if self.language else ""
        body = (
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
            f"<title>Notizie {escape(request.path)}</title><link>{escape(self.url)}/</link>"
            f"<description/>{lang}{''.join(self.items[request.path])}</channel></rss>"
        )
        return Reply(200, body.encode(), {"Content-Type": "application/rss+xml; charset=utf-8"})
