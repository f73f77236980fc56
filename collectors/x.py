"""X (Twitter): recent search per watch and mentions of your own accounts, API v2 via tweepy.

The cursor is JSON: ``{"since_id": ...}``, plus ``"resume"`` (a ``next_token``
and the newest id of the interrupted walk) when a run stopped at its page or
post budget, so that the next run finishes the walk before moving ``since_id``
on. ``since_id`` moves only on the last page of a walk: if a run fails half way,
the next run walks again from the old position and the store drops the repeats.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, cast

import requests
import tweepy  # type: ignore[import-untyped]
from requests.adapters import HTTPAdapter

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
    snowflake_time,
    until,
    utc_from_epoch,
    utc_from_iso,
)
from collectors._paging import Step, walk
from collectors.base import Collector, Context, NetworkSettings
from collectors.x_settings import MIN_RESULTS, Settings
from listener.errors import AuthError, CollectorError, MalformedPayload, RateLimited, SourceUnavailable
from listener.model import Cursor, Feed, Mention, Page, Reject, Watch
from listener.query import Field, Phrase, Query, Term

__all__ = ["Settings", "XCollector", "normalize_page", "to_x_query"]

X_HOST = "https://api.twitter.com"  # tweepy hard-codes it in BaseClient.request
_PARAMS: dict[str, Any] = {
    "expansions": ["author_id", "referenced_tweets.id", "referenced_tweets.id.author_id"],
    "tweet_fields": [
        "created_at", "lang", "author_id", "conversation_id", "in_reply_to_user_id",
        "referenced_tweets", "public_metrics", "entities", "note_tweet",
    ],
    "user_fields": ["username", "name"],
}  # fmt: skip


class _Transport(HTTPAdapter):
    """The session's adapter for api.twitter.com: a default timeout and, for local servers, a new host.

    tweepy passes no timeout and has no host option; an adapter mounted on its
    own ``session`` is the seam requests offers for both.
    """

    def __init__(self, base_url: str | None, timeout: float) -> None:
        super().__init__(max_retries=0)
        self.base_url = base_url.rstrip("/") if base_url else None
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.base_url and request.url and request.url.startswith(X_HOST):
            request.url = self.base_url + request.url[len(X_HOST) :]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


# -- query -------------------------------------------------------------------

# What X refuses to search on its own: lang:, negations (the rest of the query is needed).
_STANDALONE = re.compile(r'(?:^|(?<=[\s(]))(?:lang:\S+|-(?:"[^"]*"|\([^)]*\)|\S+))')
_X_SYNTAX = Syntax(and_=" ", or_=" OR ", not_=lambda s: f"-{s}")


def _x_leaf(node: Leaf) -> tuple[Lowered, bool]:
    match node:
        case Term(word, prefix):
            return (True, False) if prefix else (word, True)  # X has no wildcards
        case Phrase(text):
            return f'"{text}"', True
        case Field("lang", value):
            return f"lang:{value}", True
        case Field("author", value):
            return f"from:{value}", True
        case Field("site", value):
            return f'url:"{value}"', False  # url: matches anywhere in the link, not only the host
        case Field("network", value):
            return value == "x", True
        case Field("sentiment", _):
            return True, False  # known only once stored and scored (a watch's config refuses it)
    raise TypeError(node)


def to_x_query(query: Query) -> tuple[Lowered, bool]:
    """The watch query in X search syntax (a superset), and whether X's answer is exact."""
    return lower_query(query.root, _x_leaf, _X_SYNTAX)


# -- normalising -------------------------------------------------------------


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _index(items: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(items, list):
        return {}
    return {str(i["id"]): i for i in items if isinstance(i, dict) and "id" in i}


_NO_LANGUAGE = ("und", "zxx", "qme", "qct")  # undetermined, no text, media only, cashtags only


def _id_and_text(post: Any) -> tuple[str, str]:
    """The post's id and its whole text; raises on a broken post."""
    if not isinstance(post, dict):
        raise ValueError(f"a post must be an object, not {type(post).__name__}")
    native_id, text = post.get("id"), post.get("text")
    if not isinstance(native_id, str) or not native_id.isdigit():
        raise ValueError(f"missing or invalid field 'id': {native_id!r}")
    note = post.get("note_tweet")
    if isinstance(note, dict) and isinstance(note.get("text"), str):
        text = note["text"]  # posts over 280 characters come whole only here
    if not isinstance(text, str):
        raise ValueError("missing field 'text'")
    return native_id, text


def _language(value: Any) -> str | None:
    return value if isinstance(value, str) and value not in _NO_LANGUAGE else None


def normalize(post: Any, users: Mapping[str, dict[str, Any]], posts: Mapping[str, dict[str, Any]]) -> Mention:
    """One v2 post object (with the response's ``includes``) as a ``Mention``; raises on a bad item."""
    native_id, text = _id_and_text(post)
    created = utc_from_iso(post["created_at"]) if "created_at" in post else snowflake_time(native_id)
    author = users.get(str(post.get("author_id"))) or {}
    refs = [r for r in post.get("referenced_tweets") or [] if isinstance(r, dict)]
    reply_to = next((str(r["id"]) for r in refs if r.get("type") == "replied_to" and "id" in r), None)
    metrics = _object(post.get("public_metrics"))
    handle = author.get("username")
    return Mention(
        network="x",
        native_id=native_id,
        text=text,
        created_at=created,
        url=f"https://x.com/{handle or 'i/web'}/status/{native_id}",
        author_id=str(post["author_id"]) if post.get("author_id") else None,
        author_handle=handle,
        author_name=author.get("name"),
        language=_language(post.get("lang")),
        in_reply_to_id=reply_to,
        conversation_id=post.get("conversation_id"),
        like_count=metrics.get("like_count"),
        repost_count=metrics.get("retweet_count"),
        reply_count=metrics.get("reply_count"),
        quote_count=metrics.get("quote_count"),
        view_count=metrics.get("impression_count"),
        raw={
            "data": post,
            "includes": {
                "users": [author] if author else [],
                "tweets": [posts[r["id"]] for r in refs if r.get("id") in posts],
            },
        },
    )


def normalize_page(body: Mapping[str, Any]) -> tuple[list[Mention], list[Reject]]:
    """A search or mentions response: the posts that normalise, and the rest as rejects."""
    data = body.get("data", [])  # X leaves ``data`` out when nothing matched
    if not isinstance(data, list):
        raise MalformedPayload(f"x: 'data' is {type(data).__name__}, not a list")
    includes = _object(body.get("includes"))
    users, posts = _index(includes.get("users")), _index(includes.get("tweets"))
    mentions: list[Mention] = []
    rejects: list[Reject] = []
    for item in data:
        try:
            mentions.append(normalize(item, users, posts))
        except (KeyError, TypeError, ValueError) as exc:
            native_id = item.get("id") if isinstance(item, dict) else None
            rejects.append(Reject("x", str(exc), item, native_id if isinstance(native_id, str) else None))
    return mentions, rejects


# -- collecting --------------------------------------------------------------


def _reset_time(headers: Mapping[str, str]) -> datetime | None:
    """X sends the end of the rate-limit window as epoch seconds."""
    value = headers.get("x-rate-limit-reset")
    return utc_from_epoch(int(value)) if value and value.isdigit() else None


def _detail(exc: tweepy.HTTPException) -> str:
    text = "; ".join(exc.api_messages) or exc.response.reason or ""
    return text.splitlines()[0][:200] if text else f"HTTP {exc.response.status_code}"


@dataclass(frozen=True, slots=True)
class _Request:
    """What a walk asks X: the endpoint, its fixed parameters, its page token's name, the local matcher."""

    context: str
    call: Callable[..., requests.Response]
    params: Mapping[str, Any]
    token_param: str
    matcher: Query | None = None


class _XWalk:
    """One walk down a search or timeline, ``since_id`` first (see the module docstring for the cursor)."""

    def __init__(
        self, collector: XCollector, request: _Request, cursor: Cursor | None, budget: int | None
    ) -> None:
        state = json.loads(cursor) if cursor else {}
        resume = state.get("resume") or {}
        self.collector, self.request, self.left = collector, request, budget
        self.since_id: str | None = state.get("since_id")
        self.token: str | None = resume.get("next_token")
        self.newest: str | None = resume.get("newest_id")

    def step(self) -> Step | None:
        settings, request = self.collector.settings, self.request
        size = settings.max_results if self.left is None else min(settings.max_results, self.left)
        if size < MIN_RESULTS:
            return None  # stop before the monthly budget rather than overshoot it
        params = {**request.params, **_PARAMS, "max_results": size, "since_id": self.since_id,
                  request.token_param: self.token}  # fmt: skip
        body, headers = self.collector._call(
            request.context, request.call, {k: v for k, v in params.items() if v is not None}
        )
        mentions, rejects = normalize_page(body)
        meta = _object(body.get("meta"))
        self.newest = self.newest or meta.get("newest_id")  # the first page's newest is the walk's
        self.token = meta.get("next_token")
        if self.left is not None:
            self.left -= len(mentions) + len(rejects)
        limit = None
        if self.token is not None and headers.get("x-rate-limit-remaining") == "0":
            reset = _reset_time(headers)
            limit = RateLimited(f"{request.context}: rate limit used up; waiting until {until(reset)}", reset)
        low = self.left is not None and self.left < MIN_RESULTS
        return Step(mentions, rejects, more=self.token is not None, last=low, limit=limit)

    def finished(self) -> Cursor | None:
        top = self.newest or self.since_id
        return json.dumps({"since_id": top}) if top else None

    def paused(self) -> Cursor:
        resume = {"next_token": self.token, "newest_id": self.newest}
        return json.dumps({"since_id": self.since_id, "resume": resume})


class XCollector(Collector):
    """Search and mentions through tweepy's ``Client``, never with ``wait_on_rate_limit``."""

    name: ClassVar[str] = "x"
    Settings: ClassVar[type[NetworkSettings]] = Settings
    has_feeds: ClassVar[bool] = True
    has_budget: ClassVar[bool] = True  # the plan's monthly read cap

    def __init__(
        self, settings: NetworkSettings, env: Mapping[str, str], context: Context | None = None
    ) -> None:
        super().__init__(settings, env, context)
        self.settings = cast(Settings, settings)
        token = require_env(env, self.settings.bearer_token_env, "x", "bearer token")
        protect([token], "tweepy.client")
        self.client = tweepy.Client(
            bearer_token=token, return_type=requests.Response, wait_on_rate_limit=False
        )
        self.client.session.mount(
            X_HOST, _Transport(self.settings.api_base_url, self.settings.timeout_seconds)
        )
        self._user_ids: dict[str, str] = {}

    def feeds(self) -> list[Feed]:
        """Per own account: the posts that mention it, and its own posts (for the own-account guard)."""
        handles = [a.lstrip("@") for a in self.settings.accounts]
        return [Feed(f"{kind}@{h}", keep_all=True) for h in handles for kind in ("", "posts:")]

    def fetch(self, source: Watch | Feed, cursor: Cursor | None, budget: int | None = None) -> Iterator[Page]:
        """Pages for a watch (or an ``@account`` feed), newest first, until done or a budget runs out."""
        request = self._feed(source) if isinstance(source, Feed) else self._search(source)
        if request is None:
            return  # e.g. network:reddit: nothing to ask X
        pages = self.settings.pages_per_run
        yield from walk(_XWalk(self, request, cursor, budget), network="x", source=source.name, pages=pages,
                        matcher=request.matcher)  # fmt: skip

    def _feed(self, feed: Feed) -> _Request:
        own_posts = feed.name.startswith("posts:")
        handle = feed.name.split("@", 1)[1]
        context = f"x ({feed.name})" if own_posts else f"x ({feed.name} mentions)"
        user_id = self._user_id(handle, context)
        call = self.client.get_users_tweets if own_posts else self.client.get_users_mentions
        return _Request(context, call, {"id": user_id}, "pagination_token")

    def _search(self, watch: Watch) -> _Request | None:
        context = f"x (watch {watch.name!r})"
        query, exact = to_x_query(Query(watch.root))
        if query is False:
            return None
        if query is True or not _STANDALONE.sub("", query).strip("() OR"):
            raise CollectorError(f"{context}: nothing X can search for in {watch.query!r}; add a word")
        if len(query) > 512:
            raise CollectorError(f"{context}: query is {len(query)} characters, X allows 512; shorten it")
        matcher = None if exact else Query(watch.root)
        return _Request(context, self.client.search_recent_tweets, {"query": query}, "next_token", matcher)

    def _user_id(self, account: str, context: str) -> str:
        if account.isdigit():
            return account
        if account.lower() not in self._user_ids:
            body, _ = self._call(context, self.client.get_users, {"usernames": [account]})
            for user in body.get("data") or []:
                self._user_ids[str(user.get("username", "")).lower()] = str(user.get("id"))
        if account.lower() not in self._user_ids:
            raise CollectorError(f"{context}: no X account named @{account}; fix [networks.x] accounts")
        return self._user_ids[account.lower()]

    def _call(
        self, context: str, call: Callable[..., requests.Response], params: Mapping[str, Any]
    ) -> tuple[dict[str, Any], Mapping[str, str]]:
        """The one choke point: a tweepy call, with its failures turned into ours and retried if transient."""

        def once() -> tuple[dict[str, Any], Mapping[str, str]]:
            var = self.settings.bearer_token_env
            try:
                response = call(**params)
            except tweepy.TooManyRequests as exc:
                reset = _reset_time(exc.response.headers)
                message = f"{context}: rate limited (429); waiting until {until(reset)}"
                raise RateLimited(message, reset) from None
            except tweepy.Unauthorized:
                raise AuthError(
                    f"{context}: token rejected (401); set {var} to a valid bearer token"
                ) from None
            except tweepy.Forbidden as exc:
                raise AuthError(
                    f"{context}: access denied (403): {_detail(exc)}; check that your X plan includes this endpoint"
                ) from None
            except tweepy.TwitterServerError as exc:
                raise SourceUnavailable(
                    f"{context}: server error ({exc.response.status_code}); X is having trouble, the next run retries"
                ) from None
            except tweepy.HTTPException as exc:
                raise CollectorError(
                    f"{context}: request refused ({exc.response.status_code}): {_detail(exc)}; check the watch query"
                ) from None
            except requests.Timeout:
                raise no_answer(context, self.settings.timeout_seconds) from None
            except requests.RequestException as exc:
                raise cannot_connect(context, exc) from None
            try:
                body = response.json()
            except ValueError:
                raise MalformedPayload(
                    f"{context}: the answer is not JSON ({len(response.content)} bytes)"
                ) from None
            if not isinstance(body, dict):
                raise MalformedPayload(f"{context}: the answer is JSON but not an object")
            return body, response.headers

        return retrying(
            once,
            attempts=self.settings.retry_attempts,
            backoff=self.settings.retry_backoff_seconds,
            sleep=self.sleep,
        )
