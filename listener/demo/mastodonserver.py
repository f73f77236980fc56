"""A local Mastodon server: the timelines, search, notifications and account endpoints Mastodon.py reads.

Shapes follow the recordings in ``shared/fixtures/mastodon_py`` (Mastodon 4.6.4):
statuses with HTML ``content``, ``account``, ``tags``, ``mentions``; ``Link``
headers with ``max_id``/``min_id``; ``X-RateLimit-*`` headers (the reset as ISO
time); errors as ``{"error": "..."}``. Ids are Mastodon's time-based snowflakes,
so an id made from a time works as a lower bound, as on a real instance.
Search answers the words of ``q`` (all of them, phrases in quotes).
"""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

from listener.demo.wire import Fault, Reply, Request, WireServer
from listener.errors import QueryError
from listener.query import Query
from listener.records import utcnow

__all__ = ["MastodonServer"]

_TAG = re.compile(r"(?<![\w/])#(\w+)")
_MENTION = re.compile(r"(?<![\w/])@(\w+)")
_WINDOW = timedelta(minutes=5)  # Mastodon: 300 requests per 5 minutes per token or IP


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class _View:
    """What the query matcher reads of a status, for search."""

    network = "mastodon"
    url = None

    def __init__(self, status: Mapping[str, Any]) -> None:
        self.text = f"{status['spoiler_text']}\n\n{status['_text']}"  # Mastodon indexes both
        self.author_handle = status["account"]["acct"]
        self.language = status.get("language")


class MastodonServer(WireServer):
    """One instance: public tag timelines and account statuses; search; the owner's notifications."""

    def __init__(
        self,
        token: str = "demo-mastodon-token",  # noqa: S107 (the demo's own credentials)
        owner: str = "listener",
        clock: Callable[[], datetime] = utcnow,
        rate_limit: int = 300,
        search_needs_token: bool = False,
    ) -> None:
        super().__init__(clock)
        self.token = token
        self.rate_limit = rate_limit
        self.search_needs_token = search_needs_token  # mainline Mastodon: full text only when logged in
        self.accounts: dict[str, dict[str, Any]] = {}
        self.statuses: dict[str, dict[str, Any]] = {}
        self.notifications: dict[str, dict[str, Any]] = {}
        self._sequence = 0
        self._window: tuple[datetime, int] | None = None
        self.owner_id = self.add_account(owner, "Listener")

    # -- content -------------------------------------------------------------

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    def add_account(self, username: str, display_name: str = "") -> str:
        for account in self.accounts.values():
            if account["username"].lower() == username.lower():
                return str(account["id"])
        account_id = str(110_000_000_000_000_000 + len(self.accounts))
        base = "http://mastodon.local"  # rewritten to the real address when served
        self.accounts[account_id] = {
            "id": account_id, "username": username, "acct": username, "display_name": display_name,
            "locked": False, "bot": False, "discoverable": True, "indexable": True, "group": False,
            "created_at": "2026-01-01T00:00:00.000Z", "note": "", "url": f"{base}/@{username}",
            "uri": f"{base}/users/{username}", "avatar": f"{base}/avatars/original/missing.png",
            "followers_count": 0, "following_count": 0, "statuses_count": 0, "emojis": [], "fields": [],
        }  # fmt: skip
        return account_id

    def add_mention(
        self, author: str, text: str, when: datetime, *, lang: str | None = None, reply_to: str | None = None
    ) -> str:
        """A public status; its #tags land in the tag timelines, and search finds its words."""
        return self.add_status(author, text, when, lang=lang, reply_to=reply_to)

    def add_status(
        self,
        author: str,
        text: str,
        when: datetime,
        *,
        lang: str | None = None,
        reply_to: str | None = None,
        spoiler: str = "",
        likes: int = 0,
    ) -> str:
        """Returns the native id the collector gives it: ``<host>/<id>``. ``reply_to`` is such an id too."""
        self._sequence += 1
        status_id = str((int(when.timestamp() * 1000) << 16) | (self._sequence & 0xFFFF))
        account_id = self.add_account(author)
        account = self.accounts[account_id]
        account["statuses_count"] += 1
        parent = self.statuses[reply_to.rsplit("/", 1)[-1]] if reply_to else None
        tags = list(dict.fromkeys(t.lower() for t in _TAG.findall(text)))
        mentioned = [a for a in self.accounts.values() if a["username"].lower() in
                     {m.lower() for m in _MENTION.findall(text)}]  # fmt: skip
        base = "http://mastodon.local"
        status = {
            "id": status_id, "created_at": _iso(when), "in_reply_to_id": parent["id"] if parent else None,
            "in_reply_to_account_id": parent["account"]["id"] if parent else None, "sensitive": bool(spoiler),
            "spoiler_text": spoiler, "visibility": "public", "language": lang,
            "uri": f"{base}/users/{author}/statuses/{status_id}", "url": f"{base}/@{author}/{status_id}",
            "replies_count": 0, "reblogs_count": 0, "favourites_count": likes, "quotes_count": 0,
            "edited_at": None, "content": _html(text, base), "reblog": None,
            "application": {"name": "listener demo", "website": None}, "account": copy.deepcopy(account),
            "media_attachments": [], "mentions": [
                {"id": a["id"], "username": a["username"], "url": a["url"], "acct": a["acct"]} for a in mentioned
            ],
            "tags": [{"name": t, "url": f"{base}/tags/{t}"} for t in tags], "emojis": [], "card": None,
            "poll": None, "quote": None, "_text": text,
        }  # fmt: skip
        if parent is not None:
            parent["replies_count"] += 1
        self.statuses[status_id] = status
        if any(a["id"] == self.owner_id for a in mentioned) and account_id != self.owner_id:
            notification_id = str(len(self.notifications) + 1)
            self.notifications[notification_id] = {
                "id": notification_id, "type": "mention", "created_at": _iso(when),
                "group_key": f"ungrouped-{notification_id}", "account": copy.deepcopy(account),
                "status_id": status_id,
            }  # fmt: skip
        return f"{self.host}/{status_id}"

    # -- wire ----------------------------------------------------------------

    def _rate_headers(self, spend: bool) -> dict[str, str]:
        now = self.clock()
        if self._window is None or now >= self._window[0] + _WINDOW:
            self._window = (now, self.rate_limit)
        start, remaining = self._window
        if spend:
            remaining = max(0, remaining - 1)
            self._window = (start, remaining)
        return {"X-RateLimit-Limit": str(self.rate_limit), "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": _iso(start + _WINDOW)}  # fmt: skip

    def error_reply(self, status: int, fault: Fault) -> Reply:
        messages = {401: "The access token is invalid", 403: "This action is not allowed",
                    429: "Too many requests", 500: "Internal server error", 503: "Service unavailable"}  # fmt: skip
        headers = self._rate_headers(spend=False)
        if status == 429:
            headers["X-RateLimit-Remaining"] = "0"
            headers["X-RateLimit-Reset"] = _iso(self.clock() + timedelta(seconds=fault.seconds))
        return Reply(status, {"error": messages[status]}, headers)

    def corrupt(self, body: Any) -> None:
        items = body.get("statuses") if isinstance(body, dict) else body
        if isinstance(items, list) and items:
            target = items[0].get("status", items[0]) if "type" in items[0] else items[0]
            del target["content"]

    def _authorized(self, request: Request) -> bool | None:
        """True with the right token, None without one, False with a wrong one."""
        header = request.headers.get("Authorization")
        if header is None:
            return None
        return header == f"Bearer {self.token}"

    def route(self, request: Request) -> Reply:
        authorized = self._authorized(request)
        if authorized is False:
            return Reply(401, {"error": "The access token is invalid"})
        self._rate_headers(spend=False)  # opens a new window when the old one is over
        if self._window is not None and self._window[1] <= 0:
            left = (self._window[0] + _WINDOW - self.clock()).total_seconds()
            return self.error_reply(429, Fault("429", seconds=left))
        call = _Call(request, self._rate_headers(spend=True), authorized)
        path = unquote(request.path).rstrip("/")
        for pattern, endpoint in _ENDPOINTS:
            if match := re.fullmatch(pattern, path):
                return endpoint(self, call, match)
        return Reply(404, {"error": "Record not found"}, call.headers)

    def _visible(self) -> list[dict[str, Any]]:
        return [s for s in self.statuses.values() if s["created_at"] <= _iso(self.clock())]

    def _tag(self, call: _Call, match: re.Match[str]) -> Reply:
        tag = match.group(1).lower()
        found = [s for s in self._visible() if any(t["name"] == tag for t in s["tags"])]
        return self._page(call.request, found, call.headers)

    def _search(self, call: _Call, match: re.Match[str]) -> Reply:
        empty: dict[str, list[Any]] = {"accounts": [], "statuses": [], "hashtags": []}
        if self.search_needs_token and not call.authorized:
            return Reply(200, empty, call.headers)
        try:
            query = Query.parse(call.request.params.get("q", ""))
        except QueryError:
            return Reply(200, empty, call.headers)
        found = [s for s in self._visible() if query.matches(_View(s))]
        reply = self._page(call.request, found, call.headers, search=True)
        reply.body = {"accounts": [], "statuses": reply.body, "hashtags": []}
        reply.headers.pop("Link", None)  # search pages by offset or ids, without Link headers
        return reply

    def _notifications(self, call: _Call, match: re.Match[str]) -> Reply:
        if not call.authorized:
            return Reply(401, {"error": "The access token is invalid"}, call.headers)
        found = [n for n in self.notifications.values() if n["created_at"] <= _iso(self.clock())]
        return self._page(call.request, found, call.headers)

    def _verify_credentials(self, call: _Call, match: re.Match[str]) -> Reply:
        if not call.authorized:
            return Reply(401, {"error": "The access token is invalid"}, call.headers)
        return Reply(200, self._account(self.owner_id), call.headers)

    def _lookup(self, call: _Call, match: re.Match[str]) -> Reply:
        acct = call.request.params.get("acct", "").split("@")[0].lower()
        for account_id, account in self.accounts.items():
            if account["username"].lower() == acct:
                return Reply(200, self._account(account_id), call.headers)
        return Reply(404, {"error": "Record not found"}, call.headers)

    def _account_statuses(self, call: _Call, match: re.Match[str]) -> Reply:
        if match.group(1) not in self.accounts:
            return Reply(404, {"error": "Record not found"}, call.headers)
        found = [s for s in self._visible() if s["account"]["id"] == match.group(1)]
        return self._page(call.request, found, call.headers)

    def _instance(self, call: _Call, match: re.Match[str]) -> Reply:
        return Reply(200, {"domain": self.host, "title": "listener demo", "version": "4.6.4",
                           "api_versions": {"mastodon": 7}}, call.headers)  # fmt: skip

    def _account(self, account_id: str) -> dict[str, Any]:
        return self._served(self.accounts[account_id])

    def _served(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """A stored item as the wire shows it: at this server's address, without private keys."""
        base = f"http://{self.host}"
        if "status_id" in item:  # a notification: its status, as it is now
            out = {k: copy.deepcopy(v) for k, v in item.items() if k != "status_id"}
            out["status"] = self._served(self.statuses[item["status_id"]])
        else:
            out = {k: copy.deepcopy(v) for k, v in item.items() if not k.startswith("_")}
        rebased: dict[str, Any] = _rebase(out, "http://mastodon.local", base)
        return rebased

    def _page(
        self, request: Request, found: list[dict[str, Any]], headers: dict[str, str], *, search: bool = False
    ) -> Reply:
        """Mastodon's id pagination: newest first, ``max_id``/``since_id`` bounds, ``min_id`` walks forward.

        Search ranks its hits and applies ``min_id`` as a plain lower bound, like ``since_id``.
        """
        params = request.params
        try:
            limit = min(max(int(params.get("limit", "20")), 1), 40)
            bounds = {k: int(params[k]) for k in ("max_id", "since_id", "min_id") if params.get(k)}
        except ValueError:
            return Reply(422, {"error": "Validation failed: invalid pagination parameter"}, headers)
        items = sorted(found, key=lambda i: int(i["id"]), reverse=True)
        if "max_id" in bounds:
            items = [i for i in items if int(i["id"]) < bounds["max_id"]]
        if "since_id" in bounds:
            items = [i for i in items if int(i["id"]) > bounds["since_id"]]
        if "min_id" in bounds:
            items = [i for i in items if int(i["id"]) > bounds["min_id"]]
            items = items if search else items[-limit:]  # timelines: the oldest just above min_id
        page = items[:limit]
        if page:
            kept = {k: v for k, v in params.items() if k not in ("max_id", "since_id", "min_id")}
            url = f"http://{self.host}{request.path}"
            newer = urlencode({**kept, "min_id": page[0]["id"]})
            older = urlencode({**kept, "max_id": page[-1]["id"]})
            headers = {**headers, "Link": f'<{url}?{older}>; rel="next", <{url}?{newer}>; rel="prev"'}
        return Reply(200, [self._served(i) for i in page], headers)


def _html(text: str, base: str) -> str:
    """Status content as Mastodon renders it: paragraphs, linked #tags and @mentions."""

    def link(piece: str) -> str:
        piece = html.escape(piece, quote=False)
        piece = _TAG.sub(
            lambda m: (
                f'<a href="{base}/tags/{m.group(1).lower()}" class="mention hashtag" rel="tag">'
                f"#<span>{m.group(1)}</span></a>"
            ),
            piece,
        )
        return _MENTION.sub(
            lambda m: (
                f'<span class="h-card" translate="no"><a href="{base}/@{m.group(1)}" '
                f'class="u-url mention">@<span>{m.group(1)}</span></a></span>'
            ),
            piece,
        )

    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    return "".join(f"<p>{'<br />'.join(link(line) for line in p.split(chr(10)))}</p>" for p in paragraphs)


def _rebase(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, list):
        return [_rebase(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _rebase(v, old, new) for k, v in value.items()}
    return value


@dataclass(frozen=True, slots=True)
class _Call:
    """One request as the endpoints see it: the rate headers to return, and whether its token was right."""

    request: Request
    headers: dict[str, str]
    authorized: bool | None


_ENDPOINTS: list[tuple[str, Callable[[MastodonServer, _Call, re.Match[str]], Reply]]] = [
    (r"/api/v1/timelines/tag/(\w+)", MastodonServer._tag),
    (r"/api/v2/search", MastodonServer._search),
    (r"/api/v1/notifications", MastodonServer._notifications),
    (r"/api/v1/accounts/verify_credentials", MastodonServer._verify_credentials),
    (r"/api/v1/accounts/lookup", MastodonServer._lookup),
    (r"/api/v1/accounts/(\d+)/statuses", MastodonServer._account_statuses),
    (r"/api/v2/instance", MastodonServer._instance),
]
