"""What the Facebook Pages and Instagram collectors share: one Graph API client over httpx.

The Graph API answers every failure with ``{"error": {"message", "type", "code",
"error_subcode", "fbtrace_id"}}``; ``GraphClient.get`` is the one choke point
that turns those (and transport failures) into our errors. Two walks are
shared as well:

* ``walk_newest`` walks an edge that lists newest first (a Page's posts, an
  account's media) down to the cursor's ``since`` position.
* ``walk_threads`` (in ``collectors.graph_threads``) re-reads the comments
  under recent posts, because new comments keep arriving on old posts, and
  notices comments hidden or gone.

The access token travels in the ``Authorization`` header only. ``paging.next``
URLs carry it again as ``access_token=``: ``relative_next`` strips it (and the
host, so that ``api_base_url`` applies) before anything is requested or stored.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, cast
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from collectors._common import cannot_connect, no_answer, protect, require_env, retrying, tls, until
from collectors._paging import Boundary, Step, walk
from collectors.base import Collector, Context, NetworkSettings
from collectors.graph_settings import GraphSettings
from listener.errors import AuthError, CollectorError, MalformedPayload, RateLimited, SourceUnavailable
from listener.model import Clock, Cursor, Feed, Mention, Page, Reject, Watch
from listener.records import utcnow

__all__ = [
    "GRAPH_HOST",
    "GraphClient",
    "GraphSettings",
    "Reply",
    "Usage",
    "graph_time",
    "parse_usage",
    "relative_next",
    "walk_newest",
]

log = logging.getLogger(__name__)

GRAPH_HOST = "https://graph.facebook.com"
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613}) | frozenset(range(80001, 80015))
TRANSIENT_CODES = frozenset({1, 2})  # "An unknown error occurred", "Service temporarily unavailable"
_PERMISSION_CODES = frozenset({10, *range(200, 300)})
_QUOTED = re.compile(r"'([^']{3,60})'")


# -- small pieces ------------------------------------------------------------


def graph_time(text: Any) -> datetime:
    """Parse Graph's ``2021-07-04T19:50:58+0000`` (an offset without a colon) to aware UTC."""
    if not isinstance(text, str):
        raise ValueError(f"a time must be a string, not {type(text).__name__}")
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC)


def relative_next(url: Any) -> str | None:
    """A ``paging.next`` URL as ``/path?query`` without host or ``access_token``; ``None`` if absent."""
    if not isinstance(url, str) or not url:
        return None
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "access_token"]
    return parts.path + (f"?{urlencode(query)}" if query else "")


def next_of(body: Mapping[str, Any]) -> str | None:
    paging = body.get("paging")
    return relative_next(paging.get("next")) if isinstance(paging, dict) else None


def data_of(body: Mapping[str, Any], context: str) -> list[Any]:
    data = body.get("data", [])
    if not isinstance(data, list):
        raise MalformedPayload(f"{context}: 'data' is {type(data).__name__}, not a list")
    return data


@dataclass(frozen=True, slots=True)
class Usage:
    """The highest quota use the usage headers report, in percent, and when access comes back."""

    percent: int = 0
    regain_minutes: int | None = None

    def retry_at(self, now: datetime) -> datetime | None:
        return now + timedelta(minutes=self.regain_minutes) if self.regain_minutes else None


def _numbers(value: Any) -> Iterator[tuple[str, int]]:
    """Every numeric leaf of a usage header's JSON, with its key."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, int | float) and not isinstance(item, bool):
                yield key, int(item)
            else:
                yield from _numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _numbers(item)


def parse_usage(headers: Mapping[str, str]) -> Usage:
    """Read ``X-App-Usage``, ``X-Page-Usage`` and ``X-Business-Use-Case-Usage``.

    The first two are ``{"call_count": 28, "total_time": 25, "total_cputime": 25}``
    (percent of the hourly quota); the business one nests the same per business
    object and use case, with ``estimated_time_to_regain_access`` in minutes.
    """
    percent, regain = 0, None
    for name in ("x-app-usage", "x-page-usage", "x-business-use-case-usage"):
        text = headers.get(name)
        if not text:
            continue
        try:
            value = json.loads(text)
        except ValueError:
            continue
        for key, number in _numbers(value):
            if key == "estimated_time_to_regain_access":
                regain = max(regain or 0, number) or None
            elif key in ("call_count", "total_time", "total_cputime"):
                percent = max(percent, number)
    return Usage(percent, regain)


@dataclass(frozen=True, slots=True)
class Reply:
    body: dict[str, Any]
    usage: Usage


# -- the client --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Auth:
    """How this network's errors name its credential and how to renew it."""

    network: str
    token_env: str
    renew: str  # e.g. "get a new long-lived Page token in the Graph API Explorer"


class GraphClient:
    """GET requests to the Graph API with one choke point for errors; the token never leaves the header."""

    def __init__(
        self,
        network: str,
        token: str,
        token_env: str,
        renew: str,
        settings: GraphSettings,
        transport: httpx.BaseTransport | None = None,
        now: Clock = utcnow,
    ) -> None:
        protect([token], "httpx", "httpcore")
        self.now = now  # the collector's clock, which the runner may replace
        self.settings = settings
        self.auth = _Auth(network, token_env, renew)
        self.version = settings.api_version
        self.http = httpx.Client(
            base_url=(settings.api_base_url or GRAPH_HOST).rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=settings.timeout_seconds,
            verify=tls(),
            transport=transport,
        )
        self.sleep: Callable[[float], None] | None = None

    def close(self) -> None:
        """Release the pooled connections (a left-open socket is a ResourceWarning, an error in tests)."""
        self.http.close()

    def path(self, node: str) -> str:
        """``/v23.0/<node>``: the versioned path of a node or edge."""
        return f"/{self.version}/{node.lstrip('/')}"

    def get(self, context: str, path: str, params: Mapping[str, Any] | None = None) -> Reply:
        """One GET, retried when transient; ``path`` is versioned already (or a ``relative_next``)."""

        def once() -> Reply:
            try:
                response = self.http.get(path, params=dict(params) if params else None)
            except httpx.TimeoutException:
                raise no_answer(context, self.settings.timeout_seconds) from None
            except httpx.TransportError as exc:
                raise cannot_connect(context, exc) from None
            try:
                body = response.json()
            except ValueError:
                if response.status_code >= 500:
                    raise self._server_error(context, response.status_code) from None
                raise MalformedPayload(
                    f"{context}: the answer is not JSON ({len(response.content)} bytes)"
                ) from None
            usage = parse_usage(response.headers)
            if response.status_code >= 400 or (isinstance(body, dict) and "error" in body):
                raise self._error(context, response.status_code, body, usage)
            if not isinstance(body, dict):
                raise MalformedPayload(f"{context}: the answer is JSON but not an object")
            return Reply(body, usage)

        return retrying(
            once,
            attempts=self.settings.retry_attempts,
            backoff=self.settings.retry_backoff_seconds,
            sleep=self.sleep,
        )

    def saturated(self, context: str, usage: Usage) -> RateLimited | None:
        """The error to raise after a page whose usage headers say the quota is (nearly) spent."""
        if usage.percent < self.settings.usage_ceiling_percent:
            return None
        retry_at = usage.retry_at(self.now())
        return RateLimited(
            f"{context}: Graph API usage at {usage.percent}% of the quota; stopped early, waiting until "
            f"{until(retry_at)}",
            retry_at,
        )

    def _server_error(self, context: str, status: int) -> SourceUnavailable:
        return SourceUnavailable(
            f"{context}: server error ({status}); the Graph API is having trouble, the next run retries"
        )

    def _error(self, context: str, status: int, body: Any, usage: Usage) -> CollectorError:
        """Map a Graph error body (or a bare status) to our error, in one line."""
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            if status >= 500:
                return self._server_error(context, status)
            if status in (401, 403):
                return AuthError(
                    f"{context}: access refused ({status}); set {self.auth.token_env} to a valid token"
                )
            return CollectorError(f"{context}: request refused ({status}); check the settings")
        code = error.get("code")
        subcode = error.get("error_subcode")
        text = str(error.get("message") or error.get("type") or "no message").splitlines()[0]
        text = re.sub(r"^\(#\d+\)\s*", "", text)
        label = f"code {code}" + (f", subcode {subcode}" if subcode else "")
        var = self.auth.token_env
        if code in RATE_LIMIT_CODES:
            retry_at = usage.retry_at(self.now())
            message = f"{context}: rate limited ({label}: {text[:120]}); waiting until {until(retry_at)}"
            return RateLimited(message, retry_at)
        if code == 190 or code == 102:
            return AuthError(f"{context}: access token rejected ({label}: {text[:120]}); {self.auth.renew} "
                             f"and set {var}")  # fmt: skip
        if code in TRANSIENT_CODES or error.get("is_transient") is True or status >= 500:
            return self._server_error(context, status)
        if code in _PERMISSION_CODES or (
            code == 100 and re.search(r"permission|requires|feature", text, re.I)
        ):
            names = list(dict.fromkeys(_QUOTED.findall(text)))
            need = "needs one of " + ", ".join(f"'{n}'" for n in names) if names else text[:160]
            return AuthError(f"{context}: permission missing ({label}): {need}; add it to the app "
                             f"(App Review) and put a token that has it in {var}")  # fmt: skip
        return CollectorError(
            f"{context}: request refused ({label}): {text[:160]}; check the ids in the settings"
        )


# -- newest-first edges ------------------------------------------------------

Normalize = Callable[[list[Any]], tuple[list[Mention], list[Reject]]]


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def walk_newest(
    client: GraphClient,
    context: str,
    *,
    network: str,
    watch: str,
    cursor: str | None,
    path: str,
    params: Mapping[str, Any],
    normalize: Normalize,
    since_param: bool = True,
    units: int = 0,
    extra: Mapping[str, Any] | None = None,
) -> Iterator[Page]:
    """Pages of an edge that lists newest first, down to the cursor, at most ``pages_per_run`` of them.

    The cursor is ``{"since": iso, "ids": [...]}``: the newest time collected
    and the ids at that very second (Graph's ``since`` is inclusive, so they
    come again and are dropped here). It moves only on the last page of a
    walk; a walk cut short by the page budget or the usage headers stores
    ``resume`` (the next page's path and the newest item so far) so that the
    next run finishes it first. ``units`` is declared on the first page only.
    """
    edge = _Edge(client, context, path, params, normalize, units, dict(extra or {}))
    edge.start(cursor, since_param)
    yield from walk(edge, network=network, source=watch, pages=client.settings.pages_per_run)


@dataclass
class _Edge:
    """A newest-first edge as a ``_paging.Walk``: ``Boundary`` positions, ``resume`` by the next page's path."""

    client: GraphClient
    context: str
    path: str
    params: Mapping[str, Any]
    normalize: Normalize
    units: int
    carry: dict[str, Any]  # kept in the cursor as it is (Instagram's hashtag id)
    mark: Boundary = field(default_factory=Boundary)
    query: dict[str, Any] | None = None
    next_path: str | None = None

    def start(self, cursor: str | None, since_param: bool) -> None:
        state = json.loads(cursor) if cursor else {}
        resume = state.get("resume") or {}
        since = datetime.fromisoformat(state["since"]) if state.get("since") else None
        newest = datetime.fromisoformat(resume["newest"]) if resume.get("newest") else None
        self.mark = Boundary(since, set(state.get("ids") or ()), newest, list(resume.get("newest_ids") or ()))
        self.query = dict(self.params)
        if since is not None and since_param:
            self.query["since"] = int(since.timestamp())
        if resume.get("next"):
            self.path, self.query = resume["next"], None

    def step(self) -> Step:
        reply = self.client.get(self.context, self.path, self.query)
        mentions, rejects = self.normalize(data_of(reply.body, self.context))
        fresh = [m for m in mentions if self.mark.is_new(m.created_at, m.native_id)]
        for mention in fresh:
            self.mark.saw(mention.created_at, mention.native_id)
        reached = any(self.mark.older(m.created_at) for m in mentions)
        self.next_path = next_of(reply.body)
        if self.next_path is not None:
            self.path, self.query = self.next_path, None
        units, self.units = self.units, 0
        limit = self.client.saturated(self.context, reply.usage)
        return Step(fresh, rejects, more=self.next_path is not None and not reached, limit=limit, units=units)

    def finished(self) -> str | None:
        top, ids = self.mark.top()
        if top is not None:
            return json.dumps({**self.carry, "since": _stamp(top), "ids": ids})
        return json.dumps(self.carry) if self.carry else None

    def paused(self) -> str:
        mark = self.mark
        resume = {"next": self.next_path, "newest": _stamp(mark.newest) if mark.newest else None,
                  "newest_ids": mark.newest_ids}  # fmt: skip
        kept = {"since": _stamp(mark.since), "ids": sorted(mark.ids)} if mark.since else {}
        return json.dumps({**self.carry, **kept, "resume": resume})


class GraphCollector(Collector):
    """What the Facebook and Instagram collectors share: the token, the client, one client per run.

    Subclasses set ``name``, ``Settings``, ``token_what`` (how a message calls the
    token), ``renew`` (how to get a new one) and ``token_env`` (the settings key naming
    its variable), and write ``feeds`` and ``_fetch``.
    """

    name: ClassVar[str]
    searches: ClassVar[bool] = False  # the Graph API has no keyword search: only feeds run
    has_feeds: ClassVar[bool] = True
    token_what: ClassVar[str]
    renew: ClassVar[str]
    token_env: ClassVar[str]

    def __init__(
        self, settings: NetworkSettings, env: Mapping[str, str], context: Context | None = None
    ) -> None:
        super().__init__(settings, env, context)
        self.settings = cast(GraphSettings, settings)
        # The token is checked when a feed runs, not here: a collector that fails to build has no
        # feeds, so the runner would record nothing at all for a missing token.
        self.variable: str = getattr(settings, self.token_env)
        self.token = env.get(self.variable, "").strip()
        self._client: GraphClient | None = None

    def client(self) -> GraphClient:
        if self._client is None:
            token = require_env({self.variable: self.token}, self.variable, self.name, self.token_what)
            self._client = GraphClient(self.name, token, self.variable, self.renew, self.settings,
                                       self.context.transport, now=self.clock)  # fmt: skip
            self._client.sleep = self.sleep
        return self._client

    def fetch(self, source: Watch | Feed, cursor: Cursor | None, budget: int | None = None) -> Iterator[Page]:
        """The pages of one feed (see the network module's docstring for the names)."""
        try:
            yield from self._fetch(source, cursor)
        finally:
            if self._client is not None:  # each run opens its own connections and closes them
                self._client.close()
                self._client = None

    def _fetch(self, source: Watch | Feed, cursor: Cursor | None) -> Iterator[Page]:
        raise NotImplementedError
