"""A local X API v2 server: recent search, user mentions and user lookup, in the real wire format.

The shapes follow the recorded responses in ``shared/fixtures/tweepy`` (``data``,
``meta.newest_id/oldest_id/result_count/next_token``, ``x-rate-limit-*``
headers) plus the ``includes`` that expansions add. Queries in X syntax are
evaluated with listener's own matcher after renaming ``from:`` and ``url:``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from listener.demo.wire import Fault, Reply, Request, WireServer
from listener.errors import QueryError
from listener.query import Query
from listener.records import utcnow

__all__ = ["XServer", "snowflake"]

_EPOCH_MS = 1288834974657
_MENTION = re.compile(r"@(\w+)")
_WINDOW = timedelta(minutes=15)


def snowflake(moment: datetime, sequence: int) -> str:
    """An X id for a post created at ``moment`` (ids sort by time, like the real ones)."""
    return str(((int(moment.timestamp() * 1000) - _EPOCH_MS) << 22) | (sequence & 0x3FFFFF))


@dataclass(frozen=True, slots=True)
class _View:
    """What the query matcher reads of a stored post."""

    network: str
    text: str
    author_handle: str | None
    language: str | None
    url: str | None


def _problem(status: int, title: str, detail: str) -> dict[str, Any]:
    return {"title": title, "detail": detail, "type": "about:blank", "status": status}


class XServer(WireServer):
    """Serves scripted posts to a bearer-token client, as api.twitter.com would."""

    def __init__(
        self,
        token: str = "demo-x-token",  # noqa: S107 (the demo's own credentials)
        clock: Callable[[], datetime] = utcnow,
        rate_limit: int = 450,
    ):
        super().__init__(clock)
        self.token = token
        self.rate_limit = rate_limit
        self.users: dict[str, dict[str, Any]] = {}
        self.posts: dict[str, dict[str, Any]] = {}
        self.forget_since_id = False  # answer as if since_id were absent: overlapping runs
        self._sequence = 0
        self._window: tuple[datetime, int] | None = None
        self._matches: dict[tuple[str, int], list[dict[str, Any]]] = {}

    # -- content -------------------------------------------------------------

    def add_user(self, username: str, name: str | None = None) -> str:
        for user in self.users.values():
            if user["username"].lower() == username.lower():
                return str(user["id"])
        user_id = str(10_000 + len(self.users))
        self.users[user_id] = {"id": user_id, "username": username, "name": name or username}
        return user_id

    def add_mention(
        self, author: str, text: str, when: datetime, *, lang: str | None = None, reply_to: str | None = None
    ) -> str:
        """A post that recent search finds (the contract every demo server keeps)."""
        return self.add_post(author, text, when, lang=lang, reply_to=reply_to)

    def add_post(
        self,
        username: str,
        text: str,
        created_at: datetime,
        lang: str | None = None,
        reply_to: str | None = None,
        quote_of: str | None = None,
        likes: int = 0,
        link: str | None = None,
    ) -> str:
        self._sequence += 1
        post_id = snowflake(created_at, self._sequence)
        author_id = self.add_user(username)
        post: dict[str, Any] = {
            "id": post_id,
            "text": text,
            "created_at": created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "author_id": author_id,
            "conversation_id": post_id,
            "lang": lang or "und",
            "edit_history_tweet_ids": [post_id],
            "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": likes, "quote_count": 0,
                               "bookmark_count": 0, "impression_count": 10 * likes + 7},
        }  # fmt: skip
        refs = []
        if reply_to is not None:
            parent = self.posts[reply_to]
            refs.append({"type": "replied_to", "id": reply_to})
            post["in_reply_to_user_id"] = parent["author_id"]
            post["conversation_id"] = parent["conversation_id"]
            parent["public_metrics"]["reply_count"] += 1
        if quote_of is not None:
            refs.append({"type": "quoted", "id": quote_of})
            self.posts[quote_of]["public_metrics"]["quote_count"] += 1
        if refs:
            post["referenced_tweets"] = refs
        mentions = [
            {"start": m.start(), "end": m.end(), "username": m.group(1)} for m in _MENTION.finditer(text)
        ]
        urls = [{"start": 0, "end": 23, "url": "https://t.co/demo", "expanded_url": link}] if link else []
        if mentions or urls:
            post["entities"] = {k: v for k, v in (("mentions", mentions), ("urls", urls)) if v}
        self.posts[post_id] = post
        return post_id

    # -- wire ----------------------------------------------------------------

    def _rate_headers(self, spend: bool) -> dict[str, str]:
        now = self.clock()
        if self._window is None or now >= self._window[0] + _WINDOW:
            self._window = (now, self.rate_limit)
        start, remaining = self._window
        if spend:
            remaining = max(0, remaining - 1)
            self._window = (start, remaining)
        reset = int((start + _WINDOW).timestamp())
        return {"x-rate-limit-limit": str(self.rate_limit), "x-rate-limit-remaining": str(remaining),
                "x-rate-limit-reset": str(reset), "api-version": "2.140"}  # fmt: skip

    def error_reply(self, status: int, fault: Fault) -> Reply:
        titles = {401: "Unauthorized", 403: "Forbidden", 429: "Too Many Requests", 500: "Internal Server Error",
                  503: "Service Unavailable"}  # fmt: skip
        headers = self._rate_headers(spend=False)
        if status == 429:
            headers["x-rate-limit-remaining"] = "0"
            headers["x-rate-limit-reset"] = str(
                int((self.clock() + timedelta(seconds=fault.seconds)).timestamp())
            )
        return Reply(status, _problem(status, titles[status], titles[status]), headers)

    def corrupt(self, body: Any) -> None:
        if isinstance(body, dict) and body.get("data"):
            del body["data"][0]["text"]

    def route(self, request: Request) -> Reply:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return Reply(401, _problem(401, "Unauthorized", "Unauthorized"))
        self._rate_headers(spend=False)  # opens a new window when the old one is over
        if self._window is not None and self._window[1] <= 0:
            left = (self._window[0] + _WINDOW - self.clock()).total_seconds()
            return self.error_reply(429, Fault("429", seconds=left))
        headers = self._rate_headers(spend=True)
        path, params = request.path.rstrip("/"), request.params
        if path == "/2/tweets/search/recent":
            try:
                query = Query.parse(
                    re.sub(r"\burl:", "site:", re.sub(r"\bfrom:", "author:", params.get("query", "")))
                )
            except QueryError as exc:
                return Reply(400, {"errors": [{"message": f"Invalid query: {exc}"}], "title": "Invalid Request",
                                   "detail": "One or more parameters to your request was invalid.",
                                   "type": "https://api.twitter.com/2/problems/invalid-request"}, headers)  # fmt: skip
            found = self._matching(query)
            return self._page(found, params, "next_token", headers)
        if match := re.fullmatch(r"/2/users/(\d+)/mentions", path):
            user = self.users.get(match.group(1))
            if user is None:
                return Reply(404, {"errors": [{"message": "Could not find user", "value": match.group(1)}]})
            handle = "@" + user["username"].lower()
            found = [p for p in self.posts.values() if handle in p["text"].lower()]
            return self._page(found, params, "pagination_token", headers)
        if match := re.fullmatch(r"/2/users/(\d+)/tweets", path):
            if match.group(1) not in self.users:
                return Reply(404, {"errors": [{"message": "Could not find user", "value": match.group(1)}]})
            found = [p for p in self.posts.values() if p["author_id"] == match.group(1)]
            return self._page(found, params, "pagination_token", headers)
        if path == "/2/users/by":
            wanted = [u.lower() for u in params.get("usernames", "").split(",") if u]
            data = [copy.deepcopy(u) for u in self.users.values() if u["username"].lower() in wanted]
            return Reply(200, {"data": data} if data else {"errors": [{"value": wanted, "title": "Not Found Error"}]},
                         headers)  # fmt: skip
        return Reply(404, {"errors": [{"message": "Sorry, that page does not exist", "code": 34}]}, headers)

    def _matching(self, query: Query) -> list[dict[str, Any]]:
        """Posts matching ``query``, remembered while no post is added (a walk asks the same query often)."""
        key = (str(query), len(self.posts))
        if key not in self._matches:
            self._matches = {key: [p for p in self.posts.values() if query.matches(self._view(p))]}
        return self._matches[key]

    def _view(self, post: dict[str, Any]) -> _View:
        author = self.users[post["author_id"]]
        urls = post.get("entities", {}).get("urls", [])
        return _View(
            "x", post["text"], author["username"], post.get("lang"), urls[0]["expanded_url"] if urls else None
        )

    def _page(self, found: Iterable[dict[str, Any]], params: Mapping[str, str], token_param: str,
              headers: dict[str, str]) -> Reply:  # fmt: skip
        items = self._in_bounds(found, params, token_param)
        if isinstance(items, str):
            return Reply(400, {"errors": [{"message": items}]}, headers)
        size = int(params.get("max_results", "10"))
        if not 5 <= size <= 100:
            return Reply(400, {"errors": [{"message": "max_results must be between 10 and 100"}]}, headers)
        page, more = [copy.deepcopy(p) for p in items[:size]], len(items) > size
        if not page:
            return Reply(200, {"meta": {"result_count": 0}}, headers)
        meta: dict[str, Any] = {
            "newest_id": page[0]["id"],
            "oldest_id": page[-1]["id"],
            "result_count": len(page),
        }
        if more:
            meta["next_token"] = f"nt{page[-1]['id']}"
        return Reply(200, {"data": page, "includes": self._includes(page), "meta": meta}, headers)

    def _in_bounds(
        self, found: Iterable[dict[str, Any]], params: Mapping[str, str], token_param: str
    ) -> list[dict[str, Any]] | str:
        """The posts already posted, newest first, after ``since_id`` and before the page token; or what is wrong."""
        now_ms = int(self.clock().timestamp() * 1000)
        visible = [p for p in found if (int(p["id"]) >> 22) + _EPOCH_MS <= now_ms]
        items = sorted(visible, key=lambda p: int(p["id"]), reverse=True)
        since = params.get("since_id")
        if since and not self.forget_since_id:
            items = [p for p in items if int(p["id"]) > int(since)]
        token = params.get(token_param)
        if token:
            if not token.startswith("nt") or not token[2:].isdigit():
                return f"Invalid {token_param}"
            items = [p for p in items if int(p["id"]) < int(token[2:])]
        return items

    def _includes(self, page: list[dict[str, Any]]) -> dict[str, Any]:
        referenced = [
            self.posts[r["id"]] for p in page for r in p.get("referenced_tweets", []) if r["id"] in self.posts
        ]
        author_ids = dict.fromkeys([p["author_id"] for p in page + referenced])
        includes: dict[str, Any] = {"users": [copy.deepcopy(self.users[a]) for a in author_ids]}
        if referenced:
            includes["tweets"] = [copy.deepcopy(p) for p in referenced]
        return includes
