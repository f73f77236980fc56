"""Bluesky: post search per watch, mentions and own posts of your accounts, via the atproto SDK.

Keyless by default, against the public AppView (``https://public.api.bsky.app``).
The AppView sometimes refuses search without login: set ``handle`` and an app
password in the variable named by ``app_password_env``, and every call then goes
through your PDS (``pds_url``) with a session.

Search (``app.bsky.feed.searchPosts``, ``sort=latest``) gets the watch query's
words; Bluesky's search is loose about OR and fields, so the runner's local
matcher decides what a watch keeps. ``@handle`` feeds search ``mentions:handle``;
``posts:@handle`` feeds read ``app.bsky.feed.getAuthorFeed``.

The cursor is JSON ``{"since": time, "seen": [uris at that time]}``. A walk goes
newest first with the API's own ``cursor`` down to ``since`` (search sends it as
the ``since`` parameter, which is inclusive, so ``seen`` keeps the posts at the
boundary out). ``since`` moves only on the last page of a walk; a walk cut short
by ``pages_per_run`` keeps the API cursor in ``resume`` for the next run. Times
are ``sortAt`` as the AppView orders by it: the earlier of ``createdAt`` and
``indexedAt``. A first run reaches back ``backfill_days``.

An image post may have empty text: it is kept, with the images' alt texts (when
the author wrote any) as its text, so it still counts as a mention of whatever the
search matched.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar, cast

import httpx
from atproto import Client, models  # type: ignore[import-untyped]
from atproto_client import exceptions as atx  # type: ignore[import-untyped]
from atproto_client.models.common import XrpcError  # type: ignore[import-untyped]
from atproto_client.request import Request  # type: ignore[import-untyped]

from collectors._common import (
    cannot_connect,
    no_answer,
    protect,
    require_env,
    retrying,
    until,
    utc_from_iso,
)
from collectors._paging import Boundary, Step, walk
from collectors.base import Collector, Context, NetworkSettings
from collectors.bluesky_settings import Settings
from listener.errors import AuthError, CollectorError, MalformedPayload, RateLimited, SourceUnavailable
from listener.model import Cursor, Feed, Mention, Page, Reject, Watch
from listener.query import And, Field, Node, Not, Or, Phrase, Query, Term
from listener.records import utc_iso

__all__ = ["BlueskyCollector", "Settings", "normalize", "normalize_page", "post_url", "to_bluesky_query"]


# -- query -------------------------------------------------------------------


def _lower(node: Node) -> str | None:
    """Bluesky search text for a node, or None when it cannot be said (the result is then broader)."""
    match node:
        case Term(word, _):
            return word.lstrip("#") if word.startswith("#") else word  # a tag is also a word in the text
        case Phrase(text):
            return f'"{text}"'
        case Field("lang", value):
            return f"lang:{value}"
        case Field("author", value):
            return f"from:{value}"
        case Field("site", value):
            return f"domain:{value}"
        case Field():
            return None
        case Not(child):
            inner = _lower(child)
            return f"-{inner}" if inner and isinstance(child, Term | Phrase) else None
        case And(children):
            parts = [p for p in (_lower(c) for c in children) if p]
            return " ".join(parts) if parts and not all(p.startswith("-") for p in parts) else None
        case Or():
            return None  # searchPosts has no OR: the caller searches each alternative
    raise TypeError(node)


def to_bluesky_query(root: Node) -> list[str]:
    """One search per alternative of a top-level OR; empty when some alternative has nothing to search.

    An AND of ORs (``(a OR b) (c OR d)``) is searched by the alternatives of its
    smallest OR, each with the AND's other parts: a superset the local matcher narrows.
    """
    alternatives: tuple[Node, ...] = (root,)
    if isinstance(root, Or):
        alternatives = root.children
    elif isinstance(root, And) and (ors := [c for c in root.children if isinstance(c, Or)]):
        smallest = min(ors, key=lambda o: len(o.children))
        rest = tuple(c for c in root.children if c is not smallest)
        alternatives = tuple(And((*rest, alt)) for alt in smallest.children)
    queries = [_lower(a) for a in alternatives]
    if any(q is None for q in queries):
        return []
    return list(dict.fromkeys(cast(list[str], queries)))


# -- normalising -------------------------------------------------------------


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def post_url(uri: str, handle: str | None, did: str | None) -> str:
    """``https://bsky.app/profile/<handle>/post/<rkey>``; the DID stands in for an invalid handle."""
    actor = handle if handle and handle != "handle.invalid" else did or uri.split("/")[2]
    return f"https://bsky.app/profile/{actor}/post/{uri.rsplit('/', 1)[-1]}"


def _alt_texts(embed: Any) -> list[str]:
    """Alt texts of an images embed, alone or inside recordWithMedia."""
    embed = _object(embed)
    media = _object(embed.get("media")) if "media" in embed else embed
    images: list[Any] = media["images"] if isinstance(media.get("images"), list) else []
    return [
        i["alt"].strip()
        for i in images
        if isinstance(i, dict) and isinstance(i.get("alt"), str) and i["alt"].strip()
    ]


def sort_time(post: Mapping[str, Any]) -> datetime:
    """When the AppView files a post: the earlier of the claimed ``createdAt`` and ``indexedAt``."""
    record = _object(post.get("record"))
    times = [utc_from_iso(t) for t in (record.get("createdAt"), post.get("indexedAt")) if isinstance(t, str)]
    if not times:
        raise ValueError("missing field 'record.createdAt'")
    return min(times)


def normalize(post: Any) -> Mention:
    """One ``app.bsky.feed.defs#postView`` as a ``Mention``; raises on a broken item."""
    if not isinstance(post, dict):
        raise ValueError(f"a post must be an object, not {type(post).__name__}")
    uri = post.get("uri")
    if not isinstance(uri, str) or not uri.startswith("at://"):
        raise ValueError(f"missing or invalid field 'uri': {uri!r}")
    record, author = _object(post.get("record")), _object(post.get("author"))
    text = record.get("text")
    if not isinstance(text, str):
        raise ValueError("missing field 'record.text'")
    alts = _alt_texts(record.get("embed"))
    text = "\n\n".join([text, *alts]) if text else "\n\n".join(alts)
    created = record.get("createdAt") or post.get("indexedAt")
    if not isinstance(created, str):
        raise ValueError("missing field 'record.createdAt'")
    reply = _object(record.get("reply"))
    parent, root = _object(reply.get("parent")).get("uri"), _object(reply.get("root")).get("uri")
    langs = record.get("langs")
    handle, did = author.get("handle"), author.get("did")
    return Mention(
        network="bluesky",
        native_id=uri,
        text=text,
        created_at=utc_from_iso(created),
        url=post_url(uri, handle, did),
        author_id=did,
        author_handle=handle,
        author_name=author.get("displayName") or None,
        language=langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None,
        in_reply_to_id=parent,
        conversation_id=root or uri,
        like_count=_count(post.get("likeCount")),
        repost_count=_count(post.get("repostCount")),
        reply_count=_count(post.get("replyCount")),
        quote_count=_count(post.get("quoteCount")),
        raw=post,
    )


def normalize_page(posts: Any) -> tuple[list[Mention], list[Reject]]:
    """The posts of a search or feed page that normalise, and the rest as rejects."""
    if not isinstance(posts, list):
        raise MalformedPayload(f"bluesky: expected a list of posts, got {type(posts).__name__}")
    mentions: list[Mention] = []
    rejects: list[Reject] = []
    for post in posts:
        try:
            mentions.append(normalize(post))
        except (KeyError, TypeError, ValueError) as exc:
            uri = post.get("uri") if isinstance(post, dict) else None
            rejects.append(Reject("bluesky", str(exc), post, uri if isinstance(uri, str) else None))
    return mentions, rejects


# -- collecting --------------------------------------------------------------

# The SDK's parameter models (they check names and types); the answers are read raw,
# since its output models would reject a whole page for one broken post.
_PARAMS: dict[str, type[Any]] = {
    "app.bsky.feed.searchPosts": models.AppBskyFeedSearchPosts.Params,
    "app.bsky.feed.getAuthorFeed": models.AppBskyFeedGetAuthorFeed.Params,
}


def _detail(exc: atx.RequestErrorBase) -> str:
    content = exc.response.content if exc.response is not None else None
    if isinstance(content, XrpcError):
        text = f"{content.error}: {content.message}" if content.message else str(content.error)
    else:
        text = str(exc.response.status_code) if exc.response is not None else type(exc).__name__
    return text.splitlines()[0][:200] if text else "no detail"


class _BlueskyWalk:
    """One search's (or feed's) walk down to ``since``; ``state`` is the cursor of every walk of the source."""

    def __init__(
        self, collector: BlueskyCollector, context: str, state: dict[str, Any], key: str, nsid: str,
        base: Mapping[str, Any],
    ) -> None:  # fmt: skip
        self.collector, self.context, self.state, self.key, self.nsid = collector, context, state, key, nsid
        self.base, self.search = base, nsid.endswith("searchPosts")
        position = state.get(key) or {}
        backfill = collector.clock() - timedelta(days=collector.settings.backfill_days)
        self.since_text: str = position.get("since") or utc_iso(backfill)
        resume = position.get("resume") or {}
        self.api_cursor: str | None = resume.get("cursor")
        self.mark = Boundary(utc_from_iso(self.since_text), set(position.get("seen") or []))
        if resume.get("newest"):
            self.mark.newest, self.mark.newest_ids = (
                utc_from_iso(resume["newest"]),
                list(resume.get("uris") or []),
            )

    def step(self) -> Step:
        params = {**self.base, "limit": self.collector.settings.limit, "cursor": self.api_cursor}
        if self.search:
            params |= {"sort": "latest", "since": self.since_text}
        body = self.collector._call(
            self.context, self.nsid, {k: v for k, v in params.items() if v is not None}
        )
        items = (
            body.get("posts") if self.search else [_object(i).get("post", i) for i in body.get("feed") or []]
        )
        mentions, rejects = normalize_page(items)
        old = self._old(cast(list[Any], items))  # the walk got down to the stored position
        self.api_cursor = body.get("cursor")
        more = not old and bool(self.api_cursor) and bool(items)
        return Step([m for m in mentions if m.native_id not in old], rejects, more=more)

    def _old(self, items: list[Any]) -> set[Any]:
        """The uris at or before the stored position; the newest time and its uris noted on the way."""
        old = set()
        for post in (p for p in items if isinstance(p, dict)):
            try:
                moment, uri = sort_time(post), cast(str, post.get("uri"))
            except (TypeError, ValueError):
                continue  # a broken post: normalize_page made it a reject
            if self.mark.is_new(moment, uri):
                self.mark.saw(moment, uri)
            else:
                old.add(uri)
        return old

    def finished(self) -> Cursor:
        mark = self.mark
        if mark.newest is None:
            return self._store({"since": self.since_text, "seen": sorted(mark.ids)})
        return self._store({"since": mark.newest.isoformat(), "seen": sorted(mark.newest_ids)})

    def paused(self) -> Cursor:
        newest = self.mark.newest.isoformat() if self.mark.newest else None
        paused = {"cursor": self.api_cursor, "newest": newest, "uris": sorted(self.mark.newest_ids)}
        return self._store({"since": self.since_text, "seen": sorted(self.mark.ids), "resume": paused})

    def _store(self, position: dict[str, Any]) -> Cursor:
        self.state[self.key] = position
        return json.dumps(self.state, sort_keys=True)


class BlueskyCollector(Collector):
    """searchPosts and getAuthorFeed through ``atproto.Client``; raw XRPC answers, so one bad post is one reject."""

    name: ClassVar[str] = "bluesky"
    Settings: ClassVar[type[NetworkSettings]] = Settings
    has_feeds: ClassVar[bool] = True

    def __init__(
        self, settings: NetworkSettings, env: Mapping[str, str], context: Context | None = None
    ) -> None:
        super().__init__(settings, env, context)
        self.settings = cast(Settings, settings)
        self.password: str | None = None
        if self.settings.handle:
            self.password = require_env(env, self.settings.app_password_env, "bluesky", "app password")
            protect([self.password], "atproto_client", "httpx", "httpcore")
        base = self.settings.pds_url if self.password else self.settings.api_base_url
        # No pooled connections: the runner has no close hook, and an idle pooled socket left
        # to the garbage collector is a ResourceWarning. A run makes few requests.
        request = Request(
            timeout=self.settings.timeout_seconds, limits=httpx.Limits(max_keepalive_connections=0)
        )
        self.client = Client(base_url=base, request=request)
        self.client.on_session_change(
            lambda _event, session: protect([session.access_jwt, session.refresh_jwt])
        )
        self._logged_in = False

    def feeds(self) -> list[Feed]:
        feeds = []
        for account in self.settings.accounts:
            handle = account.lstrip("@")
            feeds += [Feed(f"@{handle}", keep_all=True), Feed(f"posts:@{handle}", keep_all=True)]
        return feeds

    def fetch(self, source: Watch | Feed, cursor: Cursor | None, budget: int | None = None) -> Iterator[Page]:
        """Pages newest first; the last page of each walk carries the new position."""
        state: dict[str, Any] = json.loads(cursor) if cursor else {}
        context = (
            f"bluesky ({source.name})" if isinstance(source, Feed) else f"bluesky (watch {source.name!r})"
        )
        walks = self._feed_walks(source) if isinstance(source, Feed) else self._searches(source, context)
        matcher = (
            None if isinstance(source, Feed) else Query(source.root)
        )  # search is loose: the watch decides
        self._login(context)
        for key, nsid, params in walks:
            yield from walk(_BlueskyWalk(self, context, state, key, nsid, params), network="bluesky",
                            source=source.name, pages=self.settings.pages_per_run, matcher=matcher)  # fmt: skip

    def _feed_walks(self, feed: Feed) -> list[tuple[str, str, dict[str, Any]]]:
        if feed.name.startswith("posts:@"):
            actor = feed.name.split("@", 1)[1]
            return [
                ("posts", "app.bsky.feed.getAuthorFeed", {"actor": actor, "filter": "posts_with_replies"})
            ]
        return [("mentions", "app.bsky.feed.searchPosts", {"q": f"mentions:{feed.name[1:]}"})]

    def _searches(self, watch: Watch, context: str) -> list[tuple[str, str, dict[str, Any]]]:
        queries = to_bluesky_query(watch.root)
        if not queries:
            raise CollectorError(f"{context}: nothing Bluesky can search for in {watch.query!r}; add a word")
        return [(q, "app.bsky.feed.searchPosts", {"q": q}) for q in queries]

    # -- the wire ------------------------------------------------------------

    def _login(self, context: str) -> None:
        if self.password and not self._logged_in:
            handle, password = cast(str, self.settings.handle), self.password

            def login() -> dict[str, Any]:
                self.client.login(handle, password, fetch_bsky_profile=False)
                return {}

            self._call(context, "com.atproto.server.createSession", {}, run=login)
            self._logged_in = True

    def _call(
        self,
        context: str,
        nsid: str,
        params: Mapping[str, Any],
        run: Callable[[], dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The one choke point: an XRPC query, its failures turned into ours and retried if transient."""
        var, who = self.settings.app_password_env, self.settings.handle

        def query() -> dict[str, Any]:
            response = self.client.invoke_query(
                nsid, params=_PARAMS[nsid](**params)
            )  # raw JSON: no output model
            if not isinstance(response.content, dict):
                raise MalformedPayload(f"{context}: the answer is not a JSON object")
            return response.content

        def once() -> dict[str, Any]:
            try:
                return (run or query)()
            except atx.RateLimitExceededError as exc:
                reset = exc.reset_at
                raise RateLimited(
                    f"{context}: rate limited (429); waiting until {until(reset)}", reset
                ) from None
            except atx.UnauthorizedError as exc:
                if self.password:
                    raise AuthError(
                        f"{context}: login refused ({_detail(exc)}); set {var} to a valid app password for {who}"
                    ) from None
                raise AuthError(
                    f"{context}: {self.settings.api_base_url} requires login ({_detail(exc)}); set handle and {var}"
                ) from None
            except atx.BadRequestError as exc:
                if _detail(exc).startswith(("InvalidToken", "ExpiredToken")):
                    raise AuthError(f"{context}: session refused ({_detail(exc)}); set {var} again") from None
                raise CollectorError(
                    f"{context}: request refused (400: {_detail(exc)}); check the query"
                ) from None
            except atx.InvokeTimeoutError:
                raise no_answer(context, self.settings.timeout_seconds) from None
            except atx.NetworkError as exc:
                if exc.response is None:
                    raise cannot_connect(context) from None
                raise SourceUnavailable(
                    f"{context}: server error ({_detail(exc)}); the next run retries"
                ) from None
            except atx.RequestException as exc:
                status = exc.response.status_code if exc.response is not None else 0
                if status >= 500:
                    raise SourceUnavailable(
                        f"{context}: server error ({status}); Bluesky is having trouble, the next run retries"
                    ) from None
                raise CollectorError(f"{context}: request refused ({_detail(exc)})") from None
            except ValueError:  # the body said JSON but was not
                raise MalformedPayload(f"{context}: the answer is not JSON") from None

        return retrying(
            once,
            attempts=self.settings.retry_attempts,
            backoff=self.settings.retry_backoff_seconds,
            sleep=self.sleep,
        )
