"""Reddit: search per watch, optional subreddit streams, username mentions, via praw.

Reddit has no ``since_id``. The cursor is JSON ``{"created": t, "seen": {fullname:
t}}``: each walk goes newest first until it passes ``created`` less an overlap
window (the search index lags behind new posts), and skips what ``seen`` holds,
so no item comes back in a later run. Reddit search is fuzzy and never returns
comments, so search results pass the watch's local matcher, and comments come
from the subreddit streams, where the runner keeps what some watch matches.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, cast

import praw
import prawcore
import requests

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
    utc_from_epoch,
)
from collectors._paging import Step, Window, walk
from collectors.base import Collector, Context, NetworkSettings
from collectors.reddit_settings import Settings
from listener.errors import AuthError, CollectorError, MalformedPayload, RateLimited, SourceUnavailable
from listener.model import Cursor, Feed, Mention, Page, Reject, Watch
from listener.query import Field, Phrase, Query, Term

__all__ = ["RedditCollector", "Settings", "normalize", "normalize_listing", "to_reddit_query"]

DEFAULT_USER_AGENT = "python:listener:0.1 (self-hosted social listening)"
_MAX_SEEN = 5000
_LINK = re.compile(r"/comments/(\w+)/")


# -- query -------------------------------------------------------------------

_REDDIT_SYNTAX = Syntax(and_=" AND ", or_=" OR ", not_=lambda s: f"NOT {s}")


def _reddit_leaf(node: Leaf) -> tuple[Lowered, bool]:
    match node:
        case Term(word, prefix):
            if prefix:
                return True, False
            return (word if word.isalnum() else f'"{word}"'), True
        case Phrase(text):
            return f'"{text}"', True
        case Field("author", value):
            return f"author:{value}", True
        case Field("site", value):
            return f"site:{value}", True
        case Field("network", value):
            return value == "reddit", True
        case Field("lang", _):
            return True, False  # Reddit does not know a post's language
        case Field("sentiment", _):
            return True, False  # known only once stored and scored (a watch's config refuses it)
    raise TypeError(node)


def to_reddit_query(query: Query) -> Lowered:
    """The watch query in Reddit's search syntax: a superset, narrowed locally afterwards."""
    return lower_query(query.root, _reddit_leaf, _REDDIT_SYNTAX)[0]


# -- normalising -------------------------------------------------------------


def _name(thing: Any) -> tuple[str, str, dict[str, Any]]:
    """The item's kind, fullname and data; raises on a broken item."""
    if not isinstance(thing, dict) or not isinstance(thing.get("data"), dict):
        raise ValueError("a listing item must be an object with 'data'")
    kind, data = thing.get("kind"), thing["data"]
    if kind not in ("t1", "t3"):
        raise ValueError(f"unexpected kind {kind!r}")
    name = data.get("name") or (f"{kind}_{data['id']}" if data.get("id") else None)
    if not isinstance(name, str):
        raise ValueError("missing field 'name'")
    if "created_utc" not in data:
        raise ValueError("missing field 'created_utc'")
    return kind, name, data


def _submission(name: str, data: Mapping[str, Any]) -> tuple[str, str | None, str | None, Any]:
    """A post's text, conversation, parent (none) and reply count."""
    title, body = data.get("title"), data.get("selftext") or ""
    if not isinstance(title, str):
        raise ValueError("missing field 'title'")
    return (f"{title}\n\n{body}" if body else title), name, None, data.get("num_comments")


def _comment(data: Mapping[str, Any]) -> tuple[str, str | None, str | None, Any]:
    """A comment's text, conversation (its post), parent and reply count (not given)."""
    text = data.get("body")
    if not isinstance(text, str):
        raise ValueError("missing field 'body'")
    return text, data.get("link_id"), data.get("parent_id"), None


def _permalink(kind: str, name: str, data: Mapping[str, Any]) -> str | None:
    """The item's path on reddit.com: given, or built for a comment from its subreddit and post."""
    permalink = data.get("permalink") or data.get("context")
    if not permalink and kind == "t1" and data.get("subreddit") and data.get("link_id"):
        permalink = f"/r/{data['subreddit']}/comments/{data['link_id'][3:]}/_/{data.get('id', name[3:])}/"
    if not isinstance(permalink, str) or not permalink.startswith("/"):
        return None
    return permalink.split("?")[0]  # search adds ?ref=search_posts, the inbox ?context=3


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) else None


def normalize(thing: Any) -> Mention:
    """A listing child ``{"kind": "t1"|"t3", "data": {...}}`` as a ``Mention``; raises on a bad one."""
    kind, name, data = _name(thing)
    created = utc_from_epoch(data["created_utc"])
    author = data.get("author")
    text, conversation, reply_to, replies = _submission(name, data) if kind == "t3" else _comment(data)
    permalink = _permalink(kind, name, data)
    if permalink and conversation is None and (link := _LINK.search(permalink)):
        conversation = f"t3_{link.group(1)}"  # inbox items carry no link_id
    return Mention(
        network="reddit",
        native_id=name,
        text=text,
        created_at=created,
        url=f"https://www.reddit.com{permalink}" if permalink else None,
        author_id=data.get("author_fullname"),
        author_handle=author if isinstance(author, str) and author not in ("[deleted]", "") else None,
        author_name=None,
        language=None,  # Reddit gives none; language detection belongs to the analysis
        in_reply_to_id=reply_to,
        conversation_id=conversation,
        like_count=_int(data.get("score")),
        reply_count=_int(replies),
        raw=thing,
    )


def normalize_listing(body: Any) -> tuple[list[Mention], list[Reject], str | None]:
    """A ``Listing``: its mentions, its rejects and its ``after`` token."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise MalformedPayload("reddit: the answer is not a Listing")
    children = body["data"].get("children")
    if not isinstance(children, list):
        raise MalformedPayload("reddit: the Listing has no 'children' list")
    mentions: list[Mention] = []
    rejects: list[Reject] = []
    for child in children:
        try:
            mentions.append(normalize(child))
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            data = child.get("data") if isinstance(child, dict) else None
            name = data.get("name") if isinstance(data, dict) else None
            rejects.append(Reject("reddit", str(exc), child, name if isinstance(name, str) else None))
    after = body["data"].get("after")
    return mentions, rejects, after if isinstance(after, str) else None


# -- collecting --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Request:
    """What a walk asks Reddit: the listing's path, its fixed parameters, the local matcher."""

    context: str
    path: str
    params: Mapping[str, Any]
    matcher: Query | None = None


class _RedditWalk:
    """One walk down a listing to the cursor's time less the overlap (see the module docstring)."""

    def __init__(
        self, collector: RedditCollector, request: _Request, cursor: Cursor | None, budget: int | None
    ) -> None:
        state = json.loads(cursor) if cursor else {}
        overlap = collector.settings.overlap_minutes * 60
        self.collector, self.request, self.budget = collector, request, budget
        self.cutoff = float(state.get("created", 0)) - overlap
        self.window = Window(overlap, float(state.get("created", 0)), dict(state.get("seen", {})))
        self.after: str | None = None
        self.fetched = 0
        self.asked = False

    def step(self) -> Step | None:
        settings, request = self.collector.settings, self.request
        if self.asked:
            self.collector._check_rate(request.context)  # the last answer's headers said the window is spent
        limit = settings.limit if self.budget is None else min(settings.limit, self.budget - self.fetched)
        if limit < 1:
            return None
        self.asked = True
        params = {**request.params, "limit": limit, **({"after": self.after} if self.after else {})}
        mentions, rejects, self.after = normalize_listing(
            self.collector._call(request.context, request.path, params)
        )
        self.fetched += len(mentions) + len(rejects)
        stamps = {m.native_id: m.created_at.timestamp() for m in mentions}
        reached = any(t < self.cutoff for t in stamps.values())
        fresh = [
            m for m in mentions if stamps[m.native_id] >= self.cutoff and m.native_id not in self.window.seen
        ]
        self.window.saw(stamps)
        return Step(fresh, rejects, more=self.after is not None and not reached)

    def finished(self) -> Cursor:
        return json.dumps({"created": self.window.newest or 0.0, "seen": self.window.kept(_MAX_SEEN)})

    def paused(self) -> Cursor:
        return self.finished()  # no resume: the next walk starts at the top again, the seen ids skip repeats


class RedditCollector(Collector):
    """Listings through praw's ``Reddit.request``, which returns the JSON as Reddit sent it."""

    name: ClassVar[str] = "reddit"
    Settings: ClassVar[type[NetworkSettings]] = Settings
    has_feeds: ClassVar[bool] = True

    def __init__(
        self, settings: NetworkSettings, env: Mapping[str, str], context: Context | None = None
    ) -> None:
        super().__init__(settings, env, context)
        self.settings = s = cast(Settings, settings)
        client_id = require_env(env, s.client_id_env, "reddit", "client id")
        secret = require_env(env, s.client_secret_env, "reddit", "client secret")
        user: dict[str, Any] = {}
        if s.username and s.refresh_token_env:
            user["refresh_token"] = require_env(env, s.refresh_token_env, "reddit", "refresh token")
        elif s.username and s.password_env:
            user = {
                "username": s.username,
                "password": require_env(env, s.password_env, "reddit", "password"),
            }
        # The username is no secret (it names the u/ feed in every message); the password and tokens are.
        protect([secret, *(v for k, v in user.items() if k != "username")], "prawcore", "praw")
        self._rate: tuple[int, datetime] | None = None  # remaining requests, and when the window resets
        session = requests.Session()
        session.hooks["response"].append(self._observe)
        self.reddit = praw.Reddit(
            client_id=client_id,
            client_secret=secret,
            user_agent=env.get(s.user_agent_env) or DEFAULT_USER_AGENT,
            oauth_url=s.oauth_url.rstrip("/"),
            reddit_url=s.reddit_url.rstrip("/"),
            timeout=s.timeout_seconds,
            check_for_updates=False,
            check_for_async=False,
            requestor_kwargs={"session": session},
            **user,
        )
        # prawcore retries 5xx itself, sleeping 2-4 s; retries are ours (bounded, configurable).
        for core in (self.reddit._core, self.reddit._read_only_core, self.reddit._authorized_core):
            if core is not None and hasattr(core, "_retry_strategy_class"):
                core._retry_strategy_class = _NoRetry

    def feeds(self) -> list[Feed]:
        feeds = [Feed(f"r/{sub}/{kind}", keep_all=False) for sub in self.settings.stream_subreddits
                 for kind in ("comments", "new")]  # fmt: skip
        if self.settings.username and (self.settings.password_env or self.settings.refresh_token_env):
            feeds.append(Feed(f"u/{self.settings.username}", keep_all=True))
        return feeds

    def fetch(self, source: Watch | Feed, cursor: Cursor | None, budget: int | None = None) -> Iterator[Page]:
        """Pages newer than the cursor, newest first; the last page carries the new cursor."""
        request = self._feed(source) if isinstance(source, Feed) else self._search(source)
        if request is None:
            return
        pages = self.settings.pages_per_run
        yield from walk(_RedditWalk(self, request, cursor, budget), network="reddit", source=source.name,
                        pages=pages, matcher=request.matcher)  # fmt: skip

    def _feed(self, feed: Feed) -> _Request:
        path = "/message/mentions" if feed.name.startswith("u/") else f"/{feed.name}/"
        return _Request(f"reddit ({feed.name})", path, {})

    def _search(self, watch: Watch) -> _Request | None:
        context = f"reddit (watch {watch.name!r})"
        query = to_reddit_query(Query(watch.root))
        if query is False:
            return None
        if query is True:
            raise CollectorError(f"{context}: nothing Reddit can search for in {watch.query!r}; add a word")
        sub = self.settings.search_subreddit
        params = {"q": query, "sort": "new", "t": self.settings.time_filter, "syntax": "lucene",
                  "restrict_sr": "false" if sub == "all" else "true", "type": "link"}  # fmt: skip
        return _Request(context, f"/r/{sub}/search/", params, Query(watch.root))  # the paths praw itself uses

    def _observe(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Note Reddit's rate-limit headers, so we stop before prawcore would sleep through a window."""
        remaining, reset = (
            response.headers.get("x-ratelimit-remaining"),
            response.headers.get("x-ratelimit-reset"),
        )
        if remaining is not None and reset is not None:
            with contextlib.suppress(ValueError):
                self._rate = (int(float(remaining)), self.clock() + timedelta(seconds=int(float(reset))))

    def _check_rate(self, context: str) -> None:
        if self._rate is not None and self._rate[0] < 1:
            raise RateLimited(
                f"{context}: rate limit used up; waiting until {until(self._rate[1])}", self._rate[1]
            )

    def _call(self, context: str, path: str, params: Mapping[str, Any]) -> Any:
        """The one choke point: a praw request, with its failures turned into ours and retried if transient."""
        s = self.settings

        def once() -> Any:
            self._check_rate(context)
            try:
                return self.reddit.request(method="GET", path=path, params=dict(params))
            except prawcore.TooManyRequests as exc:
                self._observe(exc.response)
                reset = self._rate[1] if self._rate else None
                raise RateLimited(
                    f"{context}: rate limited (429); waiting until {until(reset)}", reset
                ) from None
            except prawcore.InvalidToken:
                raise AuthError(
                    f"{context}: access token rejected (401); check the app's credentials"
                ) from None
            except prawcore.OAuthException as exc:
                raise AuthError(
                    f"{context}: login refused ({exc.error}); set {s.client_id_env}, {s.client_secret_env} "
                    "and the account's password or refresh token"
                ) from None
            except prawcore.Forbidden:
                raise AuthError(
                    f"{context}: access denied (403) to {path}; check it is public and the app's scopes"
                ) from None
            except (prawcore.NotFound, prawcore.Redirect):
                raise CollectorError(
                    f"{context}: {path} does not exist; fix the subreddit name in the config"
                ) from None
            except prawcore.ServerError as exc:
                raise SourceUnavailable(
                    f"{context}: server error ({exc.response.status_code}); Reddit is having trouble, "
                    "the next run retries"
                ) from None
            except prawcore.BadJSON:
                raise MalformedPayload(f"{context}: the answer is not JSON") from None
            except prawcore.ResponseException as exc:
                code = exc.response.status_code
                if code == 401:
                    raise AuthError(
                        f"{context}: credentials rejected (401); set {s.client_id_env} and {s.client_secret_env} "
                        "to a valid app id and secret"
                    ) from None
                raise SourceUnavailable(
                    f"{context}: unexpected answer ({code}); the next run retries"
                ) from None
            except prawcore.RequestException as exc:
                original = exc.original_exception
                if isinstance(original, requests.Timeout):
                    raise no_answer(context, s.timeout_seconds) from None
                raise cannot_connect(context, original, "oauth_url") from None

        return retrying(once, attempts=s.retry_attempts, backoff=s.retry_backoff_seconds, sleep=self.sleep)


class _NoRetry(prawcore.sessions.RetryStrategy):
    """No retries and no sleeps inside prawcore: ``retrying`` owns both."""

    def _sleep_seconds(self) -> float | None:
        return None

    def consume_available_retry(self) -> _NoRetry:
        return self

    def should_retry_on_failure(self) -> bool:
        return False
