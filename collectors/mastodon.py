"""Mastodon: hashtag timelines and optional full-text search per watch, on each instance, via Mastodon.py.

What a watch reads, on every instance in ``instances``:

* the hashtag timeline of each ``#tag`` in the watch query and of each tag in the
  ``hashtags`` setting (public on most instances, no token needed);
* with ``full_text_search``, ``/api/v2/search?type=statuses`` for the query's words.
  Mainline Mastodon searches full text only for a logged-in user, so on the first
  (home) instance the access token is sent when it is set; many instances have no
  full-text search at all and answer with hashtags and accounts only.

Neither source is exact (a tag timeline holds every post with the tag, search
ranks loosely), so the runner's local matcher decides what a watch keeps.

Own accounts (``accounts``, on the first instance unless written ``user@host``):
``@user`` reads the token's mention notifications, ``posts:@user`` the account's
own statuses (public, no token needed).

Ids: status ids are per instance, so ``native_id`` is ``"<instance host>/<status id>"``
and ``in_reply_to_id`` has the same form, so replies link up within an instance.
A remote post seen through two configured instances is stored once per instance;
``raw["uri"]`` is the same for both.

The cursor is JSON, one position per stream (``{"<host>": {"tag:acme": {"since":
id}}}``). Each walk goes newest first with ``max_id`` down to ``since_id`` (or
``min_id`` for search); ``since`` moves only on the last page of a walk, and a
walk cut short by ``pages_per_run`` or a spent rate limit stores a ``resume``
(``max_id`` and the walk's newest id) that the next run finishes first. With no
cursor, a walk reaches back ``backfill_days``: Mastodon ids are time-based, so an
id made from a time is a valid lower bound.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, cast

import requests
from mastodon import Mastodon
from mastodon.errors import (
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)

from collectors._common import protect, require_env, retrying, until, utc_from_epoch, utc_from_iso
from collectors._paging import Step, walk
from collectors.base import Collector, Context, NetworkSettings
from collectors.mastodon_items import host_of, normalize, normalize_page, snowflake_at
from collectors.mastodon_settings import Settings
from listener.errors import AuthError, CollectorError, MalformedPayload, RateLimited, SourceUnavailable
from listener.model import Cursor, Feed, Page, Watch
from listener.query import And, Node, Or, Phrase, Query, Term

__all__ = [
    "MastodonCollector",
    "Settings",
    "hashtags_of",
    "normalize",
    "normalize_page",
    "search_queries",
    "snowflake_at",
]

USER_AGENT = "listener/0.1 (self-hosted social listening)"


class _Client(Mastodon):
    """Mastodon.py without its timeline availability probe.

    ``timeline()`` first fetches ``/api/v2/instance`` to warn when a timeline is
    closed; that is a second request per call, and a closed timeline already
    answers 401/403/422 itself, which ``_call`` turns into a message.
    """

    def timeline_is_available(self, *args: Any, **kwargs: Any) -> bool:
        return True


# -- query -------------------------------------------------------------------


def _leaves(node: Node) -> Iterator[Term | Phrase]:
    """Words and phrases a match needs or may use, never from under a NOT."""
    match node:
        case Term() | Phrase():
            yield node
        case And(children) | Or(children):
            for child in children:
                yield from _leaves(child)


def hashtags_of(root: Node) -> list[str]:
    """The ``#tags`` of a query, lower-case, without ``#``, in order."""
    tags = [t.word[1:].lower() for t in _leaves(root) if isinstance(t, Term) and t.word.startswith("#")]
    return list(dict.fromkeys(t for t in tags if t))


def search_queries(root: Node) -> list[str]:
    """Mastodon search text for a query: one search per alternative of a top-level OR.

    Mastodon's search has no OR and no fields; each alternative is searched by its
    words and phrases (prefix words lose their ``*``). An alternative without any
    word (``lang:it`` alone) cannot be searched: then nothing is, and the watch
    relies on hashtags.
    """
    alternatives = root.children if isinstance(root, Or) else (root,)
    found: list[str] = []
    for alternative in alternatives:
        words = [f'"{leaf.text}"' if isinstance(leaf, Phrase) else leaf.word for leaf in _leaves(alternative)]
        if not words:
            return []
        found.append(" ".join(dict.fromkeys(words)))
    return list(dict.fromkeys(found))


# -- collecting --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Stream:
    """One paginated list to walk: a tag timeline, a search, notifications or an account's statuses."""

    host: str
    key: str  # the cursor's name for it: "tag:acme", "search:acme", "mentions", "posts"
    method: str  # the Mastodon.py method
    params: Mapping[str, Any]
    lower: str = "since_id"  # search knows only min_id as a lower bound
    timed_ids: bool = True  # status ids encode their time; notification ids are a plain sequence


def _reset_time(headers: Mapping[str, str]) -> datetime | None:
    """Mastodon sends the window's end as ISO time; GoToSocial and others as epoch seconds."""
    value = headers.get("X-RateLimit-Reset")
    if not value:
        return None
    try:
        return utc_from_epoch(int(value)) if value.isdigit() else utc_from_iso(value)
    except ValueError:
        return None


def _detail(exc: MastodonAPIError) -> str:
    args = exc.args
    text = str(args[3]) if len(args) > 3 and args[3] else (str(args[2]) if len(args) > 2 else str(exc))
    return text.splitlines()[0][:200]


def _status(exc: MastodonAPIError) -> int | None:
    return exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None


class _MastodonWalk:
    """One stream's walk down from the newest with ``max_id``; ``state`` is the cursor of every stream."""

    def __init__(
        self, collector: MastodonCollector, context: str, stream: _Stream, state: dict[str, dict[str, Any]]
    ) -> None:
        self.collector, self.context, self.stream, self.state = collector, context, stream, state
        position = state.get(stream.host, {}).get(stream.key, {})
        since = position.get("since")
        if since is None and stream.timed_ids:
            since = snowflake_at(collector.clock() - timedelta(days=collector.settings.backfill_days))
        resume = position.get("resume") or {}
        self.since: str | None = since
        self.max_id: str | None = resume.get("max_id")
        self.newest: str | None = resume.get("newest")

    def step(self) -> Step:
        stream = self.stream
        params = {**stream.params, stream.lower: self.since, "max_id": self.max_id}
        body, headers = self.collector._call(self.context, stream.host, stream.method, params)
        items = body.get("statuses") if stream.method == "search_v2" and isinstance(body, dict) else body
        mentions, rejects = normalize_page(items, stream.host)  # raises unless items is a list
        items = cast(list[Any], items)
        ids = [int(i["id"]) for i in items if isinstance(i, dict) and str(i.get("id", "")).isdigit()]
        if ids:
            self.newest = str(max(int(self.newest or 0), *ids))
            self.max_id = str(min(ids))
        done = len(items) < stream.params["limit"] or not ids
        limit = None
        if not done and headers.get("X-RateLimit-Remaining") == "0":
            reset = _reset_time(headers)
            limit = RateLimited(f"{self.context}: rate limit used up; waiting until {until(reset)}", reset)
        return Step(mentions, rejects, more=not done, limit=limit)

    def finished(self) -> Cursor:
        return self._store({"since": self.newest or self.since})

    def paused(self) -> Cursor:
        return self._store({"since": self.since, "resume": {"max_id": self.max_id, "newest": self.newest}})

    def _store(self, position: dict[str, Any]) -> Cursor:
        self.state.setdefault(self.stream.host, {})[self.stream.key] = position
        return json.dumps(self.state, sort_keys=True)


class MastodonCollector(Collector):
    """Hashtag timelines, search, mentions and own posts, with ``ratelimit_method="throw"``: never sleeps."""

    name: ClassVar[str] = "mastodon"
    Settings: ClassVar[type[NetworkSettings]] = Settings
    has_feeds: ClassVar[bool] = True

    def __init__(
        self, settings: NetworkSettings, env: Mapping[str, str], context: Context | None = None
    ) -> None:
        super().__init__(settings, env, context)
        self.settings = cast(Settings, settings)
        if not self.settings.instances:
            raise CollectorError("mastodon: no instances configured; set [networks.mastodon] instances")
        self.env = env
        self.token = env.get(self.settings.access_token_env, "").strip() or None
        if self.token:
            protect([self.token], "mastodon", "urllib3", "requests")
        self.home = host_of(self.settings.instances[0])
        self.bases = {host_of(url): url.rstrip("/") for url in self.settings.instances}
        self._clients: dict[str, Mastodon] = {}
        self._account_ids: dict[str, str] = {}
        self._last: requests.Response | None = None

    def feeds(self) -> list[Feed]:
        feeds = []
        for account in self.settings.accounts:
            handle = account.lstrip("@")
            feeds += [Feed(f"@{handle}", keep_all=True), Feed(f"posts:@{handle}", keep_all=True)]
        return feeds

    # -- sources -------------------------------------------------------------

    def _feed_streams(self, feed: Feed) -> list[_Stream]:
        limit = self.settings.limit
        handle = feed.name.split("@", 1)[1]
        user, _, host = handle.partition("@")
        host = host_of(host) if host else self.home
        if feed.name.startswith("@"):
            params = {"types": ["mention"], "limit": limit}
            return [_Stream(host, "mentions", "notifications", params, timed_ids=False)]
        account_id = self._account_id(user, host, feed.name)
        params = {"id": account_id, "exclude_reblogs": True, "limit": limit}
        return [_Stream(host, "posts", "account_statuses", params)]

    def _streams(self, watch: Watch) -> list[_Stream]:
        limit = self.settings.limit
        tags = list(
            dict.fromkeys(
                [*hashtags_of(watch.root), *(t.lstrip("#").lower() for t in self.settings.hashtags)]
            )
        )
        searches = search_queries(watch.root) if self.settings.full_text_search else []
        streams = []
        for host in self.bases:
            streams += [
                _Stream(host, f"tag:{t}", "timeline_hashtag", {"hashtag": t, "limit": limit}) for t in tags
            ]
            streams += [
                _Stream(host, f"search:{q}", "search_v2",
                        {"q": q, "result_type": "statuses", "resolve": False, "limit": limit}, "min_id")
                for q in searches
            ]  # fmt: skip
        if not streams:
            raise CollectorError(
                f"mastodon (watch {watch.name!r}): nothing to read for {watch.query!r}; add a #hashtag to the "
                "query, set hashtags, or turn on full_text_search"
            )
        return streams

    def _account_id(self, user: str, host: str, source: str) -> str:
        """The account's id on ``host``: from the token when it is the token's account, else by lookup."""
        key = f"{user.lower()}@{host}"
        if key not in self._account_ids:
            context = f"mastodon ({source})"
            found = None
            if self.token and host == self.home:
                me, _ = self._call(context, host, "account_verify_credentials", {})
                if isinstance(me, dict) and str(me.get("username", "")).lower() == user.lower():
                    found = me.get("id")
            if found is None:
                account, _ = self._call(context, host, "account_lookup", {"acct": user})
                found = account.get("id") if isinstance(account, dict) else None
            if not found:
                raise CollectorError(
                    f"{context}: no account @{user} on {host}; fix [networks.mastodon] accounts"
                )
            self._account_ids[key] = str(found)
        return self._account_ids[key]

    # -- walking -------------------------------------------------------------

    def fetch(self, source: Watch | Feed, cursor: Cursor | None, budget: int | None = None) -> Iterator[Page]:
        """Pages of every stream of the watch (or feed); each finished walk moves its position."""
        state: dict[str, dict[str, Any]] = json.loads(cursor) if cursor else {}
        if isinstance(source, Feed):
            if source.name.startswith("@") and not self.token:
                require_env(
                    self.env, self.settings.access_token_env, f"mastodon ({source.name})", "access token"
                )
            context, matcher, streams = f"mastodon ({source.name})", None, self._feed_streams(source)
        else:  # tags and search are supersets: the watch's query decides
            context, matcher, streams = (
                f"mastodon (watch {source.name!r})",
                Query(source.root),
                self._streams(source),
            )
        for stream in streams:
            yield from walk(_MastodonWalk(self, context, stream, state), network="mastodon", source=source.name,
                            pages=self.settings.pages_per_run, matcher=matcher)  # fmt: skip

    # -- the wire ------------------------------------------------------------

    def _client(self, host: str) -> Mastodon:
        if host not in self._clients:
            session = requests.Session()
            session.hooks["response"].append(self._keep)
            self._clients[host] = _Client(
                api_base_url=self.bases.get(host, f"https://{host}"),
                access_token=self.token if host == self.home else None,
                ratelimit_method="throw",
                request_timeout=self.settings.timeout_seconds,
                mastodon_version=self.settings.mastodon_version,
                version_check_mode="created",  # with the version given: no lookup, checks pass
                session=session,
                user_agent=USER_AGENT,
            )
        return self._clients[host]

    def _keep(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """The raw response of the last call: its JSON is kept as received, its headers say the rate limit."""
        self._last = response

    def _call(
        self, context: str, host: str, method: str, params: Mapping[str, Any]
    ) -> tuple[Any, Mapping[str, str]]:
        """The one choke point: a Mastodon.py call, its failures turned into ours and retried if transient."""
        call = getattr(self._client(host), method)
        token_hint = f"set {self.settings.access_token_env} to a valid access token for {self.home}"

        def once() -> tuple[Any, Mapping[str, str]]:
            self._last = None
            try:
                call(**{k: v for k, v in params.items() if v is not None})
            except MastodonRatelimitError:
                reset = _reset_time(self._last.headers if self._last is not None else {})
                raise RateLimited(
                    f"{context}: rate limited (429); waiting until {until(reset)}", reset
                ) from None
            except MastodonUnauthorizedError as exc:
                if self.token and host == self.home:
                    raise AuthError(f"{context}: token rejected (401); {token_hint}") from None
                raise AuthError(
                    f"{context}: {host} requires login here (401: {_detail(exc)}); {token_hint} "
                    "and list that instance first"
                ) from None
            except MastodonNotFoundError as exc:
                raise CollectorError(
                    f"{context}: not found on {host} (404: {_detail(exc)}); check the setting"
                ) from None
            except MastodonServerError as exc:
                raise SourceUnavailable(
                    f"{context}: server error ({_status(exc)}) on {host}; the instance is having trouble, "
                    "the next run retries"
                ) from None
            except MastodonNetworkError as exc:
                if isinstance(exc.__context__, requests.Timeout):
                    raise SourceUnavailable(
                        f"{context}: no answer from {host} within {self.settings.timeout_seconds:g}s; "
                        "raise timeout_seconds or retry later"
                    ) from None
                raise SourceUnavailable(
                    f"{context}: cannot connect to {host}; check the network or instances"
                ) from None
            except MastodonAPIError as exc:
                status = _status(exc)
                if status is None and self._last is not None and self._last.ok:
                    raise MalformedPayload(
                        f"{context}: the answer from {host} is not JSON ({len(self._last.content)} bytes)"
                    ) from None
                if status == 403:
                    raise AuthError(
                        f"{context}: access denied by {host} (403: {_detail(exc)}); {token_hint}"
                    ) from None
                raise CollectorError(
                    f"{context}: request refused by {host} ({status}: {_detail(exc)})"
                ) from None
            except MastodonError as exc:
                raise CollectorError(f"{context}: {type(exc).__name__}: {exc}") from None
            response = self._last
            if response is None:
                raise SourceUnavailable(f"{context}: no response from {host}; retry later")
            try:
                body = response.json()
            except ValueError:
                raise MalformedPayload(f"{context}: the answer from {host} is not JSON") from None
            return body, response.headers

        return retrying(
            once,
            attempts=self.settings.retry_attempts,
            backoff=self.settings.retry_backoff_seconds,
            sleep=self.sleep,
        )
