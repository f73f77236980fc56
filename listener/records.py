"""The records that cross package boundaries: defined once, imported everywhere.

This module imports nothing of ours, so collectors and storage can both use it
without depending on each other.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "SEVERITY_RANK",
    "Mention",
    "Page",
    "Reject",
    "SaveResult",
    "clock_from_env",
    "use_clock",
    "utc_iso",
    "utcnow",
]


# Alert severities, weakest first: comparisons go through this one table.
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


_clock: Callable[[], datetime] | None = None


def utcnow() -> datetime:
    """The time everything in listener reads: the wall clock, unless the demo set its own."""
    return _clock() if _clock is not None else datetime.now(UTC)


def use_clock(clock: Callable[[], datetime] | None) -> None:
    """Replace the clock for this process (``None``: the wall clock again)."""
    global _clock
    _clock = clock


def clock_from_env(value: str) -> Callable[[], datetime]:
    """A story clock from ``LISTENER_CLOCK="<start ISO>@<epoch seconds>x<speed>"``.

    It reads ``start`` until the wall clock reaches ``epoch``, then runs ``speed``
    times faster. The demo and the README's test stop it at a story time (speed 0),
    so every process they start (the daemon, the scoring child) reads the same time
    from the same string; the demo's daemon is then driven step by step. Not meant
    for anything else.
    """
    try:
        start_text, rest = value.split("@")
        epoch_text, speed_text = rest.split("x")
        start, epoch, speed = datetime.fromisoformat(start_text), float(epoch_text), float(speed_text)
        start = start.astimezone(UTC) if start.tzinfo else start
    except ValueError:
        raise ValueError(
            f"LISTENER_CLOCK={value!r}: expected '<start ISO>@<epoch seconds>x<speed>'"
        ) from None
    if start.tzinfo is None:
        raise ValueError(f"LISTENER_CLOCK={value!r}: the start needs a time zone")

    def clock() -> datetime:
        return start + timedelta(seconds=max(0.0, time.time() - epoch) * speed)

    return clock


def utc_iso(moment: datetime) -> str:
    """ISO-8601 in UTC with a ``Z``-free ``+00:00`` offset, seconds precision.

    One fixed format so that string comparison in SQL orders correctly.
    """
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: give a time zone")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class Mention:
    """One post, comment or article that a collector found, normalised.

    ``native_id`` is the network's own id; together with ``network`` it is unique.
    ``raw`` keeps the payload as received so normalising can be rerun later.
    """

    network: str
    native_id: str
    text: str
    created_at: datetime
    url: str | None = None
    author_id: str | None = None
    author_handle: str | None = None
    author_name: str | None = None
    language: str | None = None
    in_reply_to_id: str | None = None
    conversation_id: str | None = None
    like_count: int | None = None
    repost_count: int | None = None
    reply_count: int | None = None
    quote_count: int | None = None
    view_count: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.network or not self.native_id:
            raise ValueError("a mention needs a network and a native id")
        if self.created_at.tzinfo is None:
            raise ValueError(f"{self.network}/{self.native_id}: created_at has no time zone")


@dataclass(frozen=True, slots=True)
class Reject:
    """A payload item that could not be normalised, kept raw with the reason."""

    network: str
    reason: str
    raw: Any
    native_id: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """What one fetch produced: stored together with its cursor in one transaction.

    ``cursor`` is the position to resume from after this page; ``None`` leaves the
    stored cursor unchanged. ``matches`` maps a mention's native id to the names of
    the watches it matched. ``deleted`` names native ids the network now reports
    as removed or hidden: they are marked, never dropped (a deleted post is still
    evidence). ``units`` is what the page cost against a quota that is not counted
    in posts (YouTube's daily units, Instagram's hashtag queries).
    """

    network: str
    watch: str
    mentions: Sequence[Mention] = ()
    cursor: str | None = None
    rejects: Sequence[Reject] = ()
    matches: Mapping[str, Sequence[str]] = field(default_factory=dict)
    deleted: Sequence[str] = ()
    units: int = 0

    def __post_init__(self) -> None:
        stray = next((m for m in self.mentions if m.network != self.network), None)
        if stray is not None:
            raise ValueError(f"a {self.network} page holds a {stray.network} mention ({stray.native_id})")


@dataclass(frozen=True, slots=True)
class SaveResult:
    new: int = 0
    edited: int = 0
    duplicates: int = 0
    rejected: int = 0


@dataclass(frozen=True, slots=True)
class AlertChange:
    """A detector's news about one incident, as storage records it.

    ``state`` is ``opened`` for a new incident, ``updated`` while it grows or
    shrinks, ``resolved`` when the series is back to normal. An incident is
    identified by (watch, network, kind, started_at); ``network`` is ``""`` for
    all networks together.
    """

    watch: str
    network: str
    kind: str
    state: str
    severity: str
    started_at: datetime
    at: datetime
    observed: float
    expected: float
    summary: str
    explanation: Mapping[str, Any] = field(default_factory=dict)
