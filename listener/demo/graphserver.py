"""A local Graph API server: a Facebook Page's posts and comments and an Instagram account's media.

The shapes follow the recordings in ``shared/fixtures/facebook`` and
``shared/fixtures/instagram``: ``{"data": [...], "paging": {"cursors":
{"before", "after"}, "next"}}`` with ``next`` left out on the last page, times
like ``2021-07-04T19:50:58+0000``, the ``comments`` field expansion embedded in
post and media listings, and errors as ``{"error": {"message", "type", "code",
"error_subcode"?, "fbtrace_id"}}``. Like the real API, ``paging.next`` repeats
the access token in its query string, and every reply carries ``X-App-Usage``.
"""

from __future__ import annotations

import base64
import copy
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlencode

from listener.demo.wire import Fault, Reply, Request, WireServer
from listener.records import utcnow

__all__ = ["GraphServer"]

_VERSIONED = re.compile(r"^/(v\d+\.\d+)/(.+?)/?$")
_EMBED = re.compile(r"comments((?:\.\w+\([^)]*\))*)(\{)?")


def graph_stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _offset(cursor: str | None) -> int | None:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError:
        return None
    return int(text[7:]) if text.startswith("offset:") and text[7:].isdigit() else None


def error_body(
    code: int, message: str, subcode: int | None = None, *, transient: bool = False
) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if transient:
        error["is_transient"] = True
    error["fbtrace_id"] = "AbCdEfGhIjKlMnOp"
    return {"error": error}


@dataclass
class _GraphFault:
    """An error the next ``times`` matching requests get: the rate-limit codes, 190, permissions."""

    code: int
    message: str
    subcode: int | None
    status: int
    times: int
    path: str
    regain_minutes: int | None


_MESSAGES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    80002: "(#80002) There have been too many calls to this Instagram account. Wait a bit and try again.",
    190: "Error validating access token: Session has expired on Sunday, 01-Mar-26 10:00:00 PST.",
    10: "(#10) This endpoint requires the 'pages_read_engagement' permission or the 'Page Public Content Access' "
    "feature.",
}


class GraphServer(WireServer):
    """Serves one Facebook Page and one Instagram business account to a token holder."""

    def __init__(
        self,
        token: str = "demo-graph-token",  # noqa: S107 (the demo's own credentials)
        clock: Callable[[], datetime] = utcnow,
        *,
        network: Literal["facebook", "instagram"] = "facebook",
        page_id: str = "104000000000001",
        page_name: str = "Caffè Aurora",
        ig_user_id: str = "17841400000000001",
        ig_username: str = "caffeaurora",
    ) -> None:
        super().__init__(clock)
        self.token, self.network = token, network
        self.page_id, self.page_name = page_id, page_name
        self.ig_user_id, self.ig_username = ig_user_id, ig_username
        self.posts: dict[str, dict[str, Any]] = {}  # Facebook posts; "_edge" says which edge lists them
        self.comments: dict[str, dict[str, Any]] = {}  # Facebook comments; "_post", "_parent"
        self.media: dict[str, dict[str, Any]] = {}  # Instagram media; "_edge", "_hashtags"
        self.ig_comments: dict[str, dict[str, Any]] = {}  # "_media", "_parent"
        self.hashtags: dict[str, str] = {}
        self.usage_percent = 3  # what X-App-Usage reports; 95 and up makes the collector stop early
        self.regain_minutes: int | None = None
        self.graph_faults: list[_GraphFault] = []
        self._sequence = 0

    # -- content -------------------------------------------------------------

    def _next_id(self) -> int:
        self._sequence += 1
        return self._sequence

    def add_post(self, text: str, when: datetime, *, edge: str = "posts", author: str | None = None) -> str:
        """A Page post (``edge="posts"``), a visitor post (``visitor_posts``) or a post tagging the Page."""
        number = 5_000_000 + self._next_id()
        owner = self.page_id if edge != "tagged" else str(100_000_000 + number)
        post_id = f"{owner}_{number}"
        name = author or self.page_name
        self.posts[post_id] = {
            "id": post_id, "message": text, "created_time": graph_stamp(when),
            "updated_time": graph_stamp(when),
            "permalink_url": f"https://www.facebook.com/{owner}/posts/{number}/",
            "from": {"id": self._person_id(name), "name": name}, "status_type": "mobile_status_update",
            "shares": {"count": 0}, "_edge": edge,
        }  # fmt: skip
        return post_id

    def add_comment(
        self, post_id: str, author: str, text: str, when: datetime, *, reply_to: str | None = None
    ) -> str:
        number = 9_000_000 + self._next_id()
        story = post_id.partition("_")[2]
        comment_id = f"{story}_{number}"
        link = f"https://www.facebook.com/{self.page_id}/posts/{story}/?comment_id="
        if reply_to is not None:
            link += f"{reply_to.partition('_')[2]}&reply_comment_id={number}"
        else:
            link += str(number)
        self.comments[comment_id] = {
            "id": comment_id, "message": text, "created_time": graph_stamp(when),
            "from": {"id": self._person_id(author), "name": author}, "permalink_url": link,
            "like_count": 0, "comment_count": 0, "is_hidden": False, "_post": post_id, "_parent": reply_to,
        }  # fmt: skip
        if reply_to is not None:
            self.comments[reply_to]["comment_count"] += 1
            self.comments[comment_id]["parent"] = {"id": reply_to}
        return comment_id

    def add_media(
        self, caption: str, when: datetime, *, username: str | None = None, hashtags: Iterable[str] = ()
    ) -> str:
        """Own media, or media by ``username`` that tags the account; ``hashtags`` list it under those."""
        media_id = str(17_900_000_000_000_000 + self._next_id())
        self.media[media_id] = {
            "id": media_id, "caption": caption, "media_type": "IMAGE",
            "permalink": f"https://www.instagram.com/p/Demo{media_id[-6:]}/", "timestamp": graph_stamp(when),
            "username": username or self.ig_username, "like_count": 0, "comments_count": 0,
            "_edge": "media" if username in (None, self.ig_username) else "tags",
            "_hashtags": [h.lstrip("#").lower() for h in hashtags],
        }  # fmt: skip
        for tag in self.media[media_id]["_hashtags"]:
            self.hashtags.setdefault(tag, str(17_843_000_000_000_000 + len(self.hashtags)))
        return media_id

    def add_ig_comment(
        self, media_id: str, username: str, text: str, when: datetime, *, reply_to: str | None = None
    ) -> str:
        comment_id = str(17_850_000_000_000_000 + self._next_id())
        self.ig_comments[comment_id] = {
            "id": comment_id, "text": text, "timestamp": graph_stamp(when), "username": username,
            "from": {"id": str(17_841_000_000_000_000 + len(username)), "username": username},
            "like_count": 0, "hidden": False, "_media": media_id, "_parent": reply_to,
        }  # fmt: skip
        if reply_to is not None:
            self.ig_comments[comment_id]["parent_id"] = reply_to
        self.media[media_id]["comments_count"] += 1
        return comment_id

    def add_mention(
        self, author: str, text: str, when: datetime, *, lang: str | None = None, reply_to: str | None = None
    ) -> str:
        """A comment under the Page's latest post (Facebook) or the account's latest media (Instagram)."""
        if self.network == "instagram":
            own = [m for m in self.media.values() if m["_edge"] == "media"]
            media = (
                max(own, key=lambda m: m["timestamp"])["id"] if own else self.add_media("Buongiorno!", when)
            )
            parent = reply_to if reply_to in self.ig_comments else None
            return self.add_ig_comment(media, author, text, when, reply_to=parent)
        if reply_to in self.comments:
            return self.add_comment(self.comments[reply_to]["_post"], author, text, when, reply_to=reply_to)
        own = [p for p in self.posts.values() if p["_edge"] == "posts"]
        post = max(own, key=lambda p: p["created_time"])["id"] if own else self.add_post("Buongiorno!", when)
        return self.add_comment(reply_to if reply_to in self.posts else post, author, text, when)

    def hide(self, comment_id: str) -> None:
        if comment_id in self.comments:
            self.comments[comment_id]["is_hidden"] = True
        else:
            self.ig_comments[comment_id]["hidden"] = True

    def delete(self, native_id: str) -> None:
        for table in (self.posts, self.comments, self.media, self.ig_comments):
            table.pop(native_id, None)

    def inject_error(
        self, code: int, *, subcode: int | None = None, status: int = 400, times: int = 1, path: str = "/",
        regain_minutes: int | None = None, message: str | None = None,
    ) -> None:  # fmt: skip
        """Answer the next matching requests with a Graph error (rate-limit codes, 190, permissions)."""
        text = message or _MESSAGES.get(code, f"(#{code}) An error occurred")
        with self.lock:
            self.graph_faults.append(_GraphFault(code, text, subcode, status, times, path, regain_minutes))

    @staticmethod
    def _person_id(name: str) -> str:
        return str(10_000_000 + sum(ord(c) for c in name))

    # -- wire ----------------------------------------------------------------

    def _usage_headers(self, percent: int, regain: int | None) -> dict[str, str]:
        cpu, time = max(1, percent // 3), max(1, percent // 2)
        usage = f'{{"call_count":{percent},"total_cputime":{cpu},"total_time":{time}}}'
        headers = {"X-App-Usage": usage}
        if regain is not None or percent >= 95:
            owner, kind = (
                (self.page_id, "pages") if self.network == "facebook" else (self.ig_user_id, "instagram")
            )
            headers["X-Business-Use-Case-Usage"] = (
                f'{{"{owner}":[{{"type":"{kind}","call_count":{percent},"total_cputime":1,"total_time":1,'
                f'"estimated_time_to_regain_access":{regain or 0}}}]}}'
            )
        return headers

    def error_reply(self, status: int, fault: Fault) -> Reply:
        if status == 429:
            minutes = math.ceil(fault.seconds / 60)
            code = 32 if self.network == "facebook" else 80002
            return Reply(400, error_body(code, _MESSAGES[code]), self._usage_headers(100, minutes))
        bodies = {
            401: error_body(190, _MESSAGES[190], 463),
            403: error_body(10, _MESSAGES[10]),
            500: error_body(1, "An unknown error has occurred.", transient=True),
            503: error_body(2, "Service temporarily unavailable", transient=True),
        }
        return Reply(status, bodies[status], self._usage_headers(self.usage_percent, None))

    def corrupt(self, body: Any) -> None:
        """Drop the time of the first comment embedded in a listing, else of the first item."""
        items = body.get("data") if isinstance(body, dict) else None
        if not items:
            return
        for item in items:
            embedded = (
                item.get("comments", {}).get("data") if isinstance(item.get("comments"), dict) else None
            )
            if embedded:
                target = embedded[0]
                break
        else:
            target = items[0]
        target.pop("created_time", None)
        target.pop("timestamp", None)

    def _take_graph_fault(self, path: str) -> _GraphFault | None:
        for fault in self.graph_faults:
            if fault.times > 0 and path.startswith(fault.path):
                fault.times -= 1
                return fault
        return None

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("Authorization") or request.headers.get("authorization") or ""
        given = header.partition(" ")[2] if header.split(" ")[0] in ("Bearer", "OAuth") else ""
        return (given or request.params.get("access_token")) == self.token

    def route(self, request: Request) -> Reply:
        fault = self._take_graph_fault(request.path)
        if fault is not None:
            return Reply(fault.status, error_body(fault.code, fault.message, fault.subcode),
                         self._usage_headers(100 if fault.regain_minutes else self.usage_percent,
                                             fault.regain_minutes))  # fmt: skip
        if not self._authorized(request):
            return Reply(400, error_body(190, "Invalid OAuth access token - Cannot parse access token"))
        headers = self._usage_headers(self.usage_percent, self.regain_minutes)
        match = _VERSIONED.match(request.path)
        if not match:
            return Reply(400, error_body(2500, "Unknown path components: " + request.path), headers)
        version, node = match.groups()
        found = self._resolve(version, node, request.params)
        if found is None:
            message = (f"Unsupported get request. Object with ID '{node.split('/')[0]}' does not exist, cannot be "
                       "loaded due to missing permissions, or does not support this operation.")  # fmt: skip
            return Reply(400, error_body(100, message, 33), headers)
        if isinstance(found, Reply):
            found.headers.update(headers)
            return found
        return Reply(200, found, headers)

    def _resolve(self, version: str, node: str, params: Mapping[str, str]) -> dict[str, Any] | Reply | None:
        parts = node.split("/")
        if node == "ig_hashtag_search":
            tag = params.get("q", "").lstrip("#").lower()
            return {"data": [{"id": self.hashtags[tag], "name": tag}] if tag in self.hashtags else []}
        if len(parts) != 2:
            return None
        owner, edge = parts
        return self._facebook_edge(version, node, params, owner, edge) or self._instagram_edge(
            version, node, params, owner, edge
        )

    def _facebook_edge(
        self, version: str, node: str, params: Mapping[str, str], owner: str, edge: str
    ) -> dict[str, Any] | Reply | None:
        if owner == self.page_id and edge in ("posts", "feed", "visitor_posts", "tagged"):
            edges = {"posts": ("posts",), "feed": ("posts", "visitor_posts"), "visitor_posts": ("visitor_posts",),
                     "tagged": ("tagged",)}[edge]  # fmt: skip
            items = [p for p in self.posts.values() if p["_edge"] in edges]
            return self._listing(version, node, params, items, "created_time", self._fb_post)
        if edge == "comments" and owner in self.posts:
            return self._fb_comments(version, node, params, owner)
        return None

    def _instagram_edge(
        self, version: str, node: str, params: Mapping[str, str], owner: str, edge: str
    ) -> dict[str, Any] | Reply | None:
        if owner == self.ig_user_id and edge in ("media", "tags"):
            items = [m for m in self.media.values() if m["_edge"] == edge]
            return self._listing(version, node, params, items, "timestamp", self._ig_media)
        if edge == "comments" and owner in self.media:
            return self._ig_comment_page(version, node, params, owner)
        if edge == "recent_media" and owner in self.hashtags.values():
            if params.get("user_id") != self.ig_user_id:
                return Reply(400, error_body(100, "(#100) The parameter user_id is required"))
            tag = next(t for t, i in self.hashtags.items() if i == owner)
            items = [m for m in self.media.values() if tag in m["_hashtags"]]
            return self._listing(version, node, params, items, "timestamp", self._hashtag_media, since=False)
        return None

    # -- pages ---------------------------------------------------------------

    def _visible(self, items: Iterable[dict[str, Any]], field: str) -> list[dict[str, Any]]:
        now = graph_stamp(self.clock())
        return [i for i in items if i[field] <= now]

    def _page(
        self,
        version: str,
        node: str,
        params: Mapping[str, str],
        items: list[Any],
        *,
        limit: int | None = None,
    ) -> dict[str, Any] | Reply:
        """One page of ``items`` (already ordered) with cursors and, unless it is the last, ``next``."""
        size = limit if limit is not None else int(params.get("limit") or 25)
        start = _offset(params.get("after"))
        if start is None or not 0 < size <= 100:
            return Reply(400, error_body(100, "(#100) Invalid parameter"))
        chunk = items[start : start + size]
        body: dict[str, Any] = {"data": chunk}
        if chunk:
            body["paging"] = {"cursors": {"before": _cursor(start), "after": _cursor(start + len(chunk))}}
            if start + size < len(items):
                query = {k: v for k, v in params.items() if k not in ("after", "access_token")}
                query.update({"access_token": self.token, "limit": str(size), "after": _cursor(start + size)})
                body["paging"]["next"] = f"{self.url}/{version}/{node}?{urlencode(query)}"
        return body

    def _listing(
        self, version: str, node: str, params: Mapping[str, str], items: list[dict[str, Any]], field: str,
        render: Callable[[dict[str, Any], str, str], dict[str, Any]], since: bool = True,
    ) -> dict[str, Any] | Reply:  # fmt: skip
        chosen = self._visible(items, field)
        if since and params.get("since", "").isdigit():
            cutoff = graph_stamp(datetime.fromtimestamp(int(params["since"]), self.clock().tzinfo))
            chosen = [i for i in chosen if i[field] >= cutoff]
        chosen.sort(key=lambda i: (i[field], i["id"]), reverse=True)
        fields = params.get("fields", "")
        return self._page(version, node, params, [render(i, fields, version) for i in chosen])

    @staticmethod
    def _public(item: dict[str, Any]) -> dict[str, Any]:
        return {k: copy.deepcopy(v) for k, v in item.items() if not k.startswith("_")}

    def _fb_post(self, post: dict[str, Any], fields: str, version: str) -> dict[str, Any]:
        body = self._public(post)
        comments = [c for c in self.comments.values() if c["_post"] == post["id"]]
        summary = {"order": "chronological", "total_count": len(comments), "can_comment": True}
        body["reactions"] = {"data": [], "summary": {"total_count": 0, "viewer_reaction": "NONE"}}
        embed = _EMBED.search(fields)
        if embed and embed.group(2):  # comments.filter(stream).limit(25){...}: the first page of them
            options = dict(re.findall(r"\.(\w+)\(([^)]*)\)", embed.group(1)))
            params = {"filter": options.get("filter", "toplevel"), "limit": options.get("limit", "25")}
            page = self._fb_comments(version, f"{post['id']}/comments", params, post["id"])
            body["comments"] = page if isinstance(page, dict) else {"data": []}
        else:
            body["comments"] = {"data": [], "summary": summary}
        return body

    def _fb_comments(
        self, version: str, node: str, params: Mapping[str, str], post_id: str
    ) -> dict[str, Any] | Reply:
        stream = params.get("filter") == "stream"
        chosen = [c for c in self._visible(self.comments.values(), "created_time") if c["_post"] == post_id]
        if not stream:
            chosen = [c for c in chosen if c["_parent"] is None]
        chosen.sort(key=lambda c: (c["created_time"], c["id"]))
        return self._page(version, node, params, [self._public(c) for c in chosen])

    def _ig_media(self, media: dict[str, Any], fields: str, version: str) -> dict[str, Any]:
        body = self._public(media)
        embed = _EMBED.search(fields)
        if embed and embed.group(2):
            options = dict(re.findall(r"\.(\w+)\(([^)]*)\)", embed.group(1)))
            page = self._ig_comment_page(version, f"{media['id']}/comments", {"limit": options.get("limit", "25")},
                                         media["id"])  # fmt: skip
            body["comments"] = page if isinstance(page, dict) else {"data": []}
        return body

    def _hashtag_media(self, media: dict[str, Any], fields: str, version: str) -> dict[str, Any]:
        body = self._public(media)
        body.pop("username", None)  # hashtag search does not reveal who posted
        return body

    def _ig_comment_page(
        self, version: str, node: str, params: Mapping[str, str], media_id: str
    ) -> dict[str, Any] | Reply:
        visible = self._visible(self.ig_comments.values(), "timestamp")
        top = sorted((c for c in visible if c["_media"] == media_id and c["_parent"] is None),
                     key=lambda c: (c["timestamp"], c["id"]), reverse=True)  # fmt: skip
        rendered = []
        for comment in top:
            body = self._public(comment)
            replies = sorted(
                (r for r in visible if r["_parent"] == comment["id"]), key=lambda r: r["timestamp"]
            )
            if replies:
                body["replies"] = {"data": [self._public(r) for r in replies]}
            rendered.append(body)
        return self._page(version, node, params, rendered)
