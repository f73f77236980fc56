"""Comment threads on the Graph API: new comments under recent posts, and those hidden or gone.

Shared by the Facebook Pages and Instagram collectors; kept apart from
``collectors.graph`` (the client and the newest-first edges) for size.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from collectors.graph import GraphClient, Reply, data_of, graph_time, next_of
from listener.errors import RateLimited
from listener.model import Mention, Page, Reject

__all__ = ["ThreadSpec", "walk_threads"]


@dataclass(frozen=True, slots=True)
class ThreadSpec:
    """How one network lists recent posts with their first page of comments, and reads a comment.

    ``listing`` is the edge (``/v23.0/<page>/posts``) whose items embed
    ``comments`` through a field expansion; ``flatten`` turns one page of
    comment items into a flat list (Instagram nests replies); ``comment_id``
    returns an item's id or ``None``; ``hidden`` says whether the network
    reports the item hidden; ``normalize`` makes a ``Mention`` of a comment
    under the given parent post and raises on a broken item.
    """

    listing: str
    params: Mapping[str, Any]
    time_field: str
    normalize: Callable[[dict[str, Any], dict[str, Any]], Mention]
    comment_id: Callable[[Any], str | None]
    hidden: Callable[[dict[str, Any]], bool]
    flatten: Callable[[list[Any]], list[Any]] = lambda items: items
    comments_params: Mapping[str, Any] = field(default_factory=dict)


def _id_order(native_id: str) -> tuple[int, str]:
    return len(native_id), native_id  # Graph ids are numeric strings that grow with time


@dataclass
class _Thread:
    """What the cursor remembers of one recent post: its time, its comments' ids, a walk to resume."""

    at: int
    ids: list[str]
    next: str | None = None

    def dump(self) -> dict[str, Any]:
        return {"at": self.at, "ids": self.ids, **({"next": self.next} if self.next else {})}


def walk_threads(
    client: GraphClient,
    context: str,
    *,
    network: str,
    watch: str,
    cursor: str | None,
    spec: ThreadSpec,
) -> Iterator[Page]:
    """New comments (and replies) under the posts of the last ``comment_days`` days.

    Graph has no "comments since" for a Page or an account, and new comments
    keep arriving on older posts, so every run re-reads the comments of each
    recent post and yields those whose id the cursor does not know. The cursor
    is ``{"posts": {post_id: {"at": epoch, "ids": [...], "next": path?}}}``.
    A comment the network reports hidden is yielded (if new) and listed in
    ``Page.deleted``; a known id missing from a complete re-read is listed
    there too, and so are a recent post that vanished from the listing and its
    comments. The bound: per post only the newest ``tracked_comments`` ids are
    kept (older ones come again as repeats, their deletion goes unnoticed),
    and posts older than ``comment_days`` are dropped from the cursor (their
    new comments are no longer collected). A post whose walk stops at the
    page budget keeps ``next`` and resumes there; deletions are only judged
    on walks that started at the first page.
    """
    yield from _Threads(client, context, network, watch, spec, cursor).run()


class _Threads:
    """The state of one ``walk_threads``: the cursor's threads, the posts listed, the requests spent."""

    def __init__(
        self,
        client: GraphClient,
        context: str,
        network: str,
        watch: str,
        spec: ThreadSpec,
        cursor: str | None,
    ) -> None:
        self.client, self.context, self.network, self.watch, self.spec = client, context, network, watch, spec
        self.cutoff = client.now() - timedelta(days=client.settings.comment_days)
        state = json.loads(cursor) if cursor else {}
        self.threads = {
            pid: _Thread(t["at"], list(t.get("ids") or ()), t.get("next"))
            for pid, t in (state.get("posts") or {}).items()
            if t.get("at", 0) >= int(self.cutoff.timestamp())
        }
        self.listed: set[str] = set()
        self.spent = 0

    def snapshot(self) -> str:
        return json.dumps({"posts": {pid: t.dump() for pid, t in self.threads.items()}})

    def page(self, rejects: Sequence[Reject] = (), deleted: Sequence[str] = ()) -> Page:
        return Page(self.network, self.watch, (), self.snapshot(), rejects, deleted=deleted)

    def run(self) -> Iterator[Page]:
        current: str | None = self.spec.listing
        query: dict[str, Any] | None = {**self.spec.params, "since": int(self.cutoff.timestamp())}
        while current is not None:
            reply = self.client.get(self.context, current, query)
            self.spent += 1
            older = yield from self._posts(reply)
            if older is None:
                return  # the page budget ran out inside a post's comments
            current, query = (None if older else next_of(reply.body)), None
            limit = self.client.saturated(self.context, reply.usage) if current is not None else None
            if current is not None and (
                limit is not None or self.spent >= self.client.settings.comment_pages_per_run
            ):
                yield self.page()  # stopped before the listing's next page: a spent quota or the page budget
                if limit is not None:
                    raise limit
                return
        vanished = [pid for pid in self.threads if pid not in self.listed]
        if vanished:
            yield self.page(
                deleted=[native for pid in vanished for native in (pid, *self.threads.pop(pid).ids)]
            )

    def _posts(self, reply: Reply) -> Generator[Page, None, bool | None]:
        """The comment pages of a listing page's recent posts; whether it reached older posts (None: stop)."""
        stray: list[Reject] = []
        older = False
        for post in data_of(reply.body, self.context):
            try:
                pid, at = str(post["id"]), graph_time(post.get(self.spec.time_field))
            except (KeyError, TypeError, ValueError) as exc:
                stray.append(Reject(self.network, f"a listed post is broken: {exc}", post))
                continue
            if at < self.cutoff:
                older = True
                continue
            if (yield from self._post(post, pid, at, reply, stray)):
                return None
            stray = []
        if stray:
            yield self.page(stray)
        return older

    def _post(
        self, post: dict[str, Any], pid: str, at: datetime, reply: Reply, stray: Sequence[Reject]
    ) -> Generator[Page, None, bool]:
        """One post's comment pages; whether the page budget is spent."""
        self.listed.add(pid)
        thread = self.threads.setdefault(pid, _Thread(int(at.timestamp()), []))
        walk = _walk_one(self.client, self.context, self.network, self.watch, self.spec, post, thread, reply,
                         self.spent, stray, self.snapshot)  # fmt: skip
        for page, cost, limit in walk:
            self.spent = cost
            yield page
            if limit is not None:
                raise limit
            if self.spent >= self.client.settings.comment_pages_per_run:
                return True
        return False


def _walk_one(
    client: GraphClient,
    context: str,
    network: str,
    watch: str,
    spec: ThreadSpec,
    post: dict[str, Any],
    thread: _Thread,
    listing: Reply,
    spent: int,
    stray: Sequence[Reject],
    snapshot: Callable[[], str],
) -> Iterator[tuple[Page, int, RateLimited | None]]:
    """The comment pages of one post: (page, requests spent so far, the rate limit to raise after it)."""
    known = set(thread.ids)
    from_start = thread.next is None
    seen: list[str] = []
    rejects = list(stray)
    if from_start:
        embedded = post.get("comments") if isinstance(post.get("comments"), dict) else {}
        body: dict[str, Any] = embedded or {"data": []}
        usage = listing.usage
    else:
        reply = client.get(context, thread.next or "", None)
        spent += 1
        body, usage = reply.body, reply.usage
    while True:
        items = spec.flatten(data_of(body, context))
        mentions: list[Mention] = []
        hidden: list[str] = []
        for item in items:
            native_id = spec.comment_id(item)
            if native_id is not None:
                seen.append(native_id)
            try:
                mention = spec.normalize(item, post)
            except (KeyError, TypeError, ValueError) as exc:
                rejects.append(Reject(network, str(exc), item, native_id))
                continue
            if mention.native_id not in known:
                mentions.append(mention)
            if isinstance(item, dict) and spec.hidden(item):
                hidden.append(mention.native_id)
        next_path = next_of(body)
        limit = client.saturated(context, usage)
        budget_out = spent >= client.settings.comment_pages_per_run
        deleted = list(hidden)
        if next_path is None:
            if from_start:
                deleted += sorted(known - set(seen), key=_id_order)
                thread.ids = _trim(seen, client.settings.tracked_comments)
            else:
                thread.ids = _trim([*thread.ids, *seen], client.settings.tracked_comments)
            thread.next = None
            yield Page(network, watch, mentions, snapshot(), rejects, deleted=deleted), spent, limit
            return
        if limit is not None or budget_out:
            thread.ids = _trim([*thread.ids, *seen], client.settings.tracked_comments)
            thread.next = next_path
            yield Page(network, watch, mentions, snapshot(), rejects, deleted=deleted), spent, limit
            return
        yield Page(network, watch, mentions, None, rejects, deleted=deleted), spent, None
        rejects = []
        reply = client.get(context, next_path, None)
        spent += 1
        body, usage = reply.body, reply.usage


def _trim(ids: Sequence[str], keep: int) -> list[str]:
    unique = sorted(set(ids), key=_id_order)
    return unique[-keep:] if keep else []
