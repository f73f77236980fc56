"""Instagram business or creator accounts: comments on your media, media you are tagged in, hashtags.

There is no keyword search (``searches = False``). The account is ``user_id``
(the Instagram business account id linked to a Facebook Page), read with the
token named in ``access_token_env``. Feeds, with ``<name>`` the ``username``
setting (or ``user_id`` when it is empty):

* ``@<name>``: comments and replies on the account's media of the last
  ``comment_days`` days, re-read every run (``graph.walk_threads``);
* ``tagged:@<name>``: media in which others tagged the account (``/tags``);
* ``posts:@<name>``: the account's own media (``/media``);
* ``#<tag>`` per configured hashtag: its recent media (``ig_hashtag_search``
  then ``/recent_media``, the last 24 hours). Instagram allows 30 distinct
  hashtags per rolling 7 days: a hashtag run declares one unit, and a
  hashtag that would be the 31st within 7 days is refused before it is asked.
  These feeds keep only what some watch matches, like Reddit's streams.

Media that merely @mention the account in a caption or comment are only
delivered by webhooks (``mentioned_media``/``mentioned_comment`` need the id a
webhook sends), so polling cannot list them; tags and comments can.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any, ClassVar, cast

from collectors.base import Context, NetworkSettings
from collectors.graph import (
    GraphClient,
    GraphCollector,
    graph_time,
    walk_newest,
)
from collectors.graph_threads import ThreadSpec, walk_threads
from collectors.instagram_settings import MAX_HASHTAGS, Settings
from listener.errors import CollectorError
from listener.model import Cursor, Feed, Mention, Page, Reject, Watch

__all__ = [
    "MAX_HASHTAGS",
    "InstagramCollector",
    "Settings",
    "flatten_comments",
    "normalize_comment",
    "normalize_media",
    "normalize_medias",
]

HASHTAG_WINDOW = timedelta(days=7)
MEDIA_FIELDS = "id,caption,media_type,permalink,timestamp,username,like_count,comments_count"
HASHTAG_MEDIA_FIELDS = "id,caption,media_type,permalink,timestamp,like_count,comments_count"  # no username
COMMENT_FIELDS = "id,text,timestamp,username,from{id,username},like_count,hidden,parent_id"
RENEW = (
    "get a new long-lived token of the Facebook Page linked to the account (Graph API Explorer, with "
    "instagram_basic, instagram_manage_comments and pages_read_engagement)"
)


# -- normalising -------------------------------------------------------------


def _required(item: Mapping[str, Any], key: str) -> Any:
    if key not in item:
        raise ValueError(f"missing field {key!r}")
    return item[key]


def _count(item: Mapping[str, Any], key: str) -> int | None:
    value = item.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def normalize_media(item: Any) -> Mention:
    """One media object (own, tagged or from a hashtag); raises on a broken item."""
    if not isinstance(item, dict):
        raise ValueError(f"a media must be an object, not {type(item).__name__}")
    native_id = _required(item, "id")
    if not isinstance(native_id, str) or not native_id:
        raise ValueError(f"invalid field 'id': {native_id!r}")
    owner = item.get("owner")
    caption = item.get("caption")
    return Mention(
        network="instagram",
        native_id=native_id,
        text=caption if isinstance(caption, str) else "",
        created_at=graph_time(_required(item, "timestamp")),
        url=item.get("permalink"),
        author_id=str(owner["id"]) if isinstance(owner, dict) and owner.get("id") else None,
        author_handle=item.get("username"),
        conversation_id=native_id,
        like_count=_count(item, "like_count"),
        reply_count=_count(item, "comments_count"),
        raw=item,
    )


def normalize_medias(items: list[Any]) -> tuple[list[Mention], list[Reject]]:
    mentions: list[Mention] = []
    rejects: list[Reject] = []
    for item in items:
        try:
            mentions.append(normalize_media(item))
        except (KeyError, TypeError, ValueError) as exc:
            native_id = item.get("id") if isinstance(item, dict) else None
            rejects.append(
                Reject("instagram", str(exc), item, native_id if isinstance(native_id, str) else None)
            )
    return mentions, rejects


def flatten_comments(items: list[Any]) -> list[Any]:
    """Comments, each followed by its ``replies`` (the field expansion nests them one level down).

    A reply gets ``parent_id`` (a real comment field) when the expansion left it out.
    """
    flat: list[Any] = []
    for item in items:
        flat.append(item)
        replies = item.get("replies") if isinstance(item, dict) else None
        data = replies.get("data") if isinstance(replies, dict) else None
        for reply in data if isinstance(data, list) else []:
            if isinstance(reply, dict) and "parent_id" not in reply and isinstance(item.get("id"), str):
                reply = {**reply, "parent_id": item["id"]}
            flat.append(reply)
    return flat


def _comment_id(item: Any) -> str | None:
    native_id = item.get("id") if isinstance(item, dict) else None
    return native_id if isinstance(native_id, str) and native_id else None


def normalize_comment(item: Any, media: Mapping[str, Any]) -> Mention:
    """A comment or reply on ``media``; Instagram gives comments no URL of their own, so the media's."""
    if not isinstance(item, dict):
        raise ValueError(f"a comment must be an object, not {type(item).__name__}")
    native_id = _comment_id(item)
    if native_id is None:
        raise ValueError(f"missing or invalid field 'id': {item.get('id')!r}")
    text = _required(item, "text")
    if not isinstance(text, str):
        raise ValueError(f"field 'text' is {type(text).__name__}, not a string")
    media_id = str(media["id"])
    author = item.get("from") if isinstance(item.get("from"), dict) else item.get("user")
    author_id = str(author["id"]) if isinstance(author, dict) and author.get("id") else None
    handle = item.get("username") or (author.get("username") if isinstance(author, dict) else None)
    return Mention(
        network="instagram",
        native_id=native_id,
        text=text,
        created_at=graph_time(_required(item, "timestamp")),
        url=media.get("permalink"),
        author_id=author_id,
        author_handle=handle,
        in_reply_to_id=str(item.get("parent_id") or media_id),
        conversation_id=media_id,
        like_count=_count(item, "like_count"),
        raw=item,
    )


def _hidden(item: dict[str, Any]) -> bool:
    return item.get("hidden") is True


# -- collecting --------------------------------------------------------------


class InstagramCollector(GraphCollector):
    """The feeds of one Instagram business account through the Graph API (httpx)."""

    name: ClassVar[str] = "instagram"
    Settings: ClassVar[type[NetworkSettings]] = Settings
    token_what: ClassVar[str] = "access token"
    renew: ClassVar[str] = RENEW
    token_env: ClassVar[str] = "access_token_env"

    def __init__(
        self, settings: NetworkSettings, env: Mapping[str, str], context: Context | None = None
    ) -> None:
        super().__init__(settings, env, context)
        self.settings: Settings = cast(Settings, settings)

    @property
    def account(self) -> str:
        return (self.settings.username or self.settings.user_id).lstrip("@")

    def feeds(self) -> list[Feed]:
        if not self.settings.user_id:
            return []
        found: list[Feed] = []
        for kind in self.settings.collect:
            if kind == "hashtags":
                found.extend(Feed(f"#{tag}", keep_all=False) for tag in self.settings.hashtags)
            else:
                prefix = {"comments": "", "tags": "tagged:", "posts": "posts:"}[kind]
                found.append(Feed(f"{prefix}@{self.account}", keep_all=True))
        return found

    def _fetch(self, watch: Watch | Feed, cursor: Cursor | None) -> Iterator[Page]:
        context = f"instagram ({watch.name})"
        user = self.settings.user_id
        if watch.name.startswith("#"):
            yield from self._hashtag(watch.name, context, cursor)
            return
        prefix, _, name = watch.name.rpartition("@")
        if prefix not in ("", "tagged:", "posts:") or not name or not user:
            raise CollectorError(f"{context}: Instagram has no keyword search; only the account's feeds run")
        client = self.client()
        if prefix == "":
            listing_fields = (
                f"id,timestamp,permalink,username,comments.limit({self.settings.page_size})"
                f"{{{COMMENT_FIELDS},replies{{{COMMENT_FIELDS}}}}}"
            )
            spec = ThreadSpec(
                listing=client.path(f"{user}/media"),
                params={"fields": listing_fields, "limit": self.settings.page_size},
                time_field="timestamp",
                normalize=normalize_comment,
                comment_id=_comment_id,
                hidden=_hidden,
                flatten=flatten_comments,
            )
            yield from walk_threads(
                client, context, network="instagram", watch=watch.name, cursor=cursor, spec=spec
            )
            return
        edge = "tags" if prefix == "tagged:" else "media"
        yield from walk_newest(
            client, context, network="instagram", watch=watch.name, cursor=cursor,
            path=client.path(f"{user}/{edge}"),
            params={"fields": MEDIA_FIELDS, "limit": self.settings.page_size},
            normalize=normalize_medias, since_param=edge == "media",
        )  # fmt: skip

    def _hashtag(self, feed: str, context: str, cursor: str | None) -> Iterator[Page]:
        """Recent media of one hashtag, within Instagram's 30-hashtags-per-7-days allowance."""
        self._check_allowance(feed, context)
        client = self.client()
        state_id = _hashtag_id(cursor)
        hashtag_id = state_id or self._search_hashtag(client, feed[1:], context)
        yield from walk_newest(
            client, context, network="instagram", watch=feed, cursor=cursor,
            path=client.path(f"{hashtag_id}/recent_media"),
            params={"user_id": self.settings.user_id, "fields": HASHTAG_MEDIA_FIELDS,
                    "limit": self.settings.page_size},
            normalize=normalize_medias, since_param=False, units=1, extra={"hashtag_id": hashtag_id},
        )  # fmt: skip

    def _check_allowance(self, feed: str, context: str) -> None:
        if self.ledger is None:
            return  # not run by the runner (a direct fetch): nothing to count against
        since = self.clock() - HASHTAG_WINDOW
        used = {s for s in self.ledger.sources_since(since) if s.startswith("#")}
        if feed not in used and len(used) >= MAX_HASHTAGS:
            raise CollectorError(
                f"{context}: {len(used)} distinct hashtags were queried in the last 7 days and Instagram "
                f"allows {MAX_HASHTAGS}; this one waits until one of them is 7 days old, or drop hashtags "
                "from the settings"
            )

    def _search_hashtag(self, client: GraphClient, tag: str, context: str) -> str:
        reply = client.get(
            context, client.path("ig_hashtag_search"), {"user_id": self.settings.user_id, "q": tag}
        )
        data = reply.body.get("data")
        found = data[0].get("id") if isinstance(data, list) and data and isinstance(data[0], dict) else None
        if not isinstance(found, str):
            raise CollectorError(f"{context}: Instagram knows no hashtag #{tag}; check the hashtags setting")
        return found


def _hashtag_id(cursor: str | None) -> str | None:
    """The hashtag's id, kept in the cursor: each ``ig_hashtag_search`` counts against the 30."""
    value = json.loads(cursor).get("hashtag_id") if cursor else None
    return value if isinstance(value, str) else None
