"""A local Reddit server: the OAuth token endpoint and the listings praw reads, in the real wire format.

The shapes follow the recorded responses in ``shared/fixtures/praw``: a
``Listing`` with ``after``/``before``/``dist``/``children`` of ``t1``
(comments) and ``t3`` (submissions), the token endpoint's JSON, and the
``x-ratelimit-*`` headers (remaining, used, seconds to reset). Search queries
(Reddit's lucene syntax) are evaluated with listener's own matcher.
"""

from __future__ import annotations

import base64
import copy
import re
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from listener.demo.wire import Fault, Reply, Request, WireServer
from listener.errors import QueryError
from listener.query import Query
from listener.records import utcnow

__all__ = ["RedditServer"]

_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = _B36[rest] + digits
        if not number:
            return digits


@dataclass(frozen=True, slots=True)
class _View:
    network: str
    text: str
    author_handle: str | None
    language: str | None
    url: str | None


class RedditServer(WireServer):
    """Serves scripted submissions and comments to an app with a client id and secret."""

    def __init__(
        self,
        client_id: str = "demo-client-id",
        client_secret: str = "demo-client-secret",  # noqa: S107 (the demo's own credentials)
        username: str | None = None,
        password: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        rate_limit: int = 100_000,
        window_seconds: int = 600,
    ) -> None:
        super().__init__(clock)
        self.client_id, self.client_secret = client_id, client_secret
        self.username, self.password = username, password
        self.rate_limit = rate_limit
        self.window = timedelta(seconds=window_seconds)  # Reddit's is 10 minutes
        self.things: dict[str, dict[str, Any]] = {}  # fullname -> {"kind", "data"}
        self.tokens: dict[str, str | None] = {}  # access token -> username (None: app only)
        self._next_id = 36**5
        self._window: tuple[datetime, int] | None = None
        self._scopes: dict[tuple[str, str, str | None, int], list[dict[str, Any]]] = {}

    # -- content -------------------------------------------------------------

    def add_mention(
        self, author: str, text: str, when: datetime, *, lang: str | None = None, reply_to: str | None = None
    ) -> str:
        """A submission in r/italy that search finds, or a comment under ``reply_to`` (a fullname)."""
        if reply_to is not None:
            return self.add_comment(reply_to, author, text, when)
        return self.add_submission("italy", author, text, when)

    def add_submission(
        self,
        subreddit: str,
        author: str,
        title: str,
        created_at: datetime,
        selftext: str = "",
        score: int = 1,
    ) -> str:
        self._next_id += 1
        short = _base36(self._next_id)
        slug = re.sub(r"\W+", "_", title.lower()).strip("_")[:40] or "_"
        data: dict[str, Any] = {
            "id": short, "name": f"t3_{short}", "title": title, "selftext": selftext, "author": author,
            "author_fullname": f"t2_{_base36(zlib.crc32(author.encode()))}", "subreddit": subreddit,
            "subreddit_name_prefixed": f"r/{subreddit}", "created_utc": created_at.timestamp(),
            "permalink": f"/r/{subreddit}/comments/{short}/{slug}/",
            "url": f"https://www.reddit.com/r/{subreddit}/comments/{short}/{slug}/",
            "domain": f"self.{subreddit}", "is_self": True, "score": score, "num_comments": 0, "over_18": False,
        }  # fmt: skip
        self.things[data["name"]] = {"kind": "t3", "data": data}
        return str(data["name"])

    def add_comment(self, parent: str, author: str, body: str, created_at: datetime, score: int = 1) -> str:
        """A comment under ``parent`` (a submission's or a comment's fullname)."""
        self._next_id += 1
        short = _base36(self._next_id)
        parent_data = self.things[parent]["data"]
        link = parent if parent.startswith("t3_") else parent_data["link_id"]
        submission = self.things[link]["data"]
        submission["num_comments"] += 1
        data: dict[str, Any] = {
            "id": short, "name": f"t1_{short}", "body": body, "author": author,
            "author_fullname": f"t2_{_base36(zlib.crc32(author.encode()))}", "subreddit": submission["subreddit"],
            "subreddit_name_prefixed": f"r/{submission['subreddit']}", "link_id": link, "parent_id": parent,
            "link_title": submission["title"], "created_utc": created_at.timestamp(), "score": score,
            "permalink": f"{submission['permalink']}{short}/", "replies": "", "edited": False,
        }  # fmt: skip
        self.things[data["name"]] = {"kind": "t1", "data": data}
        return str(data["name"])

    # -- wire ----------------------------------------------------------------

    def _rate_headers(self, spend: bool) -> dict[str, str]:
        now = self.clock()
        if self._window is None or now >= self._window[0] + self.window:
            self._window = (now, self.rate_limit)
        start, remaining = self._window
        if spend:
            remaining = max(0, remaining - 1)
            self._window = (start, remaining)
        reset = max(1, int((start + self.window - now).total_seconds()))
        used = self.rate_limit - remaining
        return {"x-ratelimit-remaining": f"{remaining}.0", "x-ratelimit-used": str(used),
                "x-ratelimit-reset": str(reset)}  # fmt: skip

    def error_reply(self, status: int, fault: Fault) -> Reply:
        headers = self._rate_headers(spend=False)
        if status == 429:
            headers.update({"x-ratelimit-remaining": "0.0", "x-ratelimit-reset": str(int(fault.seconds))})
        return Reply(status, {"message": {401: "Unauthorized", 403: "Forbidden", 429: "Too Many Requests"}.get(
            status, "Internal Server Error"), "error": status}, headers)  # fmt: skip

    def corrupt(self, body: Any) -> None:
        children = body.get("data", {}).get("children") if isinstance(body, dict) else None
        if children:
            del children[0]["data"]["created_utc"]

    def route(self, request: Request) -> Reply:
        if request.path == "/api/v1/access_token":
            return self._token(request)
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("bearer ") or auth[7:] not in self.tokens:
            return Reply(401, {"message": "Unauthorized", "error": 401})
        user = self.tokens[auth[7:]]
        self._rate_headers(spend=False)
        if self._window is not None and self._window[1] <= 0:
            left = (self._window[0] + self.window - self.clock()).total_seconds()
            return self.error_reply(429, Fault("429", seconds=left))
        headers = self._rate_headers(spend=True)
        path, params = request.path.rstrip("/"), request.params
        if match := re.fullmatch(r"/r/([\w+]+)/(search|comments|new)", path):
            q = params.get("q", "") if match.group(2) == "search" else None
            try:
                in_scope = self._scope(match.group(1), match.group(2), q)
            except QueryError as exc:
                return Reply(400, {"message": f"Bad Request: {exc}", "error": 400}, headers)
            return self._listing(in_scope, params, headers)
        if path == "/message/mentions":
            if user is None:
                return Reply(403, {"message": "Forbidden", "error": 403}, headers)
            handle = f"u/{user}".lower()
            found = [self._as_mention(t, user) for t in self.things.values()
                     if t["kind"] == "t1" and handle in t["data"]["body"].lower()]  # fmt: skip
            return self._listing(found, params, headers)
        return Reply(404, {"message": "Not Found", "error": 404}, headers)

    def _token(self, request: Request) -> Reply:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return Reply(401, {"message": "Unauthorized", "error": 401})
        form = {k: v[-1] for k, v in parse_qs(request.body).items()}
        user: str | None = None
        if form.get("grant_type") == "password":
            if form.get("username") != self.username or form.get("password") != self.password:
                return Reply(200, {"error": "invalid_grant"})
            user = self.username
        token = f"demo-access-{len(self.tokens) + 1}"
        self.tokens[token] = user
        return Reply(200, {"access_token": token, "token_type": "bearer", "expires_in": 86400, "scope": "*"})

    def _view(self, thing: dict[str, Any]) -> _View:
        data = thing["data"]
        text = data.get("body") or f"{data.get('title', '')}\n\n{data.get('selftext', '')}"
        return _View("reddit", text, data["author"], None, data.get("url"))

    def _as_mention(self, thing: dict[str, Any], user: str) -> dict[str, Any]:
        data = dict(thing["data"])
        data.update({"type": "username_mention", "was_comment": True, "subject": "username mention", "new": True,
                     "dest": user, "context": f"{data['permalink']}?context=3"})  # fmt: skip
        return {"kind": "t1", "data": data}

    def _scope(self, subreddits: str, what: str, q: str | None) -> list[dict[str, Any]]:
        """What a listing walks over, newest first; remembered while nothing is added."""
        key = (subreddits.lower(), what, q, len(self.things))
        if key not in self._scopes:
            subs, kind = subreddits.lower().split("+"), "t1" if what == "comments" else "t3"
            query = Query.parse(q) if q is not None else None
            found = [t for t in self.things.values() if t["kind"] == kind
                     and ("all" in subs or t["data"]["subreddit"].lower() in subs)
                     and (query is None or query.matches(self._view(t)))]  # fmt: skip
            self._scopes = {key: found}
        return self._scopes[key]

    def _listing(
        self, things: Iterable[dict[str, Any]], params: Mapping[str, str], headers: dict[str, str]
    ) -> Reply:
        now = self.clock().timestamp()
        items = sorted((t for t in things if t["data"]["created_utc"] <= now),
                       key=lambda t: (t["data"]["created_utc"], t["data"]["name"]), reverse=True)  # fmt: skip
        after = params.get("after")
        if after:
            names = [t["data"]["name"] for t in items]
            items = items[names.index(after) + 1 :] if after in names else []
        limit = max(1, min(100, int(params.get("limit", "25"))))
        page, more = [copy.deepcopy(t) for t in items[:limit]], len(items) > limit
        data = {"after": page[-1]["data"]["name"] if more else None, "before": None, "dist": len(page),
                "modhash": None, "geo_filter": "", "children": page}  # fmt: skip
        return Reply(200, {"kind": "Listing", "data": data}, headers)
