"""Facebook Pages: comments on your Page's posts, visitor posts, posts that tag it, and its own posts.

The Graph API has no keyword search for Pages (``searches = False``): every
source is a feed of the Page named by ``page_id``, read with a Page access
token from the variable named in ``page_token_env``:

* ``@<page>``: comments and replies under the Page's posts of the last
  ``comment_days`` days, re-read every run (see ``graph.walk_threads``: new
  comments arrive on older posts; hidden or deleted ones are marked);
* ``visitors:@<page>``: posts visitors wrote on the Page (``/visitor_posts``);
* ``tagged:@<page>``: posts elsewhere that tag the Page (``/tagged``);
* ``posts:@<page>``: the Page's own posts (``/posts``), to watch for hijacking.

Comments without an ``id`` (the recorded ``comments_p1.json`` lost them) get
the id Graph would have given them, derived from ``permalink_url``:
``<post>_<comment_id>``, or ``<post>_<reply_comment_id>`` for a reply, whose
parent is then ``<post>_<comment_id>``. A comment with neither is rejected.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, cast
from urllib.parse import parse_qs, urlsplit

from collectors.base import Context, NetworkSettings
from collectors.facebook_settings import FeedKind, Settings
from collectors.graph import (
    GraphCollector,
    graph_time,
    walk_newest,
)
from collectors.graph_threads import ThreadSpec, walk_threads
from listener.errors import CollectorError
from listener.model import Cursor, Feed, Mention, Page, Reject, Watch

__all__ = [
    "FacebookCollector",
    "Settings",
    "comment_id",
    "normalize_comment",
    "normalize_post",
    "normalize_posts",
]

POST_FIELDS = (
    "id,message,story,created_time,updated_time,permalink_url,from{id,name},status_type,shares,"
    "comments.summary(true).limit(0),reactions.summary(true).limit(0)"
)
COMMENT_FIELDS = (
    "id,message,created_time,from{id,name},permalink_url,parent{id},like_count,comment_count,is_hidden"
)
RENEW = (
    "get a new Page access token (Graph API Explorer: Get Page Access Token, then exchange it for a "
    "long-lived one at /oauth/access_token)"
)
_PREFIX: dict[str, FeedKind] = {
    "visitors:": "visitor_posts",
    "tagged:": "tagged",
    "posts:": "posts",
    "": "comments",
}


# -- normalising -------------------------------------------------------------


def _text(item: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        value = item.get(key)
        if isinstance(value, str):
            return value
    return ""


def _total(item: Mapping[str, Any], key: str) -> int | None:
    """``reactions.summary.total_count`` and friends, when the summary was asked for."""
    value = item.get(key)
    summary = value.get("summary") if isinstance(value, dict) else None
    count = summary.get("total_count") if isinstance(summary, dict) else None
    return count if isinstance(count, int) else None


def _author(item: Mapping[str, Any]) -> tuple[str | None, str | None]:
    author = item.get("from")
    if not isinstance(author, dict):
        return None, None
    return (str(author["id"]) if author.get("id") else None), author.get("name")


def _created(item: Mapping[str, Any]) -> Any:
    if "created_time" not in item:
        raise ValueError("missing field 'created_time'")
    return graph_time(item["created_time"])


def normalize_post(item: Any) -> Mention:
    """A Page post, visitor post or tagged post; raises on a broken item."""
    if not isinstance(item, dict):
        raise ValueError(f"a post must be an object, not {type(item).__name__}")
    native_id = item.get("id")
    if not isinstance(native_id, str) or not native_id:
        raise ValueError(f"missing or invalid field 'id': {native_id!r}")
    author_id, author_name = _author(item)
    shares = item.get("shares")
    return Mention(
        network="facebook",
        native_id=native_id,
        text=_text(item, "message", "story"),
        created_at=_created(item),
        url=item.get("permalink_url") or f"https://www.facebook.com/{native_id}",
        author_id=author_id,
        author_name=author_name,
        conversation_id=native_id,
        like_count=_total(item, "reactions"),
        reply_count=_total(item, "comments"),
        repost_count=shares.get("count") if isinstance(shares, dict) else None,
        raw=item,
    )


def normalize_posts(items: list[Any]) -> tuple[list[Mention], list[Reject]]:
    mentions: list[Mention] = []
    rejects: list[Reject] = []
    for item in items:
        try:
            mentions.append(normalize_post(item))
        except (KeyError, TypeError, ValueError) as exc:
            native_id = item.get("id") if isinstance(item, dict) else None
            rejects.append(
                Reject("facebook", str(exc), item, native_id if isinstance(native_id, str) else None)
            )
    return mentions, rejects


def _permalink_ids(url: Any) -> tuple[str, str | None] | None:
    """(id, parent comment id or None) from a comment's ``permalink_url``, as Graph spells comment ids."""
    if not isinstance(url, str):
        return None
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    numeric = [s for s in parts.path.split("/") if s.isdigit()]
    story = query.get("story_fbid") or (numeric[-1] if numeric else None)
    comment, reply = query.get("comment_id"), query.get("reply_comment_id")
    if not story or not comment or not comment.isdigit():
        return None
    if reply and reply.isdigit():
        return f"{story}_{reply}", f"{story}_{comment}"
    return f"{story}_{comment}", None


def comment_id(item: Any) -> str | None:
    """The comment's id, or the one its permalink implies; ``None`` when neither is there."""
    if not isinstance(item, dict):
        return None
    native_id = item.get("id")
    if isinstance(native_id, str) and native_id:
        return native_id
    derived = _permalink_ids(item.get("permalink_url"))
    return derived[0] if derived else None


def normalize_comment(item: Any, post: Mapping[str, Any]) -> Mention:
    """A comment or reply under ``post`` (``filter=stream`` flattens replies in); raises on a broken item."""
    if not isinstance(item, dict):
        raise ValueError(f"a comment must be an object, not {type(item).__name__}")
    native_id = comment_id(item)
    if native_id is None:
        raise ValueError("comment has no 'id' and its permalink_url names no comment_id")
    post_id = str(post["id"])
    parent = item.get("parent")
    derived = _permalink_ids(item.get("permalink_url"))
    if isinstance(parent, dict) and parent.get("id"):
        reply_to = str(parent["id"])
    elif derived and derived[1]:
        reply_to = derived[1]
    else:
        reply_to = post_id
    author_id, author_name = _author(item)
    return Mention(
        network="facebook",
        native_id=native_id,
        text=_text(item, "message"),
        created_at=_created(item),
        url=item.get("permalink_url") or f"https://www.facebook.com/{native_id}",
        author_id=author_id,
        author_name=author_name,
        in_reply_to_id=reply_to,
        conversation_id=post_id,
        like_count=item.get("like_count") if isinstance(item.get("like_count"), int) else None,
        reply_count=item.get("comment_count") if isinstance(item.get("comment_count"), int) else None,
        raw=item,
    )


def _hidden(item: dict[str, Any]) -> bool:
    return item.get("is_hidden") is True


# -- collecting --------------------------------------------------------------


class FacebookCollector(GraphCollector):
    """The feeds of one Facebook Page through the Graph API (httpx, Page access token)."""

    name: ClassVar[str] = "facebook"
    Settings: ClassVar[type[NetworkSettings]] = Settings
    token_what: ClassVar[str] = "Page access token"
    renew: ClassVar[str] = RENEW
    token_env: ClassVar[str] = "page_token_env"

    def __init__(
        self, settings: NetworkSettings, env: Mapping[str, str], context: Context | None = None
    ) -> None:
        super().__init__(settings, env, context)
        self.settings: Settings = cast(Settings, settings)

    def feeds(self) -> list[Feed]:
        page = self.settings.page_id.lstrip("@")
        if not page:
            return []
        prefix = {kind: p for p, kind in _PREFIX.items()}
        return [Feed(f"{prefix[kind]}@{page}", keep_all=True) for kind in self.settings.collect]

    def _fetch(self, watch: Watch | Feed, cursor: Cursor | None) -> Iterator[Page]:
        context = f"facebook ({watch.name})"
        prefix, _, page = watch.name.rpartition("@")
        kind = _PREFIX.get(prefix)
        if kind is None or not page:
            raise CollectorError(f"{context}: Facebook has no keyword search; only the Page's feeds run")
        client = self.client()
        if kind == "comments":
            listing_fields = (
                f"id,created_time,comments.filter(stream).order(chronological)"
                f".limit({self.settings.page_size}){{{COMMENT_FIELDS}}}"
            )
            spec = ThreadSpec(
                listing=client.path(f"{page}/posts"),
                params={"fields": listing_fields, "limit": self.settings.page_size},
                time_field="created_time",
                normalize=normalize_comment,
                comment_id=comment_id,
                hidden=_hidden,
            )
            yield from walk_threads(
                client, context, network="facebook", watch=watch.name, cursor=cursor, spec=spec
            )
            return
        edge = {"posts": "posts", "visitor_posts": "visitor_posts", "tagged": "tagged"}[kind]
        yield from walk_newest(
            client, context, network="facebook", watch=watch.name, cursor=cursor,
            path=client.path(f"{page}/{edge}"),
            params={"fields": POST_FIELDS, "limit": self.settings.page_size},
            normalize=normalize_posts,
        )  # fmt: skip
