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

import http.client
import json
import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, cast

import httplib2  # type: ignore[import-untyped]
from googleapiclient import discovery  # type: ignore[import-untyped]
from googleapiclient.errors import HttpError  # type: ignore[import-untyped]

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
from collectors.base import Collector, Context, Ledger, NetworkSettings
from collectors.youtube_errors import Skipped, api_error
from collectors.youtube_items import (
    as_count,
    as_dict,
    items_of,
    normalize_comment_page,
    normalize_search_page,
    normalize_thread_page,
    normalize_video_page,
    playlist_video,
    uploads_playlist,
)
from collectors.youtube_settings import Settings
from listener.errors import CollectorError, MalformedPayload, RateLimited
from listener.model import Cursor, Feed, Mention, Page, Watch
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
        resume = as_dict(state.get("resume"))
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
        seen: dict[str, str] = dict(as_dict(state.get("videos")))
        targets = {v: {"videoId": v} for v in self.settings.videos}
        for video in self._recent_uploads(context):
            targets.setdefault(video, {"videoId": video})
        if self.settings.channel_threads and (channel := self._channel_id(context)):
            targets["channel"] = {"allThreadsRelatedToChannelId": channel}
        for key, target in targets.items():
            try:
                yield from self._threads(context, key, target, seen)
            except Skipped as exc:
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
        for thread in items_of(body):
            snippet = as_dict(as_dict(thread).get("snippet"))
            top = as_dict(as_dict(snippet.get("topLevelComment")).get("snippet"))
            inline = len(as_dict(thread.get("replies")).get("comments") or [])
            total = as_count(snippet.get("totalReplyCount")) or 0
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
        for item in items_of(body):
            video, published = playlist_video(item)
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
            ids = [v for item in items_of(body) if (v := playlist_video(item)[0])]
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
            found = [i.get("id") for i in items_of(body) if isinstance(i, dict)]
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
                raise self._api_error(context, exc) from None
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

    def _api_error(self, context: str, exc: HttpError) -> CollectorError:
        return api_error(context, exc, self.clock(), self.settings.api_key_env)
