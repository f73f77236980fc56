"""A local YouTube Data API v3 server: search, comment threads, comments, videos, channels, playlist items.

The shapes follow the recorded responses in ``shared/fixtures/youtube``
(``kind``, ``etag``, ``pageInfo``, ``nextPageToken``, ``items`` with
``snippet``; counts as strings) and the documented error body
``{"error": {"code", "message", "errors": [{"domain", "reason", "message"}], "status"}}``.
It checks the ``key`` parameter, counts the quota units it served per Pacific
day (search 100, the rest 1; only answered requests count) and answers
``quotaExceeded`` once a day's ``daily_quota`` would be passed, as the real API does.
Search queries (``|`` for OR, ``-`` for NOT) are evaluated with listener's own matcher.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from collectors.youtube_quota import day_start
from listener.demo.wire import Fault, Reply, Request, WireServer
from listener.errors import QueryError
from listener.query import Query
from listener.records import utcnow

__all__ = ["YouTubeServer", "error_body"]

_PREFIX = "/youtube/v3/"
_COST = {"search": 100}  # every other list call costs 1 unit
_ETAG = "j6xRRd8dTPVVptg711_CSPADRfg"


def error_body(code: int, message: str, reason: str, domain: str, status: str) -> dict[str, Any]:
    """The error envelope Google APIs send (see ``youtube/error_permission_resp.json``)."""
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
            "status": status,
        }
    }


def _id(seed: str, length: int) -> str:
    """A stable id in YouTube's alphabet (url-safe base64)."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(seed.encode()).digest()).decode()
    return digest.replace("=", "")[:length]


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class _View:
    """What the query matcher reads of a video."""

    network: str
    text: str
    author_handle: str | None
    language: str | None
    url: str | None


def _pacific_day(moment: datetime) -> date:
    return day_start(moment).date()  # the planner's own definition of a quota day


class YouTubeServer(WireServer):
    """Serves scripted channels, videos and comments to an API-key client, as www.googleapis.com would."""

    def __init__(
        self,
        api_key: str = "demo-youtube-key",
        clock: Callable[[], datetime] = utcnow,
        daily_quota: int = 10_000,
    ) -> None:
        super().__init__(clock)
        self.api_key = api_key
        self.daily_quota = daily_quota
        self.channels: dict[str, dict[str, Any]] = {}  # id -> channel resource
        self.videos: dict[str, dict[str, Any]] = {}  # id -> video resource (snippet, statistics)
        self.threads: dict[str, dict[str, Any]] = {}  # id -> commentThread resource, without replies
        self.replies: dict[str, list[dict[str, Any]]] = {}  # thread id -> reply comments, oldest first
        self.comments_disabled: set[str] = set()
        self.units: dict[date, int] = {}  # Pacific day -> units served
        self._sequence = 0

    # -- content -------------------------------------------------------------

    def add_channel(self, name: str) -> str:
        """A channel titled ``name`` (handle ``@name``); returns its ``UC…`` id."""
        for channel in self.channels.values():
            if channel["snippet"]["title"] == name:
                return str(channel["id"])
        channel_id = "UC" + _id(f"channel:{name}", 22)
        self.channels[channel_id] = {
            "kind": "youtube#channel",
            "etag": _id(f"etag:{channel_id}", 27),
            "id": channel_id,
            "snippet": {"title": name, "description": "", "customUrl": f"@{name.lower()}",
                        "publishedAt": "2015-01-01T00:00:00Z"},
            "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": "UU" + channel_id[2:]}},
        }  # fmt: skip
        return channel_id

    def add_video(
        self, channel: str, title: str, when: datetime, *, description: str = "", lang: str | None = None
    ) -> str:
        """An upload of ``channel`` (a name), found by search and listed in its uploads playlist."""
        self._sequence += 1
        channel_id = self.add_channel(channel)
        video_id = _id(f"video:{self._sequence}:{title}", 11)
        snippet: dict[str, Any] = {
            "publishedAt": _stamp(when),
            "channelId": channel_id,
            "title": title,
            "description": description,
            "thumbnails": {"default": {"url": f"https://i.ytimg.com/vi/{video_id}/default.jpg",
                                       "width": 120, "height": 90}},
            "channelTitle": channel,
            "liveBroadcastContent": "none",
        }  # fmt: skip
        if lang:
            snippet["defaultAudioLanguage"] = lang
        self.videos[video_id] = {
            "kind": "youtube#video",
            "etag": _id(f"etag:{video_id}", 27),
            "id": video_id,
            "snippet": snippet,
            "statistics": {"viewCount": "0", "likeCount": "0", "favoriteCount": "0", "commentCount": "0"},
        }
        return video_id

    def add_comment(
        self,
        video_id: str,
        author: str,
        text: str,
        when: datetime,
        *,
        reply_to: str | None = None,
        likes: int = 0,
    ) -> str:
        """A comment on a video, or a reply to the thread ``reply_to``; returns its id."""
        self._sequence += 1
        author_id = "UC" + _id(f"channel:{author}", 22)
        snippet: dict[str, Any] = {
            "authorDisplayName": f"@{author}",
            "authorProfileImageUrl": "https://yt3.ggpht.com/a/default-user=s48-c-k-c0xffffffff-no-rj-mo",
            "authorChannelUrl": f"http://www.youtube.com/channel/{author_id}",
            "authorChannelId": {"value": author_id},
            "channelId": self.videos[video_id]["snippet"]["channelId"],
            "videoId": video_id,
            "textDisplay": html.escape(text).replace("\n", "<br>"),
            "textOriginal": text,
            "canRate": True,
            "viewerRating": "none",
            "likeCount": likes,
            "publishedAt": _stamp(when),
            "updatedAt": _stamp(when),
        }
        stats = self.videos[video_id]["statistics"]
        stats["commentCount"] = str(int(stats["commentCount"]) + 1)
        if reply_to is not None:
            reply_id = f"{reply_to}.{_id(f'reply:{self._sequence}', 22)}"
            snippet["parentId"] = reply_to
            self.replies.setdefault(reply_to, []).append(
                {"kind": "youtube#comment", "etag": _id(reply_id, 27), "id": reply_id, "snippet": snippet}
            )
            self.threads[reply_to]["snippet"]["totalReplyCount"] += 1
            return reply_id
        thread_id = "Ug" + _id(f"thread:{self._sequence}", 20) + "4AaABAg"
        comment = {"kind": "youtube#comment", "etag": _id(thread_id, 27), "id": thread_id, "snippet": snippet}
        self.threads[thread_id] = {
            "kind": "youtube#commentThread",
            "etag": _id(f"t{thread_id}", 27),
            "id": thread_id,
            "snippet": {"channelId": snippet["channelId"], "videoId": video_id, "topLevelComment": comment,
                        "canReply": True, "totalReplyCount": 0, "isPublic": True},
        }  # fmt: skip
        return thread_id

    def add_mention(
        self, author: str, text: str, when: datetime, *, lang: str | None = None, reply_to: str | None = None
    ) -> str:
        """A video by ``author`` titled ``text`` (what a watch's search finds); with ``reply_to``, a comment.

        ``reply_to`` may be a video id (a new comment thread) or a thread id (a reply).
        """
        if reply_to is None:
            return self.add_video(
                author, text[:100], when, description=text if len(text) > 100 else "", lang=lang
            )
        if reply_to in self.videos:
            return self.add_comment(reply_to, author, text, when)
        video = self.threads[reply_to]["snippet"]["videoId"]
        return self.add_comment(video, author, text, when, reply_to=reply_to)

    def disable_comments(self, video_id: str) -> None:
        self.comments_disabled.add(video_id)

    def units_on(self, moment: datetime) -> int:
        """Units served on the Pacific day that contains ``moment``."""
        return self.units.get(_pacific_day(moment), 0)

    def calls(self, endpoint: str) -> list[Request]:
        """The requests made to one endpoint (``search``, ``commentThreads``…), faults included."""
        return [r for r in self.requests if r.path == _PREFIX + endpoint]

    # -- faults --------------------------------------------------------------

    def error_reply(self, status: int, fault: Fault) -> Reply:
        if status == 429:
            body = error_body(429, "Resource has been exhausted (e.g. check quota).", "rateLimitExceeded",
                              "usageLimits", "RESOURCE_EXHAUSTED")  # fmt: skip
            return Reply(429, body, {"Retry-After": str(int(fault.seconds))})
        if status == 401:
            return Reply(401, error_body(401, "Request is missing required authentication credential.",
                                         "required", "global", "UNAUTHENTICATED"))  # fmt: skip
        if status == 403:
            return Reply(403, error_body(403, "The caller does not have permission", "forbidden",
                                         "youtube.CoreErrorDomain", "PERMISSION_DENIED"))  # fmt: skip
        return Reply(status, error_body(status, "Backend Error", "backendError", "global",
                                        "UNAVAILABLE" if status == 503 else "INTERNAL"))  # fmt: skip

    def corrupt(self, body: Any) -> None:
        items = body.get("items") if isinstance(body, dict) else None
        if items:
            snippet = items[0]["snippet"]
            target = snippet["topLevelComment"]["snippet"] if "topLevelComment" in snippet else snippet
            del target["publishedAt"]

    # -- wire ----------------------------------------------------------------

    def route(self, request: Request) -> Reply:
        params = request.params
        if params.get("key") != self.api_key:
            return Reply(400, error_body(400, "API key not valid. Please pass a valid API key.", "keyInvalid",
                                         "usageLimits", "INVALID_ARGUMENT"))  # fmt: skip
        endpoint = request.path.removeprefix(_PREFIX)
        handler = {
            "search": self._search,
            "commentThreads": self._comment_threads,
            "comments": self._comments,
            "videos": self._videos,
            "channels": self._channels,
            "playlistItems": self._playlist_items,
        }.get(endpoint)
        if handler is None or not request.path.startswith(_PREFIX):
            return Reply(404, error_body(404, "Not Found", "notFound", "global", "NOT_FOUND"))
        cost = _COST.get(endpoint, 1)
        day = _pacific_day(self.clock())
        if self.units.get(day, 0) + cost > self.daily_quota:
            return Reply(403, error_body(
                403,
                "The request cannot be completed because you have exceeded your "
                '<a href="/youtube/v3/getting-started#quota">quota</a>.',
                "quotaExceeded", "youtube.quota", "PERMISSION_DENIED",
            ))  # fmt: skip
        reply = handler(params)
        if reply.status == 200:
            self.units[day] = self.units.get(day, 0) + cost
        return reply

    def _visible(self, resource: dict[str, Any]) -> bool:
        return str(resource["snippet"]["publishedAt"]) <= _stamp(self.clock())

    def _page(self, kind: str, items: Sequence[dict[str, Any]], params: Mapping[str, str], default: int,
              most: int) -> Reply:  # fmt: skip
        """One page of ``items`` (already in the API's order), with offset page tokens like ``CAoQAA``."""
        try:
            size = int(params.get("maxResults", default))
            offset = (
                int(base64.urlsafe_b64decode(params["pageToken"]).decode()) if params.get("pageToken") else 0
            )
        except ValueError:
            return Reply(400, error_body(400, "Invalid value.", "invalidParameter", "youtube.parameter",
                                         "INVALID_ARGUMENT"))  # fmt: skip
        if not 0 <= size <= most:
            return Reply(400, error_body(400, f"Invalid value for maxResults: {size}", "invalidParameter",
                                         "youtube.parameter", "INVALID_ARGUMENT"))  # fmt: skip
        page = [copy.deepcopy(i) for i in items[offset : offset + size]]
        body: dict[str, Any] = {"kind": f"youtube#{kind}ListResponse", "etag": f'"{_ETAG}/{_id(kind, 27)}"'}
        if offset + size < len(items):
            body["nextPageToken"] = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
        if offset:
            body["prevPageToken"] = base64.urlsafe_b64encode(str(max(0, offset - size)).encode()).decode()
        body["pageInfo"] = {"totalResults": len(items), "resultsPerPage": size}
        body["items"] = page
        return Reply(200, body)

    def _search(self, params: Mapping[str, str]) -> Reply:
        text = re.sub(r"\s*\|\s*", " OR ", params.get("q", ""))
        try:
            query = Query.parse(text) if text.strip() else None
        except QueryError as exc:
            return Reply(400, error_body(400, f"Invalid query: {exc}", "invalidSearchFilter", "youtube.search",
                                         "INVALID_ARGUMENT"))  # fmt: skip
        after, before = params.get("publishedAfter", ""), params.get("publishedBefore", "")
        found = []
        for video in self.videos.values():
            s = video["snippet"]
            view = _View("youtube", f"{s['title']}\n{s['description']}", None, None, None)
            if not self._visible(video) or (query is not None and not query.matches(view)):
                continue
            if (after and s["publishedAt"] < _normal(after)) or (
                before and s["publishedAt"] >= _normal(before)
            ):
                continue
            if params.get("channelId") and s["channelId"] != params["channelId"]:
                continue
            found.append(video)
        found.sort(key=lambda v: v["snippet"]["publishedAt"], reverse=True)  # order=date
        items = [
            {
                "kind": "youtube#searchResult",
                "etag": _id(f"s{v['id']}", 27),
                "id": {"kind": "youtube#video", "videoId": v["id"]},
                "snippet": {
                    **{k: v["snippet"][k] for k in ("publishedAt", "channelId", "thumbnails", "channelTitle",
                                                    "liveBroadcastContent")},
                    "title": html.escape(v["snippet"]["title"]),  # search snippets come HTML-escaped
                    "description": html.escape(_cut(v["snippet"]["description"])),
                },
            }
            for v in found
        ]  # fmt: skip
        reply = self._page("search", items, params, default=5, most=50)
        if reply.status == 200:
            reply.body["regionCode"] = "IT"
        return reply

    def _comment_threads(self, params: Mapping[str, str]) -> Reply:
        video, channel = params.get("videoId"), params.get("allThreadsRelatedToChannelId")
        if video is not None:
            if video not in self.videos:
                return Reply(404, error_body(404, "The video identified by the videoId parameter could not be "
                                             "found.", "videoNotFound", "youtube.commentThread", "NOT_FOUND"))  # fmt: skip
            if video in self.comments_disabled:
                return Reply(403, error_body(403, "The video identified by the videoId parameter has disabled "
                                             "comments.", "commentsDisabled", "youtube.commentThread",
                                             "PERMISSION_DENIED"))  # fmt: skip
            threads = [t for t in self.threads.values() if t["snippet"]["videoId"] == video]
        elif channel is not None:
            threads = [t for t in self.threads.values() if t["snippet"]["channelId"] == channel]
        else:
            return Reply(400, error_body(400, "No filter selected. Expected one of: videoId, "
                                         "allThreadsRelatedToChannelId, id, channelId", "missingRequiredParameter",
                                         "youtube.parameter", "INVALID_ARGUMENT"))  # fmt: skip
        threads = [t for t in threads if self._visible(t["snippet"]["topLevelComment"])]
        threads.sort(key=lambda t: t["snippet"]["topLevelComment"]["snippet"]["publishedAt"], reverse=True)
        if "replies" in params.get("part", ""):
            threads = [self._with_replies(t) for t in threads]
        return self._page("commentThread", threads, params, default=20, most=100)

    def _with_replies(self, thread: dict[str, Any]) -> dict[str, Any]:
        replies = [r for r in self.replies.get(thread["id"], []) if self._visible(r)]
        if not replies:
            return thread
        return {**thread, "replies": {"comments": replies[-5:]}}  # the part carries a few recent replies

    def _comments(self, params: Mapping[str, str]) -> Reply:
        if "parentId" in params:
            found = [r for r in self.replies.get(params["parentId"], []) if self._visible(r)]
        else:
            wanted = params.get("id", "").split(",")
            found = [r for rs in self.replies.values() for r in rs if r["id"] in wanted]
            found += [t["snippet"]["topLevelComment"] for t in self.threads.values() if t["id"] in wanted]
        return self._page("comment", found, params, default=20, most=100)

    def _videos(self, params: Mapping[str, str]) -> Reply:
        wanted = params.get("id", "").split(",")
        found = [v for i in wanted if (v := self.videos.get(i)) is not None]
        return self._page("video", found, params, default=50, most=50)

    def _channels(self, params: Mapping[str, str]) -> Reply:
        handle = params.get("forHandle", "").lstrip("@").lower()
        ids = params.get("id", "").split(",")
        found = [
            c
            for c in self.channels.values()
            if c["id"] in ids or (handle and c["snippet"]["customUrl"] == f"@{handle}")
        ]
        return self._page("channel", found, params, default=5, most=50)

    def _playlist_items(self, params: Mapping[str, str]) -> Reply:
        playlist = params.get("playlistId", "")
        owner = self.channels.get("UC" + playlist[2:]) if playlist.startswith("UU") else None
        if owner is None:
            return Reply(404, error_body(404, "The playlist identified with the request's playlistId parameter "
                                         "cannot be found.", "playlistNotFound", "youtube.playlistItem",
                                         "NOT_FOUND"))  # fmt: skip
        uploads = [
            v for v in self.videos.values() if v["snippet"]["channelId"] == owner["id"] and self._visible(v)
        ]
        uploads.sort(key=lambda v: v["snippet"]["publishedAt"], reverse=True)
        items = [self._playlist_item(playlist, v, n) for n, v in enumerate(uploads)]
        return self._page("playlistItem", items, params, default=5, most=50)

    def _playlist_item(self, playlist: str, video: dict[str, Any], position: int) -> dict[str, Any]:
        s = video["snippet"]
        return {
            "kind": "youtube#playlistItem",
            "etag": _id(f"p{video['id']}", 27),
            "id": _id(f"{playlist}.{video['id']}", 48),
            "snippet": {
                "publishedAt": s["publishedAt"], "channelId": s["channelId"], "title": s["title"],
                "description": s["description"], "thumbnails": s["thumbnails"], "channelTitle": s["channelTitle"],
                "playlistId": playlist, "position": position,
                "resourceId": {"kind": "youtube#video", "videoId": video["id"]},
                "videoOwnerChannelTitle": s["channelTitle"], "videoOwnerChannelId": s["channelId"],
            },
            "contentDetails": {"videoId": video["id"], "videoPublishedAt": s["publishedAt"]},
        }  # fmt: skip


def _normal(stamp: str) -> str:
    """An RFC 3339 parameter in the form the server stores (``...Z``, no fraction), for comparison."""
    return re.sub(r"\.\d+Z$", "Z", stamp.replace("+00:00", "Z"))


def _cut(description: str) -> str:
    """Search snippets cut long descriptions off with ``...``."""
    return description if len(description) <= 160 else description[:157].rstrip() + " ..."
