"""The records every layer shares: what is collected, from where, and how far.

Collectors produce them, the runner links and stores them, storage reads them
back. This module imports nothing of ours (stdlib only), so any layer can use
it without depending on another; ``listener.records`` and ``collectors.base``
re-export these names for code written before it existed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeAlias

__all__ = [
    "Clock",
    "Cursor",
    "Feed",
    "Mention",
    "Page",
    "QueryTree",
    "Reject",
    "SaveResult",
    "Watch",
]

# A position to resume a walk from, opaque to everyone but the collector that wrote it (JSON by convention).
Cursor: TypeAlias = str

# A parsed ``listener.query.Node``. Named here, not imported: that would make this module
# depend on the query language; the collectors that read the tree import ``listener.query``.
QueryTree: TypeAlias = Any


class Clock(Protocol):
    """The time, as whoever runs the code reads it (the wall clock, the demo's story, a test's)."""

    def __call__(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class Watch:
    """A named query, as the collectors see it: the text as written and its parsed tree."""

    name: str
    query: str
    root: QueryTree


@dataclass(frozen=True, slots=True)
class Feed:
    """A source that is not a watch's search: account mentions, subreddit streams.

    Its pages are collected under ``name`` (cursor and ``runs.watch``).
    ``keep_all`` is true where everything the feed yields is relevant (mentions
    of the user's own account); otherwise the runner keeps only what some
    watch matches locally, since a subreddit stream is mostly noise.
    """

    name: str
    keep_all: bool


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
    cursor: Cursor | None = None
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
    """What storing one page did: new mentions, edited ones, repeats, rejects."""

    new: int = 0
    edited: int = 0
    duplicates: int = 0
    rejected: int = 0
