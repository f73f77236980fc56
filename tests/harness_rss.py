"""The RSS collector's harness for the shared fault scenarios (keyless).

A feed is one document, so the "pages" of a walk are feeds: the watch reads its
own Atom feed, then two RSS feeds shared by every watch, and ``add_mention``
puts posts in each in turn, so five posts span three requests (2, 2, 1).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from collectors import rss
from listener.demo.rssserver import RssServer
from tests.harness import Harness

PATHS = ("/feeds/brand.atom", "/feeds/news.rss", "/feeds/blog.rss")


def make(clock: Callable[[], datetime]) -> Harness:
    server = RssServer(PATHS, clock=clock, language="it").start()
    own, *shared = (server.url + path for path in PATHS)
    settings = rss.Settings(feeds={"brand": (own,)}, all_watches=tuple(shared), retry_backoff_seconds=0)
    return Harness("rss", server, settings, "/feeds/", page_size=2)
