"""YouTube Data API items as mentions: search results, videos, comments and threads.

Pure functions of the API's JSON bodies, so that the recorded responses test
them without a client."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

from collectors._common import (
    utc_from_iso,
)
from collectors._html import html_to_text
from listener.errors import MalformedPayload
from listener.model import Mention, Reject

# -- normalising -------------------------------------------------------------


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_count(value: Any) -> int | None:
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
    video_id = _string(as_dict(as_dict(item).get("id")), "videoId")
    snippet = as_dict(item["snippet"])
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
    video_id = _string(as_dict(item), "id")
    snippet, stats = as_dict(item["snippet"]), as_dict(item.get("statistics"))
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
        like_count=as_count(stats.get("likeCount")),
        reply_count=as_count(stats.get("commentCount")),
        view_count=as_count(stats.get("viewCount")),
        raw=item,
    )


def normalize_comment(
    comment: Any, *, video_id: str | None = None, replies: int | None = None, raw: Any = None
) -> Mention:
    """A ``youtube#comment``: ``textOriginal`` is the plain text (``textDisplay`` is HTML).

    Replies have ids ``<thread id>.<suffix>`` and a ``parentId``. A comment on
    the channel itself (no video) links to the channel's page.
    """
    comment_id = _string(as_dict(comment), "id")
    s = as_dict(comment["snippet"])
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
        author_id=as_dict(s.get("authorChannelId")).get("value"),
        author_handle=name[1:] if isinstance(name, str) and name.startswith("@") else None,
        author_name=name if isinstance(name, str) else None,
        in_reply_to_id=parent if isinstance(parent, str) else None,
        conversation_id=video or (parent if isinstance(parent, str) else comment_id),
        like_count=as_count(s.get("likeCount")),
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


def items_of(body: Mapping[str, Any]) -> list[Any]:
    items = body.get("items", [])
    if not isinstance(items, list):
        raise MalformedPayload(f"youtube: 'items' is {type(items).__name__}, not a list")
    return items


def _normalize_each(
    body: Mapping[str, Any], one: Callable[[Any], Mention]
) -> tuple[list[Mention], list[Reject]]:
    mentions: list[Mention] = []
    rejects: list[Reject] = []
    for item in items_of(body):
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
    for thread in items_of(body):
        try:
            snippet = as_dict(thread["snippet"])
            video = snippet.get("videoId")
            bare = {k: v for k, v in thread.items() if k != "replies"}
            replies = as_count(snippet.get("totalReplyCount"))
            top = normalize_comment(snippet["topLevelComment"], video_id=video, replies=replies, raw=bare)
            mentions.append(top)
        except (KeyError, TypeError, ValueError) as exc:
            rejects.append(_reject(exc, thread))
            continue
        for reply in as_dict(thread.get("replies")).get("comments") or []:
            try:
                mentions.append(normalize_comment(reply, video_id=video))
            except (KeyError, TypeError, ValueError) as exc:
                rejects.append(_reject(exc, reply))
    return mentions, rejects


def playlist_video(item: Any) -> tuple[str | None, str | None]:
    """A playlist item's video id and publishing time; ``contentDetails`` has both, ``snippet`` stands in."""
    details, snippet = as_dict(as_dict(item).get("contentDetails")), as_dict(as_dict(item).get("snippet"))
    video = details.get("videoId") or as_dict(snippet.get("resourceId")).get("videoId")
    published = details.get("videoPublishedAt") or snippet.get("publishedAt")
    return (video if isinstance(video, str) else None), (published if isinstance(published, str) else None)


def uploads_playlist(body: Mapping[str, Any]) -> str | None:
    """The uploads playlist id (``UU…``) from a ``channels.list`` answer with ``contentDetails``."""
    for channel in items_of(body):
        uploads = as_dict(as_dict(as_dict(channel).get("contentDetails")).get("relatedPlaylists")).get(
            "uploads"
        )
        if isinstance(uploads, str) and uploads:
            return uploads
    return None
