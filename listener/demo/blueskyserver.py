"""A local Bluesky server: the XRPC queries the collector makes, in the real wire format.

Posts are ``app.bsky.feed.defs#postView`` objects shaped like the recorded one in
``shared/fixtures/atproto``; ``searchPosts`` answers ``{posts, cursor?, hitsTotal}``
(its lexicon output), ``getAuthorFeed`` ``{feed: [{post}], cursor?}``. Errors are
``{"error", "message"}`` with the ``ratelimit-*`` headers (reset as epoch seconds).
Search understands words, "phrases", ``from:``, ``mentions:``, ``lang:`` and the
inclusive ``since``, newest first by ``sortAt``.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from listener.demo.wire import Fault, Reply, Request, WireServer
from listener.errors import QueryError
from listener.query import Query
from listener.records import utcnow

__all__ = ["BlueskyServer"]

_WINDOW = timedelta(minutes=5)
_OPERATOR = re.compile(r"^(from|mentions|lang|domain):(\S+)$")
_B32 = "234567abcdefghijklmnopqrstuvwxyz"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _tid(moment: datetime, sequence: int) -> str:
    """A record key in the TID form (base32-sortable microseconds), like real post rkeys."""
    value = (int(moment.timestamp() * 1_000_000) << 10) | (sequence & 0x3FF)
    return "".join(_B32[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def _jwt(payload: Mapping[str, Any]) -> str:
    def part(data: Mapping[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'typ': 'at+jwt', 'alg': 'ES256K'})}.{part(payload)}.c2lnbmF0dXJl"


class _View:
    """What the query matcher reads of a post, for search."""

    network = "bluesky"
    url = None

    def __init__(self, post: Mapping[str, Any]) -> None:
        self.text = post["record"]["text"]
        self.author_handle = post["author"]["handle"]
        langs = post["record"].get("langs") or [None]
        self.language = langs[0]


class BlueskyServer(WireServer):
    """An AppView (search, author feeds, handles) and a PDS (sessions) in one."""

    def __init__(
        self,
        handle: str | None = None,
        app_password: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        rate_limit: int = 3000,
        search_needs_auth: bool = False,
    ) -> None:
        super().__init__(clock)
        self.handle, self.app_password = handle, app_password
        self.rate_limit = rate_limit
        self.search_needs_auth = search_needs_auth  # the public AppView has refused keyless search at times
        self.actors: dict[str, dict[str, Any]] = {}  # handle -> profileViewBasic
        self.posts: dict[str, dict[str, Any]] = {}  # at:// uri -> postView
        self.access_jwts: set[str] = set()
        self._sequence = 0
        self._window: tuple[datetime, int] | None = None

    # -- content -------------------------------------------------------------

    def add_actor(self, handle: str, display_name: str | None = None) -> dict[str, Any]:
        handle = handle.lower() if "." in handle else f"{handle.lower()}.bsky.social"
        if handle not in self.actors:
            did = "did:plc:" + hashlib.sha256(handle.encode()).hexdigest()[:24]
            self.actors[handle] = {
                "did": did, "handle": handle, "displayName": display_name or handle.split(".")[0].title(),
                "avatar": f"https://cdn.bsky.app/img/avatar/plain/{did}/bafkreiavatar@jpeg",
                "associated": {"chat": {"allowIncoming": "all"}}, "viewer": {"muted": False, "blockedBy": False},
                "labels": [], "createdAt": "2024-01-01T00:00:00.000Z",
            }  # fmt: skip
        return self.actors[handle]

    def add_mention(
        self, author: str, text: str, when: datetime, *, lang: str | None = None, reply_to: str | None = None
    ) -> str:
        """A post that searchPosts finds by its words; returns its at:// uri."""
        return self.add_post(author, text, when, lang=lang, reply_to=reply_to)

    def add_post(
        self,
        author: str,
        text: str,
        when: datetime,
        *,
        lang: str | None = None,
        reply_to: str | None = None,
        alt_texts: tuple[str, ...] = (),
        likes: int = 0,
    ) -> str:
        self._sequence += 1
        actor = self.add_actor(author)
        uri = f"at://{actor['did']}/app.bsky.feed.post/{_tid(when, self._sequence)}"
        record: dict[str, Any] = {"$type": "app.bsky.feed.post", "createdAt": _iso(when), "text": text}
        if lang:
            record["langs"] = [lang]
        if reply_to is not None:
            parent = self.posts[reply_to]
            root = parent["record"].get("reply", {}).get("root") or {"cid": parent["cid"], "uri": reply_to}
            record["reply"] = {"parent": {"cid": parent["cid"], "uri": reply_to}, "root": root}
            parent["replyCount"] += 1
        if alt_texts:
            record["embed"] = {"$type": "app.bsky.embed.images", "images": [
                {"alt": alt, "image": {"$type": "blob", "ref": {"$link": "bafkreiimage"}, "mimeType": "image/jpeg",
                                       "size": 1000}} for alt in alt_texts]}  # fmt: skip
        self.posts[uri] = {
            "uri": uri, "cid": "bafyrei" + hashlib.sha256(uri.encode()).hexdigest()[:52],
            "author": copy.deepcopy(actor), "record": record, "replyCount": 0, "repostCount": 0,
            "likeCount": likes, "quoteCount": 0, "indexedAt": _iso(when), "viewer": {"threadMuted": False},
            "labels": [],
        }  # fmt: skip
        return uri

    def add_post_view(self, view: Mapping[str, Any]) -> str:
        """Serve a recorded ``postView`` as it is (its author becomes known for feeds and ``from:``)."""
        author = dict(view["author"])
        self.actors.setdefault(author["handle"], author)
        self.posts[view["uri"]] = copy.deepcopy(dict(view))
        return str(view["uri"])

    # -- wire ----------------------------------------------------------------

    def _rate_headers(self, spend: bool) -> dict[str, str]:
        now = self.clock()
        if self._window is None or now >= self._window[0] + _WINDOW:
            self._window = (now, self.rate_limit)
        start, remaining = self._window
        if spend:
            remaining = max(0, remaining - 1)
            self._window = (start, remaining)
        return {"ratelimit-limit": str(self.rate_limit), "ratelimit-remaining": str(remaining),
                "ratelimit-reset": str(int((start + _WINDOW).timestamp())),
                "ratelimit-policy": f"{self.rate_limit};w={int(_WINDOW.total_seconds())}"}  # fmt: skip

    def error_reply(self, status: int, fault: Fault) -> Reply:
        errors = {401: ("AuthenticationRequired", "Invalid identifier or password"),
                  403: ("Forbidden", "Forbidden"), 429: ("RateLimitExceeded", "Rate Limit Exceeded"),
                  500: ("InternalServerError", "Internal Server Error"),
                  503: ("UpstreamFailure", "Upstream Failure")}  # fmt: skip
        headers = self._rate_headers(spend=False)
        if status == 429:
            headers["ratelimit-remaining"] = "0"
            headers["ratelimit-reset"] = str(
                int((self.clock() + timedelta(seconds=fault.seconds)).timestamp())
            )
        error, message = errors[status]
        return Reply(status, {"error": error, "message": message}, headers)

    def corrupt(self, body: Any) -> None:
        if isinstance(body, dict) and body.get("posts"):
            del body["posts"][0]["record"]["text"]
        elif isinstance(body, dict) and body.get("feed"):
            del body["feed"][0]["post"]["record"]["text"]

    def route(self, request: Request) -> Reply:
        nsid = request.path.removeprefix("/xrpc/")
        auth = request.headers.get("Authorization")
        if nsid == "com.atproto.server.createSession":
            return self._create_session(request)
        if auth is not None and auth.removeprefix("Bearer ") not in self.access_jwts:
            return Reply(400, {"error": "InvalidToken", "message": "Token could not be verified"})
        self._rate_headers(spend=False)
        if self._window is not None and self._window[1] <= 0:
            left = (self._window[0] + _WINDOW - self.clock()).total_seconds()
            return self.error_reply(429, Fault("429", seconds=left))
        headers = self._rate_headers(spend=True)
        params = request.params
        if nsid == "app.bsky.feed.searchPosts":
            if self.search_needs_auth and auth is None:
                return Reply(
                    403, {"error": "Forbidden", "message": "Search requires authentication"}, headers
                )
            found = self._search(params.get("q", ""), params.get("since"))
            if found is None:
                return Reply(400, {"error": "InvalidRequest", "message": "Invalid search query"}, headers)
            page, cursor = self._slice(found, params)
            body: dict[str, Any] = {"posts": page, "hitsTotal": len(found)}
            return Reply(200, body | ({"cursor": cursor} if cursor else {}), headers)
        if nsid == "app.bsky.feed.getAuthorFeed":
            actor = self._actor(params.get("actor", ""))
            if actor is None:
                return Reply(400, {"error": "InvalidRequest", "message": "Profile not found"}, headers)
            found = [p for p in self._visible() if p["author"]["did"] == actor["did"]]
            page, cursor = self._slice(found, params)
            feed: dict[str, Any] = {"feed": [{"post": p} for p in page]}
            return Reply(200, feed | ({"cursor": cursor} if cursor else {}), headers)
        if nsid == "com.atproto.identity.resolveHandle":
            actor = self._actor(params.get("handle", ""))
            if actor is None:
                return Reply(400, {"error": "InvalidRequest", "message": "Unable to resolve handle"}, headers)
            return Reply(200, {"did": actor["did"]}, headers)
        return Reply(501, {"error": "MethodNotImplemented", "message": "Method Not Implemented"}, headers)

    def _create_session(self, request: Request) -> Reply:
        try:
            body = json.loads(request.body or "{}")
        except ValueError:
            return Reply(400, {"error": "InvalidRequest", "message": "Invalid JSON"})
        identifier = str(body.get("identifier", "")).lower()
        if not self.handle or identifier != self.handle.lower() or body.get("password") != self.app_password:
            return Reply(
                401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}
            )
        actor = self.add_actor(self.handle)
        now = int(time.time())  # the SDK checks expiry against the real clock
        claims = {"scope": "com.atproto.appPass", "sub": actor["did"], "iat": now, "exp": now + 7200}
        access = _jwt(claims)
        self.access_jwts.add(access)
        refresh = _jwt({**claims, "scope": "com.atproto.refresh", "exp": now + 86400})
        return Reply(200, {"did": actor["did"], "handle": actor["handle"], "accessJwt": access,
                           "refreshJwt": refresh, "active": True})  # fmt: skip

    def revoke_sessions(self) -> None:
        self.access_jwts.clear()

    def _actor(self, name: str) -> dict[str, Any] | None:
        name = name.lower().lstrip("@")
        return next((a for a in self.actors.values() if name in (a["handle"], a["did"])), None)

    def _visible(self) -> list[dict[str, Any]]:
        now = self.clock()
        return [p for p in self.posts.values() if _parse(p["indexedAt"]) <= now]

    def _search(self, q: str, since: str | None) -> list[dict[str, Any]] | None:
        words: list[str] = []
        filters: list[Callable[[dict[str, Any]], bool]] = []
        for piece in re.findall(r'"[^"]*"|\S+', q):
            match = _OPERATOR.match(piece)
            if match is None:
                words.append(piece)
                continue
            name, value = match.group(1), match.group(2).lower().lstrip("@")
            if name == "mentions":
                filters.append(functools.partial(_mentions, value))
            elif name == "from":
                author = self._actor(value) or {"did": None}
                filters.append(functools.partial(_posted_by, author["did"]))
            elif name == "lang":
                filters.append(functools.partial(_in_language, value))
        query = None
        if words:
            try:
                query = Query.parse(" ".join(words))
            except QueryError:
                return None
        found = [
            p for p in self._visible()
            if (query is None or query.matches(_View(p))) and all(f(p) for f in filters)
            and (since is None or _sort_at(p) >= _parse(since))
        ]  # fmt: skip
        return found

    def _slice(
        self, found: list[dict[str, Any]], params: Mapping[str, str]
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first by sortAt; the cursor is an offset, opaque to the client as the real one is."""
        limit = min(max(int(params.get("limit") or 25), 1), 100)
        offset = int(params.get("cursor") or 0)
        ordered = sorted(found, key=lambda p: (_sort_at(p), p["uri"]), reverse=True)
        page = [copy.deepcopy(p) for p in ordered[offset : offset + limit]]
        more = offset + limit < len(ordered)
        return page, str(offset + limit) if more else None


def _sort_at(post: Mapping[str, Any]) -> datetime:
    return min(_parse(post["record"]["createdAt"]), _parse(post["indexedAt"]))


def _mentions(handle: str, post: dict[str, Any]) -> bool:
    return f"@{handle}" in post["record"]["text"].lower()


def _posted_by(did: str | None, post: dict[str, Any]) -> bool:
    return bool(post["author"]["did"] == did)


def _in_language(lang: str, post: dict[str, Any]) -> bool:
    return lang in (post["record"].get("langs") or [])
