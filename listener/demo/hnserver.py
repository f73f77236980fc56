"""A local Hacker News Algolia API: ``/api/v1/search_by_date`` and ``/api/v1/search``, in the real wire format.

Replies have the shape of the recordings in ``shared/fixtures/hn_algolia`` (``hits``,
``nbHits``, ``page``, ``nbPages``, ``hitsPerPage``, ``processingTimeMS``,
``query``, ``params``) plus what today's API adds (``exhaustive``,
``serverTimeMS``, ``updated_at``, ``children``). Matching is Algolia's in
outline: every query word must be in the item, the last one as a prefix;
``tags`` is a comma-separated AND of tags or parenthesised ORs, and
``numericFilters`` compares ``created_at_i``. Like Algolia, the server serves at
most 1,000 hits per query and answers 429 past 10,000 requests an hour, with no
header saying when to come back.
"""

from __future__ import annotations

import copy
import html
import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from listener.demo.wire import Fault, Reply, Request, WireServer
from listener.query import tokens
from listener.records import utcnow

__all__ = ["HackerNewsServer"]

_WINDOW = timedelta(hours=1)
_HIT_LIMIT = 1000  # Algolia's paginationLimitedTo on the HN index
_TAG = re.compile(r"\([^)]*\)|[^,]+")
_NUMERIC = re.compile(r"^\s*(\w+)\s*(>=|<=|=|>|<)\s*(-?\d+)\s*$")
_COMPARE: dict[str, Callable[[int, int], bool]] = {
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, "=": lambda a, b: a == b,
}  # fmt: skip


def _as_html(text: str) -> str:
    """How HN stores what a user typed: entities escaped, paragraphs as ``<p>``."""
    return "<p>".join(html.escape(p) for p in text.split("\n\n"))


class HackerNewsServer(WireServer):
    """Serves scripted stories and comments, newest first, as hn.algolia.com would."""

    def __init__(self, clock: Callable[[], datetime] = utcnow, rate_limit: int = 10_000) -> None:
        super().__init__(clock)
        self.rate_limit = rate_limit
        self.items: dict[str, dict[str, Any]] = {}
        self._next_id = 40_000_000
        self._window: tuple[datetime, int] | None = None

    # -- content -------------------------------------------------------------

    def _item(self, kind: str, author: str, when: datetime, **fields: Any) -> dict[str, Any]:
        self._next_id += 1
        object_id = str(self._next_id)
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        item: dict[str, Any] = {
            "author": author, "children": [], "created_at": stamp, "created_at_i": int(when.timestamp()),
            "num_comments": None, "objectID": object_id, "points": None, "story_id": None,
            "updated_at": stamp, "title": None, "url": None, "story_text": None, "comment_text": None,
            "parent_id": None, "story_title": None, "story_url": None, **fields,
        }  # fmt: skip
        story_id = item["story_id"] or int(object_id)
        item["story_id"] = story_id
        item["_tags"] = [kind, f"author_{author}", f"story_{story_id}"]
        self.items[object_id] = item
        return item

    def add_story(
        self, author: str, title: str, when: datetime, *, text: str | None = None, url: str | None = None,
        points: int = 1,
    ) -> str:  # fmt: skip
        """A story: a link (``url``) or an Ask HN-style text post (``text``)."""
        item = self._item("story", author, when, title=title, url=url, points=points, num_comments=0,
                          story_text=_as_html(text) if text else None)  # fmt: skip
        return str(item["objectID"])

    def add_comment(self, author: str, text: str, when: datetime, parent: str) -> str:
        """A comment replying to ``parent`` (a story or another comment)."""
        above = self.items[parent]
        story = self.items[str(above["story_id"])]
        item = self._item(
            "comment", author, when, comment_text=_as_html(text), parent_id=int(parent),
            story_id=int(story["objectID"]), story_title=story["title"], story_url=story["url"],
        )  # fmt: skip
        above["children"].append(int(item["objectID"]))
        story["num_comments"] = (story["num_comments"] or 0) + 1
        return str(item["objectID"])

    def add_mention(
        self, author: str, text: str, when: datetime, *, lang: str | None = None, reply_to: str | None = None
    ) -> str:
        """A comment under ``reply_to``, else a story titled ``text``; HN records no language."""
        if reply_to is not None:
            return self.add_comment(author, text, when, reply_to)
        return self.add_story(author, text, when)

    # -- wire ----------------------------------------------------------------

    def error_reply(self, status: int, fault: Fault) -> Reply:
        messages = {401: "Invalid Application-ID or API key", 403: "Method not allowed with this API key",
                    429: "Too many requests", 500: "Internal Server Error", 503: "Service Unavailable"}  # fmt: skip
        return Reply(status, {"message": messages.get(status, "Error"), "status": status})

    def corrupt(self, body: Any) -> None:
        if isinstance(body, dict) and body.get("hits"):
            hit = body["hits"][0]
            del hit["created_at_i"], hit["created_at"]

    def _spend(self) -> bool:
        """Count a request against the hourly window; ``False`` once it is used up."""
        now = self.clock()
        if self._window is None or now >= self._window[0] + _WINDOW:
            self._window = (now, 0)
        start, used = self._window
        self._window = (start, used + 1)
        return used < self.rate_limit

    def route(self, request: Request) -> Reply:
        if not self._spend():
            return self.error_reply(429, Fault("429"))
        path = request.path.rstrip("/")
        if path in ("/api/v1/search_by_date", "/api/v1/search"):
            return self._search(request.params)
        if match := re.fullmatch(r"/api/v1/items/(\d+)", path):
            item = self.items.get(match.group(1))
            if item is not None:
                return Reply(200, copy.deepcopy(item))
        return Reply(404, {"message": "Not Found", "status": 404})

    def _search(self, params: Mapping[str, str]) -> Reply:
        try:
            per_page = int(params.get("hitsPerPage", "20"))
            page = int(params.get("page", "0"))
            numeric = [_NUMERIC.match(f) for f in params.get("numericFilters", "").split(",") if f.strip()]
            if not all(numeric) or not 0 <= per_page <= 1000 or page < 0:
                raise ValueError
        except ValueError:
            return Reply(400, {"message": "Invalid parameters", "status": 400})
        now = int(self.clock().timestamp())
        words = tokens(params.get("query", ""))
        found = [
            i for i in self.items.values()
            if i["created_at_i"] <= now
            and self._tagged(i, params.get("tags", ""))
            and all(_COMPARE[m[2]](int(i.get(m[1]) or 0), int(m[3])) for m in numeric if m)
            and self._has_words(i, words)
        ]  # fmt: skip
        found.sort(key=lambda i: (i["created_at_i"], int(i["objectID"])), reverse=True)
        reachable = found[:_HIT_LIMIT]
        pages = math.ceil(len(reachable) / per_page) if per_page else 0
        hits = [self._hit(i, words) for i in reachable[page * per_page : (page + 1) * per_page]]
        query = params.get("query", "")
        return Reply(200, {
            "exhaustive": {"nbHits": True, "typo": True}, "exhaustiveNbHits": True, "exhaustiveTypo": True,
            "hits": hits, "hitsPerPage": per_page, "nbHits": len(found), "nbPages": pages, "page": page,
            "params": urlencode({"advancedSyntax": "true", "analytics": "false", **params}),
            "processingTimeMS": 1, "query": query, "serverTimeMS": 2,
        })  # fmt: skip

    @staticmethod
    def _tagged(item: dict[str, Any], tags: str) -> bool:
        """Algolia's tag filter: commas AND, a parenthesised group ORs."""
        for group in _TAG.findall(tags):
            wanted = group.strip("()").split(",")
            if not any(t.strip() in item["_tags"] for t in wanted if t.strip()):
                return False
        return True

    @staticmethod
    def _has_words(item: dict[str, Any], words: list[str]) -> bool:
        if not words:
            return True
        fields = (item["title"], item["story_text"], item["comment_text"], item["author"], item["url"])
        have = tokens(" ".join(html.unescape(f) for f in fields if f))
        *whole, last = words
        return all(w in have for w in whole) and any(t.startswith(last) for t in have)

    @staticmethod
    def _hit(item: dict[str, Any], words: list[str]) -> dict[str, Any]:
        hit = copy.deepcopy(item)
        hit["_highlightResult"] = {
            key: {"value": hit[key], "matchLevel": "full" if words else "none", "matchedWords": words}
            for key in ("author", "title", "story_text", "comment_text", "url")
            if hit.get(key)
        }
        return hit
