"""The records storage hands out, free of SQLite: what every backend returns.

They live apart from the SQLite code so that ``storage.interfaces`` (and a second
backend written against it) can name them without importing ``sqlite3``. Each
module that fills them re-exports its own (``storage.alerts.AlertRow``), so
callers import them from where they always did.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from listener.query import Node

__all__ = [
    "ALERT_COLUMNS",
    "NO_FILTERS",
    "AlertRow",
    "AuthorHistory",
    "AuthorRow",
    "BucketChanges",
    "ClusterHit",
    "DigestRow",
    "DigestWatchDay",
    "Hit",
    "Member",
    "NetworkRuns",
    "OwnPost",
    "Pending",
    "PendingDelivery",
    "RunRow",
    "SearchFilters",
    "Spread",
    "StatusRow",
    "StoryFilters",
    "StoryMention",
    "StoryRow",
    "TriageState",
    "WatchRow",
    "WindowMention",
]


# -- mentions ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchFilters:
    since: datetime | None = None
    until: datetime | None = None
    network: str | None = None
    lang: str | None = None
    watch: str | None = None


@dataclass(frozen=True, slots=True)
class BucketChanges:
    """Watches whose 5-minute buckets changed after a change number, from which bucket on.

    ``latest``: the newest change number (ask after it next time). ``complete``: false
    when some changes after the one asked about were dropped (read elsewhere, or capped):
    every kept series must then be read again. ``since``: watch name -> the start, in
    epoch seconds, of its earliest changed bucket.
    """

    latest: int
    complete: bool
    since: dict[str, int]


@dataclass(frozen=True, slots=True)
class Hit:
    id: int
    created_at: str
    network: str
    native_id: str
    author_handle: str | None
    text: str
    url: str | None
    language: str | None
    sentiment_label: str | None


@dataclass(frozen=True, slots=True)
class WindowMention:
    """What an alert explanation reads of a mention."""

    network: str
    author_handle: str | None
    text: str
    url: str | None
    language: str | None
    engagement: int
    created_at: str
    sentiment_label: str | None
    id: int = 0  # mentions.id, to find its near-duplicate cluster


# -- watches and runs ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WatchRow:
    name: str
    query: str
    mentions: int
    last_24h: int


@dataclass(frozen=True, slots=True)
class StatusRow:
    network: str
    watch: str
    last_run: str | None
    last_success: str | None
    mentions_24h: int
    last_error: str | None
    rate_limited_until: str | None


@dataclass(frozen=True, slots=True)
class RunRow:
    started_at: str
    finished_at: str
    fetched: int
    new: int
    rejected: int
    error: str | None
    error_message: str | None
    rate_limit_reset: str | None


# -- alerts and deliveries ---------------------------------------------------------


# The columns of ``AlertRow``, in its order.
ALERT_COLUMNS = (
    "id, watch, network, kind, severity, state, started_at, updated_at, resolved_at, "
    "acknowledged_at, observed, expected, summary, explanation"
)


@dataclass(frozen=True, slots=True)
class AlertRow:
    id: int
    watch: str
    network: str
    kind: str
    severity: str
    state: str
    started_at: str
    updated_at: str
    resolved_at: str | None
    acknowledged_at: str | None
    observed: float | None
    expected: float | None
    summary: str
    explanation: dict[str, Any]

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> AlertRow:
        """From the columns in declaration order, the explanation last as JSON text."""
        values = list(row)
        values[-1] = json.loads(values[-1])
        return cls(*values)


@dataclass(frozen=True, slots=True)
class PendingDelivery:
    id: int
    channel: str
    event: str
    attempts: int
    alert: AlertRow


# -- the digest ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DigestWatchDay:
    """One watch's counts on one network over one day of the digest's range."""

    watch: str
    day: int  # index into the day ranges passed in
    network: str
    volume: int
    negative: int
    unscored: int


@dataclass(frozen=True, slots=True)
class NetworkRuns:
    """What the collectors of one network did during the day."""

    network: str
    runs: int
    failed: int
    new: int
    last_success: str | None
    last_error: str | None  # the slug stored in runs.error
    last_error_message: str | None
    last_run_ever: str | None


@dataclass(frozen=True, slots=True)
class DigestRow:
    day: str
    recipients: str
    sent_at: str
    message_id: str
    subject: str


# -- authors and own accounts ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthorRow:
    network: str
    author_key: str  # the network's author id, else the handle
    handle: str | None
    names: tuple[str, ...]  # display names seen, oldest first
    first_seen: str
    last_seen: str
    mentions: int
    negative: int
    neutral: int
    positive: int
    unscored: int
    replies_received: int  # own-account posts answering one of this author's mentions

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> AuthorRow:
        """From the columns in declaration order, the display names as JSON text."""
        values = list(row)
        values[3] = tuple(json.loads(str(values[3])))
        return cls(*values)


@dataclass(frozen=True, slots=True)
class OwnPost:
    network: str
    native_id: str
    created_at: datetime
    text: str
    language: str | None
    author_handle: str | None
    author_name: str | None
    url: str | None
    raw: dict[str, Any]


# -- near-duplicate clusters ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pending:
    """A mention not clustered yet."""

    id: int
    network: str
    text: str
    url: str | None
    created_at: str


@dataclass(frozen=True, slots=True)
class Member:
    """A clustered mention that may be a near-duplicate of a new one."""

    id: int
    cluster_id: int
    created_at: str
    text: str
    link: str | None


@dataclass(frozen=True, slots=True)
class Spread:
    """How far a cluster spread: its size and the networks its copies are on."""

    cluster_id: int
    size: int
    networks: tuple[tuple[str, int], ...]  # (network, mentions), most first

    def others(self, network: str) -> tuple[str, ...]:
        """Networks with copies besides the one shown (``network`` itself if it has more than one)."""
        return tuple(n for n, count in self.networks if n != network or count > 1)


@dataclass(frozen=True, slots=True)
class ClusterHit:
    """One story among the search hits: its earliest matching mention and how far it spread."""

    id: int
    created_at: str
    network: str
    native_id: str
    author_handle: str | None
    text: str
    url: str | None
    language: str | None
    sentiment_label: str | None
    cluster_id: int | None  # None: not clustered yet
    copies: int  # matching mentions in the cluster, this one included
    networks: str  # comma-separated networks of those
    latest: str  # created_at of the newest of them


# -- triage and stories (#21) -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TriageState:
    """What the user decided about one mention: handled, ignored or escalated, with a note."""

    mention_id: int
    state: str
    note: str | None
    updated_at: str  # UTC ISO-8601


@dataclass(frozen=True, slots=True)
class StoryFilters:
    """The inbox's facets: each narrows the candidate mentions of a story list."""

    watch: str | None = None
    network: str | None = None
    language: str | None = None  # as search's lang: ``pt`` also matches ``pt-BR``
    sentiment: str | None = None  # negative, neutral or positive
    query: Node | None = None


NO_FILTERS = StoryFilters()  # every story


@dataclass(frozen=True, slots=True)
class StoryMention:
    """The mention that stands for a story (its most engaged member)."""

    id: int
    network: str
    native_id: str
    url: str | None
    author_id: str | None
    author_handle: str | None
    author_name: str | None
    text: str
    created_at: str  # UTC ISO-8601
    sentiment_label: str | None
    engagement: int  # likes + reposts + replies + quotes
    view_count: int | None


@dataclass(frozen=True, slots=True)
class StoryRow:
    """One story of a range: a near-duplicate cluster (or a lone mention) and what it adds up to.

    Counts are over the story's members created in the range.
    """

    key: int  # the cluster id, or the mention id of an unclustered mention
    lead: StoryMention
    members: int
    networks: tuple[tuple[str, int], ...]  # (network, members), most first
    negative: int
    engagement: int
    reach: int  # sum of the members' view counts where known, else 0
    first_at: str
    last_at: str
    last_negative_at: str | None  # the latest negative member's time: how fresh the complaint is
    answered: bool  # one of our own accounts replied to a member or posted later in its conversation
    member_ids: tuple[int, ...]
    state: TriageState | None  # the latest action among the members


@dataclass(frozen=True, slots=True)
class AuthorHistory:
    """An author's negative history, to tell a troll (negative day after day) from a customer."""

    network: str
    handle: str  # as asked (the handle as stored, or the author id)
    mentions: int  # every mention kept, all time
    negative: int  # of which negative
    negative_days: int  # distinct local days with a negative mention since ``since``
    first_seen: str
    first_negative: str | None  # the earliest negative mention kept
    last_negative_url: str | None = None  # the link of the latest negative mention kept
