"""Hacker News: stories and comments by date through the public Algolia search API, with httpx.

``GET /search_by_date?query=...&tags=(story,comment)&numericFilters=created_at_i>=N``
answers newest first, ``hitsPerPage`` at a time. Algolia's matching is looser
than ours (typo tolerance, prefix matching of the last word, no OR), so every
hit passes the watch's local matcher; an OR at the top of a query becomes one
search per branch.

The cursor is JSON ``{"since": t, "seen": [ids]}``: ``t`` is the newest
``created_at_i`` of the last finished walk. The next walk asks for
``created_at_i >= t - overlap_seconds``: ``>=`` because another item may share
that second, and an overlap because Algolia indexes some items a little after
they were created. What comes back again is in ``seen`` and is skipped, so runs
do not repeat each other. ``since`` moves only on the last page of a walk; a
walk cut short by ``pages_per_run`` saves ``"resume"`` (the search it was in,
the oldest second it reached, the walk's newest second and ids), and the next
run finishes that walk first. A failure half way leaves the stored cursor as it
was: the next run walks again and the store drops the repeats.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar, cast

import httpx

from collectors._common import (
    cannot_connect,
    no_answer,
    retry_after,
    retrying,
    tls,
    until,
    utc_from_epoch,
    utc_from_iso,
)
from collectors._html import html_to_text
from collectors._paging import Step, Window, walk
from collectors.base import Collector, Context, NetworkSettings
from collectors.hackernews_settings import Settings
from listener.errors import CollectorError, MalformedPayload, RateLimited, SourceUnavailable
from listener.model import Cursor, Feed, Mention, Page, Reject, Watch
from listener.query import And, Field, Node, Not, Or, Phrase, Query, Term

__all__ = ["HackerNewsCollector", "Settings", "normalize", "normalize_page", "to_algolia_queries"]

ITEM_URL = "https://news.ycombinator.com/item?id={}"
USER_AGENT = "listener/0.1 (self-hosted social listening)"
_MAX_SEARCHES = 8  # OR branches become separate searches: keep a query from costing dozens


# -- query -------------------------------------------------------------------

# A node lowered to Algolia: alternative searches (each words Algolia ANDs), or
# True ("anything": narrowed locally) / False ("never on Hacker News").
Searches = list[str] | bool


def _lower(node: Node) -> Searches:
    match node:
        case Term(word, prefix):
            return True if prefix else [word]  # Algolia prefixes only the last word: not a superset
        case Phrase(text):
            return [text]  # its words, unquoted: Algolia's phrase matching is not ours; a superset
        case Field("network", value):
            return value == "hackernews"
        case Field():
            return True  # lang (HN has none), author and site: checked locally
        case Not():
            return True  # a "-word" Algolia drops might be one our tokenizer keeps: checked locally
        case And(children):
            return _lower_and(children)
        case Or(children):
            return _lower_or(children)
    raise TypeError(node)


def _lower_and(children: tuple[Node, ...]) -> Searches:
    """Every combination of the children's alternatives (Algolia ANDs the words of a search)."""
    alternatives: list[str] = [""]
    for child in children:
        part = _lower(child)
        if part is False:
            return False
        if part is not True:
            alternatives = [f"{a} {p}".strip() for a in alternatives for p in part]
    return alternatives if alternatives != [""] else True


def _lower_or(children: tuple[Node, ...]) -> Searches:
    """One search per alternative (Algolia has no OR)."""
    parts = [_lower(c) for c in children]
    if any(p is True for p in parts):
        return True
    found = [q for p in parts if isinstance(p, list) for q in p]
    return list(dict.fromkeys(found)) or False


def to_algolia_queries(query: Query) -> Searches:
    """The watch query as Algolia searches whose union is a superset of its matches."""
    return _lower(query.root)


# -- normalising -------------------------------------------------------------


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def created_second(hit: Any) -> int | None:
    """A hit's ``created_at_i``, or ``None`` when it lacks a usable one."""
    return _int(hit.get("created_at_i")) if isinstance(hit, dict) else None


def normalize(hit: Any) -> Mention:
    """One Algolia hit (story, poll or comment) as a ``Mention``; raises on a bad one."""
    if not isinstance(hit, dict):
        raise ValueError(f"a hit must be an object, not {type(hit).__name__}")
    native_id = hit.get("objectID")
    if not isinstance(native_id, str) or not native_id:
        raise ValueError(f"missing or invalid field 'objectID': {native_id!r}")
    if (second := created_second(hit)) is not None:
        created = utc_from_epoch(second)
    elif isinstance(hit.get("created_at"), str):
        created = utc_from_iso(hit["created_at"])
    else:
        raise ValueError("missing field 'created_at_i'")
    tags: list[Any] = hit["_tags"] if isinstance(hit.get("_tags"), list) else []
    parent, story = _int(hit.get("parent_id")), _int(hit.get("story_id"))
    if "comment" in tags or isinstance(hit.get("comment_text"), str):
        body = hit.get("comment_text")
        if not isinstance(body, str):
            raise ValueError("missing field 'comment_text'")
        text, reply_to, replies = html_to_text(body), str(parent) if parent else None, None
    else:
        title = hit.get("title")
        if not isinstance(title, str) or not title.strip():
            raise ValueError("missing field 'title'")
        body = html_to_text(hit.get("story_text") or "")
        text, reply_to, replies = (
            "\n\n".join(filter(None, [title.strip(), body])),
            None,
            hit.get("num_comments"),
        )
        if story is None and native_id.isdigit():
            story = int(native_id)  # a story is its own thread; the 2014 API left story_id null
    author = hit.get("author") if isinstance(hit.get("author"), str) else None
    return Mention(
        network="hackernews",
        native_id=native_id,
        text=text,
        created_at=created,
        url=ITEM_URL.format(native_id),
        author_id=author,
        author_handle=author,
        in_reply_to_id=reply_to,
        conversation_id=str(story) if story else None,
        like_count=_int(hit.get("points")),
        reply_count=_int(replies),
        # The highlights repeat the text with <em> marks for this query: not part of the item.
        raw={k: v for k, v in hit.items() if k != "_highlightResult"},
    )


def normalize_page(body: Mapping[str, Any]) -> tuple[list[Mention], list[Reject]]:
    """A search reply: the hits that normalise, and the rest as rejects."""
    hits = body.get("hits")
    if not isinstance(hits, list):
        raise MalformedPayload(f"hackernews: 'hits' is {type(hits).__name__}, not a list")
    mentions: list[Mention] = []
    rejects: list[Reject] = []
    for hit in hits:
        try:
            mentions.append(normalize(hit))
        except (KeyError, TypeError, ValueError) as exc:
            native_id = hit.get("objectID") if isinstance(hit, dict) else None
            rejects.append(
                Reject("hackernews", str(exc), hit, native_id if isinstance(native_id, str) else None)
            )
    return mentions, rejects


# -- collecting --------------------------------------------------------------


def _message(response: httpx.Response) -> str:
    """Algolia's one-line reason, from ``{"message": ..., "status": ...}``."""
    try:
        body = response.json()
    except ValueError:
        body = None
    text = body.get("message") if isinstance(body, dict) else None
    return (
        str(text).splitlines()[0][:200] if text else response.reason_phrase or f"HTTP {response.status_code}"
    )


class _HackerNewsWalk:
    """One walk over a watch's searches, newest first, down to ``since`` less the overlap (see the module docstring)."""

    def __init__(
        self, collector: HackerNewsCollector, client: httpx.Client, plan: _Plan, cursor: Cursor | None
    ) -> None:
        self.collector, self.client, self.plan = collector, client, plan
        settings = collector.settings
        state = json.loads(cursor) if cursor else {}
        first_run = int((collector.clock() - timedelta(hours=settings.lookback_hours)).timestamp())
        self.since: int | None = state.get("since")
        self.seen = set(state.get("seen", []))  # ids near ``since`` that the last walk already yielded
        self.lower = first_run if self.since is None else self.since - settings.overlap_seconds
        resume = state.get("resume") or {}
        self.search = int(resume.get("search", 0))  # a paused walk resumes at this search...
        self.upper: int | None = resume.get("before")  # ...with created_at_i <= before
        self.window = Window(settings.overlap_seconds, resume.get("newest"), dict(resume.get("recent", {})))
        self.page = 0
        self.resume_at: tuple[int, int | None] = (self.search, None)

    def step(self) -> Step:
        searches = self.plan.searches
        body = self.collector._search(self.client, self.plan.context, searches[self.search], self.plan.tags,
                                      self.lower, self.upper, self.page)  # fmt: skip
        mentions, rejects = normalize_page(body)
        seconds = {str(h.get("objectID")): s for h in body["hits"] if (s := created_second(h))}
        self.window.saw(seconds)
        here = bool(seconds) and self.page + 1 < (_int(body.get("nbPages")) or 0)  # more of this search
        if here:
            self.resume_at, self.page = (self.search, min(seconds.values())), self.page + 1
        else:  # the next search starts at the top: a resumed walk's bound held for its own search only
            self.resume_at, self.search, self.page, self.upper = (
                (self.search + 1, None),
                self.search + 1,
                0,
                None,
            )
        fresh = [m for m in mentions if m.native_id not in self.seen]
        return Step(fresh, rejects, more=here or self.search < len(searches))

    def finished(self) -> Cursor | None:
        if self.window.newest is None:
            return (
                None if self.since is None else json.dumps({"since": self.since, "seen": sorted(self.seen)})
            )
        return json.dumps({"since": self.window.newest, "seen": sorted(self.window.kept())})

    def paused(self) -> Cursor:
        search, before = self.resume_at
        spot = {
            "search": search,
            "before": before,
            "newest": self.window.newest,
            "recent": self.window.kept(),
        }
        return json.dumps({"since": self.since, "seen": sorted(self.seen), "resume": spot})


@dataclass(frozen=True, slots=True)
class _Plan:
    """What a source asks Algolia: the context for messages, the searches, the tags filter, the local matcher."""

    context: str
    searches: list[str]
    tags: str
    matcher: Query | None = None


class HackerNewsCollector(Collector):
    """Watches search stories and comments by date; ``posts:@user`` feeds keep an account's own items."""

    name: ClassVar[str] = "hackernews"
    Settings: ClassVar[type[NetworkSettings]] = Settings
    has_feeds: ClassVar[bool] = True

    def __init__(
        self, settings: NetworkSettings, env: Mapping[str, str], context: Context | None = None
    ) -> None:
        super().__init__(settings, env, context)
        self.settings = cast(Settings, settings)

    def feeds(self) -> list[Feed]:
        return [Feed(f"posts:@{a.lstrip('@')}", keep_all=True) for a in self.settings.accounts]

    def _client(self) -> httpx.Client:
        """A client for one walk, closed when the walk ends: the runner never closes collectors."""
        return httpx.Client(
            base_url=self.settings.api_base_url,
            timeout=self.settings.timeout_seconds,
            headers={"User-Agent": USER_AGENT},
            verify=tls(),
            transport=self.context.transport,
        )

    def _plan(self, source: Watch | Feed) -> _Plan:
        """What the source asks Algolia; no searches when the query can never match on Hacker News."""
        kinds = "(" + ",".join(self.settings.tags) + ")"
        if isinstance(source, Feed):
            return _Plan(f"hackernews ({source.name})", [""], f"{kinds},author_{source.name[7:]}")
        context = f"hackernews (watch {source.name!r})"
        query = Query(source.root)
        searches = to_algolia_queries(query)
        if searches is True:
            raise CollectorError(
                f"{context}: nothing Hacker News can search for in {source.query!r}; add a word"
            )
        if searches is not False and len(searches) > _MAX_SEARCHES:
            raise CollectorError(
                f"{context}: {source.query!r} needs {len(searches)} searches, at most {_MAX_SEARCHES}; "
                "use fewer OR branches"
            )
        return _Plan(context, searches or [], kinds, query)

    def fetch(self, source: Watch | Feed, cursor: Cursor | None, budget: int | None = None) -> Iterator[Page]:
        """Pages newer than the cursor, newest first, until the walk is done or ``pages_per_run`` is spent."""
        plan = self._plan(source)
        if not plan.searches:
            return  # e.g. network:reddit: nothing to ask Hacker News
        with self._client() as client:
            yield from walk(_HackerNewsWalk(self, client, plan, cursor), network="hackernews", source=source.name,
                            pages=self.settings.pages_per_run, matcher=plan.matcher)  # fmt: skip

    def _search(
        self,
        client: httpx.Client,
        context: str,
        text: str,
        tags: str,
        lower: int,
        upper: int | None,
        page: int,
    ) -> dict[str, Any]:
        filters = f"created_at_i>={lower}" + (f",created_at_i<={upper}" if upper is not None else "")
        params = {"query": text, "tags": tags, "numericFilters": filters,
                  "hitsPerPage": self.settings.hits_per_page, "page": page}  # fmt: skip
        return self._call(client, context, "/search_by_date", params)

    def _call(
        self, client: httpx.Client, context: str, path: str, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The one choke point: an Algolia request, its failures turned into ours and retried if transient."""

        def once() -> dict[str, Any]:
            try:
                response = client.get(path, params=params)
            except httpx.TimeoutException:
                raise no_answer(context, self.settings.timeout_seconds) from None
            except httpx.HTTPError as exc:
                raise cannot_connect(context, exc) from None
            status = response.status_code
            if status == 429:
                reset = retry_after(response.headers, self.clock())
                raise RateLimited(
                    f"{context}: rate limited (429), Algolia allows 10,000 requests an hour per IP; "
                    f"waiting until {until(reset)}",
                    reset,
                )
            if status >= 500:
                raise SourceUnavailable(
                    f"{context}: server error ({status}); Hacker News search is having trouble, the next run retries"
                )
            if status >= 400:
                raise CollectorError(
                    f"{context}: request refused ({status}): {_message(response)}; check the watch query "
                    "and api_base_url"
                )
            try:
                body = response.json()
            except ValueError:
                raise MalformedPayload(
                    f"{context}: the answer is not JSON ({len(response.content)} bytes)"
                ) from None
            if not isinstance(body, dict) or not isinstance(body.get("hits"), list):
                raise MalformedPayload(f"{context}: the answer is JSON but has no list of 'hits'")
            return body

        return retrying(
            once,
            attempts=self.settings.retry_attempts,
            backoff=self.settings.retry_backoff_seconds,
            sleep=self.sleep,
        )
