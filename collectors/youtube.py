"""YouTube: keyword search per watch, comments on your videos and your own uploads, Data API v3.

Everything goes through google-api-python-client with an API key (no OAuth):
``search.list`` (100 units a page) for watches; ``commentThreads.list`` per
video (1 unit) for the ``comments`` feed; the channel's uploads playlist
(``playlistItems.list`` plus ``videos.list`` for counts, 1 unit each) for the
``posts:@<channel>`` feed. What a run may spend is planned in
``collectors.youtube_quota``: polls always run, searches wait for the pace.

Cursors are JSON. A search keeps ``published_after`` (moved only on the last
page of a walk) and ``searched_at``; the comments feed keeps, per video, the
newest comment time it has seen; the uploads feed the newest upload time.
"""

from __future__ import annotations

import html
import http.client
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, cast

import httplib2  # type: ignore[import-untyped]
from googleapiclient import discovery  # type: ignore[import-untyped]
from googleapiclient.errors import HttpError  # type: ignore[import-untyped]
from pydantic import Field as PydanticField

from collectors import youtube_quota as quota
from collectors._common import (
    Leaf,
    Lowered,
    Syntax,
    cannot_connect,
    lower_query,
    no_answer,
    protect,
    require_env,
    retrying,
    until,
    utc_from_iso,
)
from collectors._html import html_to_text
from collectors.base import Collector, Context, Ledger, NetworkSettings
from listener.errors import AuthError, CollectorError, MalformedPayload, RateLimited, SourceUnavailable
from listener.model import Cursor, Feed, Mention, Page, Reject, Watch
from listener.query import Field, Phrase, Query, Term

__all__ = [
    "COMMENTS",
    "Settings",
    "YouTubeCollector",
    "build_service",
    "normalize_comment_page",
    "normalize_search_page",
    "normalize_thread_page",
    "normalize_video_page",
    "to_youtube_query",
    "uploads_playlist",
]

log = logging.getLogger(__name__)
COMMENTS = "comments"  # the feed of comments on your videos
_LOGGERS = ("googleapiclient.discovery", "googleapiclient.http", "googleapiclient.model", "httplib2")
_SKIP_REASONS = ("commentsDisabled", "videoNotFound")  # one video is unavailable, not the run


class Settings(NetworkSettings):
    """``[networks.youtube]``: the API key is read from the variable named in ``api_key_env``."""

    api_key_env: str = "YOUTUBE_API_KEY"
    api_base_url: str | None = None  # e.g. the demo server; replaces https://youtube.googleapis.com
    channel_id: str | None = None  # your channel, "UC…" or "@handle": its uploads and their comments
    videos: tuple[str, ...] = ()  # video ids whose comments are polled every run
    recent_video_days: int = PydanticField(default=7, ge=0)  # also poll comments of uploads this recent
    channel_threads: bool = False  # also poll allThreadsRelatedToChannelId (comments on the channel itself)
    daily_unit_share: int = PydanticField(default=2000, ge=1, le=quota.DAILY_QUOTA)
    pacing: bool = True  # spread searches over the day; false: search whenever the share allows
    max_results: int = PydanticField(default=50, ge=1, le=50)  # items per page
    pages_per_run: int = PydanticField(default=2, ge=1)  # search and uploads pages per run
    comment_pages_per_video: int = PydanticField(default=3, ge=1)


def build_service(key: str, base_url: str | None, timeout: float) -> Any:
    """The API client, from the discovery document shipped in the package: no request to build it."""
    options = {"api_endpoint": base_url.rstrip("/") + "/"} if base_url else None
    # httplib2 would send 127.0.0.1 through an environment proxy: a local server is reached directly.
    http = httplib2.Http(
        timeout=timeout, proxy_info=None if base_url else httplib2.proxy_info_from_environment
    )
    return discovery.build(
        "youtube", "v3", developerKey=key, http=http, static_discovery=True, cache_discovery=False,
        client_options=options,
    )  # fmt: skip


# -- query -------------------------------------------------------------------

_YT_SYNTAX = Syntax(and_=" ", or_=" | ", not_=lambda s: f"-{s}")


def _yt_leaf(node: Leaf) -> tuple[Lowered, bool]:
    match node:
        case Term(word, prefix):
            return (True, False) if prefix else (word, True)
        case Phrase(text):
            return f'"{text}"', True
        case Field("network", value):
            return value == "youtube", True
        case Field():
            return True, False  # lang:, author:, site: are checked locally
    raise TypeError(node)


def to_youtube_query(query: Query) -> tuple[Lowered, bool]:
    """The watch query in YouTube's ``q`` syntax (``|`` for OR, ``-`` for NOT), and whether it is exact."""
    return lower_query(query.root, _yt_leaf, _YT_SYNTAX)


# -- normalising -------------------------------------------------------------


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(value: Any) -> int | None:
    """Counts come as strings in ``statistics`` and as numbers in comments."""
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else None


def _text(title: str, description: str) -> str:
    return f"{title}\n\n{description}" if description.strip() else title


def watch_url(video_id: str) -> str:
    return f"https://www.youtube.com/watch?v={video_id}"


def _string(mapping: Mapping[str, Any], key: str) -> str:
    value = mapping.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"missing or invalid field {key!r}")
    return value


def normalize_search_item(item: Any) -> Mention:
    """A ``youtube#searchResult`` (a video) as a ``Mention``; search snippets are HTML-escaped."""
    video_id = _string(_object(_object(item).get("id")), "videoId")
    snippet = _object(item["snippet"])
    title = html.unescape(_string(snippet, "title"))
    channel_title = snippet.get("channelTitle")
    return Mention(
        network="youtube",
        native_id=video_id,
        text=_text(title, html.unescape(snippet.get("description") or "")),
        created_at=utc_from_iso(_string(snippet, "publishedAt")),
        url=watch_url(video_id),
        author_id=snippet.get("channelId"),
        author_name=html.unescape(channel_title) if isinstance(channel_title, str) else None,
        conversation_id=video_id,
        raw=item,
    )


def normalize_video(item: Any) -> Mention:
    """A ``youtube#video`` from ``videos.list``: plain text, counts from ``statistics``."""
    video_id = _string(_object(item), "id")
    snippet, stats = _object(item["snippet"]), _object(item.get("statistics"))
    language = snippet.get("defaultAudioLanguage") or snippet.get("defaultLanguage")
    return Mention(
        network="youtube",
        native_id=video_id,
        text=_text(_string(snippet, "title"), snippet.get("description") or ""),
        created_at=utc_from_iso(_string(snippet, "publishedAt")),
        url=watch_url(video_id),
        author_id=snippet.get("channelId"),
        author_name=snippet.get("channelTitle"),
        language=language if isinstance(language, str) and language != "zxx" else None,
        conversation_id=video_id,
        like_count=_count(stats.get("likeCount")),
        reply_count=_count(stats.get("commentCount")),
        view_count=_count(stats.get("viewCount")),
        raw=item,
    )


def normalize_comment(
    comment: Any, *, video_id: str | None = None, replies: int | None = None, raw: Any = None
) -> Mention:
    """A ``youtube#comment``: ``textOriginal`` is the plain text (``textDisplay`` is HTML).

    Replies have ids ``<thread id>.<suffix>`` and a ``parentId``. A comment on
    the channel itself (no video) links to the channel's page.
    """
    comment_id = _string(_object(comment), "id")
    s = _object(comment["snippet"])
    text = s.get("textOriginal")
    if not isinstance(text, str):
        text = html_to_text(_string(s, "textDisplay"))
    video = s.get("videoId") or video_id
    channel = s.get("channelId")
    if video:
        url: str | None = f"{watch_url(video)}&lc={comment_id}"
    else:
        url = f"https://www.youtube.com/channel/{channel}/discussion?lc={comment_id}" if channel else None
    name = s.get("authorDisplayName")
    parent = s.get("parentId")
    return Mention(
        network="youtube",
        native_id=comment_id,
        text=text,
        created_at=utc_from_iso(_string(s, "publishedAt")),
        url=url,
        author_id=_object(s.get("authorChannelId")).get("value"),
        author_handle=name[1:] if isinstance(name, str) and name.startswith("@") else None,
        author_name=name if isinstance(name, str) else None,
        in_reply_to_id=parent if isinstance(parent, str) else None,
        conversation_id=video or (parent if isinstance(parent, str) else comment_id),
        like_count=_count(s.get("likeCount")),
        reply_count=replies,
        raw=comment if raw is None else raw,
    )


def _reject(reason: Exception, item: Any) -> Reject:
    native_id = item.get("id") if isinstance(item, dict) else None
    return Reject(
        "youtube",
        str(reason) or type(reason).__name__,
        item,
        native_id if isinstance(native_id, str) else None,
    )


def _items(body: Mapping[str, Any]) -> list[Any]:
    items = body.get("items", [])
    if not isinstance(items, list):
        raise MalformedPayload(f"youtube: 'items' is {type(items).__name__}, not a list")
    return items


def _normalize_each(
    body: Mapping[str, Any], one: Callable[[Any], Mention]
) -> tuple[list[Mention], list[Reject]]:
    mentions: list[Mention] = []
    rejects: list[Reject] = []
    for item in _items(body):
        try:
            mentions.append(one(item))
        except (KeyError, TypeError, ValueError) as exc:
            rejects.append(_reject(exc, item))
    return mentions, rejects


def normalize_search_page(body: Mapping[str, Any]) -> tuple[list[Mention], list[Reject]]:
    return _normalize_each(body, normalize_search_item)


def normalize_video_page(body: Mapping[str, Any]) -> tuple[list[Mention], list[Reject]]:
    return _normalize_each(body, normalize_video)


def normalize_comment_page(
    body: Mapping[str, Any], video_id: str | None = None
) -> tuple[list[Mention], list[Reject]]:
    """A ``comments.list`` page (replies by ``parentId``, or comments by id)."""
    return _normalize_each(body, lambda c: normalize_comment(c, video_id=video_id))


def normalize_thread_page(body: Mapping[str, Any]) -> tuple[list[Mention], list[Reject]]:
    """A ``commentThreads.list`` page: each thread's top comment and the replies that came with it."""
    mentions: list[Mention] = []
    rejects: list[Reject] = []
    for thread in _items(body):
        try:
            snippet = _object(thread["snippet"])
            video = snippet.get("videoId")
            bare = {k: v for k, v in thread.items() if k != "replies"}
            replies = _count(snippet.get("totalReplyCount"))
            top = normalize_comment(snippet["topLevelComment"], video_id=video, replies=replies, raw=bare)
            mentions.append(top)
        except (KeyError, TypeError, ValueError) as exc:
            rejects.append(_reject(exc, thread))
            continue
        for reply in _object(thread.get("replies")).get("comments") or []:
            try:
                mentions.append(normalize_comment(reply, video_id=video))
            except (KeyError, TypeError, ValueError) as exc:
                rejects.append(_reject(exc, reply))
    return mentions, rejects


def _playlist_video(item: Any) -> tuple[str | None, str | None]:
    """A playlist item's video id and publishing time; ``contentDetails`` has both, ``snippet`` stands in."""
    details, snippet = _object(_object(item).get("contentDetails")), _object(_object(item).get("snippet"))
    video = details.get("videoId") or _object(snippet.get("resourceId")).get("videoId")
    published = details.get("videoPublishedAt") or snippet.get("publishedAt")
    return (video if isinstance(video, str) else None), (published if isinstance(published, str) else None)


def uploads_playlist(body: Mapping[str, Any]) -> str | None:
    """The uploads playlist id (``UU…``) from a ``channels.list`` answer with ``contentDetails``."""
    for channel in _items(body):
        uploads = _object(_object(_object(channel).get("contentDetails")).get("relatedPlaylists")).get(
            "uploads"
        )
        if isinstance(uploads, str) and uploads:
            return uploads
    return None


# -- errors ------------------------------------------------------------------


class _Skipped(CollectorError):
    """One video cannot be read (comments disabled, video gone): skip it, the run goes on."""


def _error_fields(exc: HttpError) -> tuple[str, str, str, str]:
    """(reason, domain, status, message) of Google's error body, empty where absent."""
    try:
        error = _object(json.loads(exc.content.decode("utf-8")).get("error"))
    except (ValueError, AttributeError):
        return "", "", "", ""
    first = _object((error.get("errors") or [{}])[0])
    message = html_to_text(str(error.get("message") or first.get("message") or ""))
    return str(first.get("reason", "")), str(first.get("domain", "")), str(error.get("status", "")), message


def _stamp(moment: datetime) -> str:
    """RFC 3339 as the API takes it in ``publishedAfter``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- collecting --------------------------------------------------------------


class YouTubeCollector(Collector):
    """Search, comments and uploads through google-api-python-client, within a daily unit share."""

    name: ClassVar[str] = "youtube"
    Settings: ClassVar[type[NetworkSettings]] = Settings
    has_feeds: ClassVar[bool] = True
    has_quota: ClassVar[bool] = True  # a daily share of the project's units

    def __init__(
        self,
        settings: NetworkSettings,
        env: Mapping[str, str],
        context: Context | None = None,
        *,
        service: Any = None,
    ) -> None:
        """``service`` replaces the built client (tests build one on the library's ``HttpMockSequence``)."""
        super().__init__(settings, env, context)
        self.settings = cast(Settings, settings)
        key = require_env(env, self.settings.api_key_env, "youtube", "API key")
        protect([key], *_LOGGERS)  # the key travels in every URL, which googleapiclient logs
        s = self.settings
        self.service = service or build_service(key, s.api_base_url, s.timeout_seconds)
        self._unbilled = 0  # units of calls not yet declared on a page
        self._spent_here = 0  # units of this fetch, not yet in the ledger

    # -- sources -------------------------------------------------------------

    def feeds(self) -> list[Feed]:
        found = []
        if self.settings.channel_id:
            found.append(Feed(f"posts:@{self.settings.channel_id.lstrip('@')}", keep_all=True))
        if self.settings.channel_id or self.settings.videos:
            found.append(Feed(COMMENTS, keep_all=True))
        return found

    @staticmethod
    def quota_status(settings: NetworkSettings, ledger: Ledger, now: datetime) -> tuple[int, int, datetime]:
        """(used, share, resets_at) for ``listener status``."""
        return quota.quota_status(cast(Settings, settings), ledger, now)

    def fetch(self, source: Watch | Feed, cursor: Cursor | None, budget: int | None = None) -> Iterator[Page]:
        """Pages of a watch's search, or of the ``comments`` or ``posts:@…`` feed."""
        self._unbilled = self._spent_here = 0
        state: dict[str, Any] = json.loads(cursor) if cursor else {}
        try:
            if isinstance(source, Watch):
                yield from self._search(source, state)
            elif source.name == COMMENTS:
                yield from self._comments(state)
            else:
                yield from self._uploads(source.name, state)
        finally:
            self.close()

    def close(self) -> None:
        """Close the client's sockets: httplib2 keeps them open until told (httplib2 issue 148)."""
        close = getattr(getattr(self.service, "_http", None), "close", None)
        if close is not None:
            close()

    # -- quota ---------------------------------------------------------------

    def spent_today(self) -> int:
        """Units spent since the last reset: finished runs (the ledger) plus this fetch's calls."""
        now = self.clock()
        before = self.ledger.units_since(quota.day_start(now)) if self.ledger is not None else 0
        return before + self._spent_here

    def poll_units_per_run(self) -> int:
        """What one run's polls cost at least: a page per video, and the uploads and counts calls."""
        s = self.settings
        return len(s.videos) + (3 if s.channel_id else 0) + (1 if s.channel_threads and s.channel_id else 0)

    def _take_units(self) -> int:
        units, self._unbilled = self._unbilled, 0
        return units

    def _search_allowance(self, context: str) -> int:
        """Search pages the planner allows this run: 0 while the pace or the share says wait."""
        s, now = self.settings, self.clock()
        spent = self.spent_today()
        pages = quota.search_pages(
            share=s.daily_unit_share, spent=spent, now=now, interval_minutes=s.interval_minutes,
            poll_units_per_run=self.poll_units_per_run(), pacing=s.pacing,
        )  # fmt: skip
        if not pages:
            log.info(
                "%s: search deferred to keep within the daily share (%d of %d units used; quota resets %s)",
                context, spent, s.daily_unit_share, until(quota.next_reset(now).astimezone(UTC)),
            )  # fmt: skip
        return pages

    def _my_turn(self, watch: Watch, state: Mapping[str, Any], pages: int) -> bool:
        """Whether this watch takes the affordable search, or leaves it to another watch (see ``takes_turn``).

        Turns matter only while searches are scarce: with pacing off, or room for
        every watch seen today and one more, each watch just searches.
        """
        if self.ledger is None or not self.settings.pacing:
            return True
        s, now = self.settings, self.clock()
        searched = utc_from_iso(state["searched_at"]) if state.get("searched_at") else None
        passed = utc_from_iso(state["passed_at"]) if state.get("passed_at") else None
        feeds = {f.name for f in self.feeds()}

        def spenders(since: datetime | None) -> set[str]:
            return self.ledger.sources_since(since) - feeds if self.ledger is not None and since else set()

        known = spenders(now - timedelta(days=1)) | {watch.name}
        if pages > len(known):
            return True
        lookback = quota.rotation(
            s.daily_unit_share, self.poll_units_per_run(), s.interval_minutes, len(known)
        )
        return quota.takes_turn(
            watch.name, searched_at=searched, passed_at=passed, now=now, lookback=lookback,
            recent=spenders(now - lookback), since_search=spenders(searched), since_pass=spenders(passed),
        )  # fmt: skip

    # -- watches: search -----------------------------------------------------

    def _search(self, watch: Watch, state: dict[str, Any]) -> Iterator[Page]:
        context = f"youtube (watch {watch.name!r})"
        query, exact = to_youtube_query(Query(watch.root))
        if query is False:
            return  # e.g. network:reddit: nothing to ask YouTube
        if query is True or not query.replace("|", "").replace("(", "").replace(")", "").strip():
            raise CollectorError(f"{context}: nothing YouTube can search for in {watch.query!r}; add a word")
        affordable = self._search_allowance(context)
        allowed = min(self.settings.pages_per_run, affordable)
        if allowed and not self._my_turn(watch, state, affordable):
            log.info("%s: search passes its turn to the other watches", context)
            passed = {**state, "passed_at": _stamp(self.clock())}
            yield Page("youtube", watch.name, cursor=json.dumps(passed))  # remembered: next time it may go
            return
        after: str | None = state.get("published_after")
        resume = _object(state.get("resume"))
        token, newest = resume.get("page_token"), resume.get("newest")
        for pages in range(1, allowed + 1):
            params = {
                "part": "snippet", "q": query, "type": "video", "order": "date", "safeSearch": "none",
                "maxResults": self.settings.max_results, "publishedAfter": after, "pageToken": token,
            }  # fmt: skip
            body = self._call(context, "search", params)
            mentions, rejects = normalize_search_page(body)
            newest = max([newest or "", *(_stamp(m.created_at) for m in mentions)]) or None
            token = body.get("nextPageToken") or None
            if not exact:
                mentions = [m for m in mentions if Query(watch.root).matches(m)]
            searched = _stamp(self.clock())
            if token is None:
                cursor: str | None = json.dumps({"published_after": newest or after, "searched_at": searched})
            elif pages == allowed:
                resume = {"page_token": token, "newest": newest}
                cursor = json.dumps({"published_after": after, "resume": resume, "searched_at": searched})
            else:
                cursor = None
            yield Page("youtube", watch.name, mentions, cursor, rejects, units=self._take_units())
            if token is None:
                return

    # -- feeds: comments -----------------------------------------------------

    def _comments(self, state: dict[str, Any]) -> Iterator[Page]:
        """Comment threads of each configured and recent video (and of the channel), newest first."""
        context = f"youtube ({COMMENTS})"
        seen: dict[str, str] = dict(_object(state.get("videos")))
        targets = {v: {"videoId": v} for v in self.settings.videos}
        for video in self._recent_uploads(context):
            targets.setdefault(video, {"videoId": video})
        if self.settings.channel_threads and (channel := self._channel_id(context)):
            targets["channel"] = {"allThreadsRelatedToChannelId": channel}
        for key, target in targets.items():
            try:
                yield from self._threads(context, key, target, seen)
            except _Skipped as exc:
                log.warning("%s; skipped", exc)
        if self._unbilled:
            yield Page("youtube", COMMENTS, units=self._take_units())  # skipped videos cost units too

    def _threads(
        self, context: str, key: str, target: dict[str, str], seen: dict[str, str]
    ) -> Iterator[Page]:
        """Walk one video's threads until those already seen (or the page cap)."""
        since, newest, token = seen.get(key), seen.get(key), None
        where = f"{context}: video {key}" if "videoId" in target else f"{context}: channel threads"
        for pages in range(1, self.settings.comment_pages_per_video + 1):
            params = {"part": "snippet,replies", "order": "time", "maxResults": self.settings.max_results,
                      "pageToken": token, **target}  # fmt: skip
            body = self._call(where, "commentThreads", params)
            mentions, rejects = normalize_thread_page(body)
            tops = [m for m in mentions if m.in_reply_to_id is None]
            mentions += self._more_replies(where, body, since)
            stamps = [_stamp(m.created_at) for m in tops]
            newest = max([newest or "", *stamps]) or None
            token = body.get("nextPageToken") or None
            done = token is None or pages == self.settings.comment_pages_per_video
            done = done or (since is not None and any(t <= since for t in stamps))
            if done and newest:
                seen[key] = newest
            cursor = json.dumps({"videos": seen}) if done else None
            yield Page("youtube", COMMENTS, mentions, cursor, rejects, units=self._take_units())
            if done:
                return

    def _more_replies(self, where: str, body: Mapping[str, Any], since: str | None) -> list[Mention]:
        """Replies of new threads that carried fewer than all of them (one page of ``comments.list``)."""
        found: list[Mention] = []
        for thread in _items(body):
            snippet = _object(_object(thread).get("snippet"))
            top = _object(_object(snippet.get("topLevelComment")).get("snippet"))
            inline = len(_object(thread.get("replies")).get("comments") or [])
            total = _count(snippet.get("totalReplyCount")) or 0
            published = str(top.get("publishedAt", ""))
            if total <= inline or (since is not None and published and published <= since):
                continue
            params = {"part": "snippet", "parentId": thread.get("id"), "maxResults": 100}
            replies, _ = normalize_comment_page(self._call(where, "comments", params), snippet.get("videoId"))
            found += replies
        return found

    def _recent_uploads(self, context: str) -> list[str]:
        """Ids of the channel's uploads of the last ``recent_video_days`` days (one playlist page)."""
        if not self.settings.channel_id or self.settings.recent_video_days == 0:
            return []
        playlist = self._uploads_playlist(context)
        body = self._call(context, "playlistItems", {"part": "snippet,contentDetails", "playlistId": playlist,
                                                     "maxResults": 50})  # fmt: skip
        horizon = self.clock() - timedelta(days=self.settings.recent_video_days)
        videos = []
        for item in _items(body):
            video, published = _playlist_video(item)
            if video and published and utc_from_iso(published) >= horizon:
                videos.append(video)
        return videos

    # -- feeds: your uploads -------------------------------------------------

    def _uploads(self, feed: str, state: dict[str, Any]) -> Iterator[Page]:
        """The channel's own uploads, newest first, with their counts: the brand's own posts."""
        context = f"youtube ({feed})"
        playlist = self._uploads_playlist(context)
        since: str | None = state.get("since")
        newest, token = since, None
        for pages in range(1, self.settings.pages_per_run + 1):
            params = {"part": "snippet,contentDetails", "playlistId": playlist,
                      "maxResults": self.settings.max_results, "pageToken": token}  # fmt: skip
            body = self._call(context, "playlistItems", params)
            ids = [v for item in _items(body) if (v := _playlist_video(item)[0])]
            videos = (
                self._call(context, "videos", {"part": "snippet,statistics", "id": ",".join(ids)})
                if ids
                else {}
            )
            mentions, rejects = normalize_video_page(videos)
            gone = [
                v for v in ids if v not in {m.native_id for m in mentions} | {r.native_id for r in rejects}
            ]
            stamps = [_stamp(m.created_at) for m in mentions]
            newest = max([newest or "", *stamps]) or None
            token = body.get("nextPageToken") or None
            done = token is None or pages == self.settings.pages_per_run
            done = done or (since is not None and any(t <= since for t in stamps))
            cursor = json.dumps({"since": newest}) if done and newest else None
            yield Page("youtube", feed, mentions, cursor, rejects, deleted=gone, units=self._take_units())
            if done:
                return

    def _channel_id(self, context: str) -> str | None:
        """The ``UC…`` id of ``channel_id``, looking a ``@handle`` up once (1 unit)."""
        channel = self.settings.channel_id
        if not channel or channel.startswith("UC"):
            return channel
        if not hasattr(self, "_resolved"):
            body = self._call(
                context, "channels", {"part": "id,contentDetails", "forHandle": channel.lstrip("@")}
            )
            found = [i.get("id") for i in _items(body) if isinstance(i, dict)]
            if not found:
                raise CollectorError(
                    f"{context}: no YouTube channel {channel}; fix [networks.youtube] channel_id"
                )
            self._resolved: str = str(found[0])
        return self._resolved

    def _uploads_playlist(self, context: str) -> str:
        """A channel's uploads playlist is its id with ``UU`` for ``UC``, as ``channels.list`` reports it."""
        channel = self._channel_id(context) or ""
        return "UU" + channel[2:]

    # -- the choke point -----------------------------------------------------

    def _call(self, context: str, resource: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """One list call: within the share, failures turned into ours, transient ones retried."""
        cost = quota.SEARCH_UNITS if resource == "search" else quota.LIST_UNITS
        spent = self.spent_today()
        if not quota.poll_fits(share=self.settings.daily_unit_share, spent=spent, units=cost):
            reset = quota.next_reset(self.clock()).astimezone(UTC)
            raise RateLimited(
                f"{context}: daily share of {self.settings.daily_unit_share} units used up ({spent} spent); "
                f"waiting until {until(reset)}, or raise daily_unit_share",
                reset,
            )
        args = {k: v for k, v in params.items() if v is not None}

        def once() -> dict[str, Any]:
            request = getattr(self.service, resource)().list(**args)
            try:
                body = request.execute(num_retries=0)
            except HttpError as exc:
                raise self._error(context, exc) from None
            except TimeoutError:
                raise no_answer(context, self.settings.timeout_seconds) from None
            except (OSError, httplib2.HttpLib2Error, http.client.HTTPException) as exc:
                raise cannot_connect(context, exc) from None
            if not isinstance(body, dict):
                raise MalformedPayload(
                    f"{context}: the answer is not a JSON object ({len(str(body))} characters)"
                )
            return body

        body = retrying(
            once,
            attempts=self.settings.retry_attempts,
            backoff=self.settings.retry_backoff_seconds,
            sleep=self.sleep,
        )
        self._unbilled += cost
        self._spent_here += cost
        return body

    def _error(self, context: str, exc: HttpError) -> CollectorError:
        """Google's error (status, reason, domain) as one of ours, in one line that names the fix."""
        status = exc.status_code
        reason, domain, api_status, message = _error_fields(exc)
        what = f"{status} {reason or api_status}".strip()
        detail = message.splitlines()[0][:200] if message else what
        if reason == "quotaExceeded" or domain == "youtube.quota":
            reset = quota.next_reset(self.clock()).astimezone(UTC)
            return RateLimited(
                f"{context}: the project's daily quota is used up (quotaExceeded); "
                f"waiting until {until(reset)} (midnight Pacific), or lower daily_unit_share",
                reset,
            )
        if status == 429 or reason in ("rateLimitExceeded", "userRateLimitExceeded"):
            after = str(exc.resp.get("retry-after", ""))
            retry_at = self.clock() + timedelta(seconds=int(after)) if after.isdigit() else None
            return RateLimited(f"{context}: rate limited ({what}); waiting until {until(retry_at)}", retry_at)
        var = self.settings.api_key_env
        if reason in ("keyInvalid", "keyExpired") or "API key" in message or status == 401:
            return AuthError(
                f"{context}: API key rejected ({what}); set {var} to a valid YouTube Data API key"
            )
        if reason in _SKIP_REASONS:
            return _Skipped(f"{context}: {detail} ({reason})")
        if status == 403:
            return AuthError(
                f"{context}: access denied ({what}): {detail}; enable the YouTube Data API v3 for the key's "
                f"project and check the key's API restrictions ({var})"
            )
        if status >= 500:
            return SourceUnavailable(
                f"{context}: server error ({status}); YouTube is having trouble, the next run retries"
            )
        return CollectorError(f"{context}: request refused ({what}): {detail}; check [networks.youtube]")
