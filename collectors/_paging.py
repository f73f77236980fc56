"""The newest-first walk every paginated collector makes, written once.

A walk asks a network for its newest items a page at a time and goes back
until it reaches where the last finished walk stopped (the cursor), the
network has no more pages, or the run's page budget is spent. Each page is
yielded at once, but the cursor moves only at points the next run can resume
from: when the walk is done (``Walk.finished``) or when it stops early
(``Walk.paused``: the page budget, a spent rate-limit window, a low post
budget). If a run fails half way, the stored cursor is the old one: the next
run walks again and the store drops the repeats.

What differs between networks (the request, the cursor's JSON, how "reached
the last position" is judged) is a ``Walk``; two helpers cover the usual
cursor contents: ``Boundary`` (the newest time and the ids at that very time,
for APIs whose lower bound is inclusive) and ``Window`` (the ids seen within
an overlap of the newest time, for indexes that lag behind).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from listener.errors import RateLimited
from listener.model import Cursor, Mention, Page, Reject

__all__ = ["Boundary", "Matcher", "Step", "Walk", "Window", "walk"]


@dataclass(frozen=True, slots=True)
class Step:
    """One page as a walk got it: normalised, and what it says about going on.

    ``more``: the network has a page after this one and the walk has not yet
    reached its stored position. ``last``: stop after this page even so (a budget
    runs low); the walk pauses. ``limit``: raise this after the page (a spent
    rate-limit window); the walk pauses unless it was done anyway.
    """

    mentions: Sequence[Mention]
    rejects: Sequence[Reject] = ()
    more: bool = False
    last: bool = False
    limit: RateLimited | None = None
    units: int = 0
    deleted: Sequence[str] = ()


class Walk(Protocol):
    """A network's side of a walk: it requests pages and knows what its cursor says."""

    def step(self) -> Step | None:
        """Request and normalise the next page and move past it; ``None``: stop before asking (budget spent)."""
        ...

    def finished(self) -> Cursor | None:
        """The cursor after a complete walk (``None``: leave the stored one)."""
        ...

    def paused(self) -> Cursor | None:
        """The cursor after a walk that stops early, to resume it next run."""
        ...


class Matcher(Protocol):
    """A watch's local matcher (``listener.query.Query``): networks' searches are supersets."""

    def matches(self, mention: Mention, /) -> bool: ...


def walk(
    walk: Walk, *, network: str, source: str, pages: int, matcher: Matcher | None = None
) -> Iterator[Page]:
    """At most ``pages`` pages of ``walk``, as ``Page`` records of ``source``; the cursor on resumable pages only.

    ``matcher``, when given, keeps only what the watch's query matches (after
    the walk has noted everything it saw, so that it is not asked again).
    """
    for number in range(1, pages + 1):
        step = walk.step()
        if step is None:
            return
        done = not step.more
        last = done or step.last or step.limit is not None or number == pages
        cursor = walk.finished() if done else walk.paused() if last else None
        mentions = step.mentions if matcher is None else [m for m in step.mentions if matcher.matches(m)]
        yield Page(network, source, mentions, cursor, step.rejects, deleted=step.deleted, units=step.units)
        if step.limit is not None:
            raise step.limit
        if last:
            return


@dataclass
class Boundary:
    """The position of a walk whose API's lower bound is inclusive: a time, and the ids at that time.

    ``since`` and ``ids`` are the last finished walk's newest time and the ids it
    saw at that very time (they come again and are not new). ``newest`` and
    ``newest_ids`` are the same for this walk, over what was new.
    """

    since: datetime | None = None
    ids: set[str] = field(default_factory=set)
    newest: datetime | None = None
    newest_ids: list[str] = field(default_factory=list)

    def is_new(self, moment: datetime, native_id: str) -> bool:
        if self.since is None:
            return True
        return moment > self.since or (moment == self.since and native_id not in self.ids)

    def older(self, moment: datetime) -> bool:
        """Whether ``moment`` is before the stored position: the walk got down to it."""
        return self.since is not None and moment < self.since

    def saw(self, moment: datetime, native_id: str) -> None:
        """Note a new item: it may be the newest so far."""
        if self.newest is None or moment > self.newest:
            self.newest, self.newest_ids = moment, [native_id]
        elif moment == self.newest and native_id not in self.newest_ids:
            self.newest_ids.append(native_id)

    def top(self) -> tuple[datetime | None, list[str]]:
        """Where the next walk stops: this walk's newest, else the stored position unchanged."""
        if self.newest is not None:
            return self.newest, list(self.newest_ids)
        return self.since, sorted(self.ids)


@dataclass
class Window:
    """Ids seen within ``overlap`` of the newest time: what the next walk's overlap can return again.

    For searches whose index lags behind: the next walk asks again from
    ``newest - overlap``, and skips the ids kept here.
    """

    overlap: float
    newest: float | None = None
    seen: dict[str, float] = field(default_factory=dict)

    def saw(self, times: Mapping[str, float]) -> None:
        """Note what a page held, id -> time; old ones too (they are trimmed when the cursor is written)."""
        self.newest = max([self.newest or 0, *times.values()]) or None
        self.seen.update(times)

    def kept(self, keep: int | None = None) -> dict[str, float]:
        """The ids within ``overlap`` of the newest time, at most ``keep`` of them (the newest), oldest first."""
        floor = (self.newest or 0) - self.overlap
        order = sorted((t, i) for i, t in self.seen.items() if t >= floor)
        return {i: t for t, i in order[-keep if keep else 0 :]}
