"""What storage promises the rest of listener, one Protocol per concern, free of SQLite.

``Store`` (SQLite) implements them all; a second backend (PostgreSQL, for several
collector hosts) implements the same ones and passes the same tests. They name
only plain records (``storage.rows``, ``listener.records``): nothing here imports
``sqlite3``, so a backend can be written against this module alone.

Callers that need one concern can ask for it by type (a detector's loader takes
a ``MentionStore``), which keeps what they may touch visible in the signature.
Every method raises ``listener.errors.StorageError`` when the database fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol, Self

from listener.model import Page, SaveResult
from listener.query import Node
from listener.records import AlertChange
from storage.rows import (
    NO_FILTERS,
    AlertRow,
    AuthorHistory,
    AuthorRow,
    BucketChanges,
    ClusterHit,
    DigestRow,
    DigestWatchDay,
    Hit,
    Member,
    NetworkRuns,
    OwnPost,
    Pending,
    PendingDelivery,
    RunRow,
    SearchFilters,
    Spread,
    StatusRow,
    StoryFilters,
    StoryRow,
    TriageState,
    WatchRow,
    WindowMention,
)

__all__ = [
    "AccountReads",
    "AlertStore",
    "AuthorStore",
    "ClusterStore",
    "DigestReads",
    "LeaseStore",
    "ListenerStore",
    "MentionStore",
    "StoryReads",
    "TriageStore",
    "WatchRunStore",
]


class MentionStore(Protocol):
    """Mentions: pages in, sentiment, search, the windows alerts explain, erasure."""

    def save_page(self, page: Page, now: datetime | None = None) -> SaveResult:
        """Mentions, rejects, watch matches and cursor of one page, all or nothing; edits keep versions."""
        ...

    def forget_author(self, network: str, author: str) -> int:
        """Delete an author's mentions (handle compared as ``author:`` does, or author id); how many."""
        ...

    def mark_deleted(self, network: str, native_ids: Sequence[str], now: datetime | None = None) -> int: ...

    def unscored(self, limit: int = 500) -> list[tuple[int, str, str | None]]: ...

    def scoring_backlog(self) -> tuple[int, datetime | None]: ...

    def scored_by_other(
        self, version: str, after_id: int = 0, limit: int = 500
    ) -> list[tuple[int, str, str | None]]: ...

    def count_scored_by_other(self, version: str) -> int: ...

    def set_sentiment(self, scores: Sequence[tuple[int, str, float, str, str | None]]) -> None: ...

    def versions(self, network: str, native_id: str) -> list[str]: ...

    def count_mentions(self) -> int: ...

    def search(self, query: Node | None, filters: SearchFilters, limit: int = 50) -> list[Hit]: ...

    def bucket_counts(
        self, watch: str, start: datetime, end: datetime, bucket_seconds: int, network: str = ""
    ) -> list[tuple[int, int, int, int]]:
        """(bucket start in epoch seconds, volume, negative, unscored); buckets multiples of 300 s."""
        ...

    def bucket_changes(self, after: int) -> BucketChanges:
        """Watches whose buckets changed after change number ``after``, from which bucket on."""
        ...

    def forget_bucket_changes(self, upto: int) -> None:
        """Drop the changes up to ``upto`` (the one reader that keeps series has read them)."""
        ...

    def window(
        self, watch: str, start: datetime, end: datetime, network: str = "", limit: int = 5000
    ) -> list[WindowMention]: ...

    def mention_times(self, network: str, watch: str, limit: int = 200) -> list[datetime]: ...

    def newest_mentions(self, sources: Sequence[tuple[str, str]]) -> dict[tuple[str, str], datetime]: ...


class WatchRunStore(Protocol):
    """Watches, cursors, collector runs and what they spent, the daemon's jobs, status."""

    def sync_watches(self, watches: Sequence[tuple[str, str]], now: datetime | None = None) -> None: ...

    def watches(self, now: datetime | None = None) -> list[WatchRow]: ...

    def networks_seen(self) -> list[str]:
        """Networks with a stored mention or a run."""
        ...

    def prune_watches(self, keep: Sequence[str]) -> list[tuple[str, int]]:
        """Delete the watches not in ``keep`` and what they own, never mentions; (name, links removed)."""
        ...

    def get_cursor(self, network: str, watch: str) -> str | None: ...

    def start_run(self, network: str, watch: str, now: datetime | None = None) -> int: ...

    def finish_run(
        self,
        run_id: int,
        result: SaveResult,
        fetched: int,
        *,
        error: str | None = None,
        error_message: str | None = None,
        rate_limit_reset: datetime | None = None,
        units: int = 0,
        now: datetime | None = None,
    ) -> None: ...

    def recent_runs(self, network: str, watch: str, limit: int = 10) -> list[RunRow]: ...

    def latest_runs(
        self, sources: Sequence[tuple[str, str]], limit: int = 10
    ) -> dict[tuple[str, str], list[RunRow]]:
        """``recent_runs`` of many sources in one read (at most 10 each)."""
        ...

    def rate_limited_until(self, network: str, now: datetime | None = None) -> datetime | None: ...

    def rate_limits(self, now: datetime | None = None) -> dict[str, datetime]: ...

    def fetched_since(self, network: str, since: datetime) -> int: ...

    def units_since(self, network: str, since: datetime) -> int: ...

    def sources_since(self, network: str, since: datetime) -> set[str]: ...

    def feed_sources(self, networks: Sequence[str], since: datetime) -> list[tuple[str, str]]: ...

    def set_jobs(self, jobs: Sequence[tuple[str, datetime | None]], now: datetime | None = None) -> None: ...

    def job_ran(self, job: str, outcome: str, now: datetime | None = None) -> None: ...

    def jobs(self) -> list[tuple[str, str | None, str | None, str | None]]: ...

    def status(
        self, now: datetime | None = None, expected: Sequence[tuple[str, str]] = ()
    ) -> list[StatusRow]: ...


class AlertStore(Protocol):
    """Incidents and their delivery outbox: a message is queued in the same transaction as its alert."""

    def record(
        self, change: AlertChange, channels: Sequence[str], due_at: datetime | None = None
    ) -> tuple[AlertRow, bool]:
        """Store an incident change; queue one delivery per channel if it is news. (alert, news?)."""
        ...

    def pending(self, now: datetime | None = None, limit: int = 100) -> list[PendingDelivery]: ...

    def attempted(
        self, delivery_id: int, error: str | None, retry_at: datetime | None, now: datetime | None = None
    ) -> None: ...

    def acknowledge(self, alert_id: int, now: datetime | None = None) -> bool: ...

    # Last: after it, ``list`` in this class body would name the method, not the type.
    def list(
        self,
        since: datetime | None = None,
        state: str | None = None,
        limit: int = 50,
        unresolved: bool = False,
    ) -> list[AlertRow]: ...


class DigestReads(Protocol):
    """The reads behind the daily digest, each bounded by a day; and the record of digests sent."""

    def watch_days(
        self, buckets: Sequence[tuple[int, int]], watches: Sequence[str] = ()
    ) -> list[DigestWatchDay]: ...

    def first_buckets(self) -> dict[str, int]: ...

    def daily_totals(
        self, ranges: Sequence[tuple[datetime, datetime]], networks: Sequence[str] = ()
    ) -> list[tuple[int, int, int, dict[str, int]]]: ...

    def repeat_authors(
        self, start: datetime, end: datetime, at_least: int = 3, limit: int = 5
    ) -> list[AuthorRow]: ...

    def alerts_during(self, start: datetime, end: datetime) -> list[AlertRow]: ...

    def network_runs(
        self, start: datetime, end: datetime, sources: Sequence[tuple[str, str]] = ()
    ) -> list[NetworkRuns]: ...

    def sent(self, day: str, recipients: str) -> DigestRow | None: ...

    def record_sent(
        self, day: str, recipients: str, message_id: str, subject: str, now: datetime | None = None
    ) -> None: ...


class AuthorStore(Protocol):
    """Authors per network (kept up to date as mentions come and go), and our own accounts."""

    def set_own_accounts(self, pairs: Iterable[tuple[str, str]]) -> None: ...

    def own_accounts(self) -> list[tuple[str, str]]: ...

    def get(self, network: str, author_key: str) -> AuthorRow | None: ...

    def all(self) -> list[AuthorRow]: ...

    def top(
        self,
        *,
        negative: bool = False,
        network: str | None = None,
        at_least: int = 1,
        since: str | None = None,
        limit: int = 50,
    ) -> list[AuthorRow]: ...


class ClusterStore(Protocol):
    """Near-duplicate clusters: pending mentions, band keys and links, spread, collapsed search."""

    def pending(self, limit: int = 1000) -> list[Pending]: ...

    def count_pending(self) -> int: ...

    def candidates(
        self, keys: Iterable[int], links: Iterable[str], start: str, end: str
    ) -> tuple[list[tuple[int, int]], list[tuple[str, int]], dict[int, Member]]: ...

    def save(
        self,
        assignments: Sequence[tuple[int, int, str | None]],
        bands: Sequence[tuple[int, int]],
        merges: Sequence[tuple[int, int]] = (),
    ) -> None: ...

    def prune(self, before: str) -> int: ...

    def of(self, mention_ids: Iterable[int]) -> dict[int, int]: ...

    def spread(self, cluster_ids: Iterable[int]) -> dict[int, Spread]: ...

    def spread_of(self, mention_ids: Iterable[int]) -> dict[int, Spread]: ...

    def search(self, query: Node | None, filters: SearchFilters, limit: int = 50) -> list[ClusterHit]: ...

    def members(self, cluster_id: int) -> list[int]: ...


class AccountReads(Protocol):
    """The own-account guard's reads: an account's posts and the replies they drew."""

    def posts(self, network: str, key: str, since: datetime, until: datetime) -> list[OwnPost]: ...

    def replies(self, network: str, native_ids: Sequence[str]) -> dict[str, tuple[int, int]]: ...


class TriageStore(Protocol):
    """What the user decided about mentions (handled, ignored, escalated), and the history of it."""

    def set(
        self,
        mention_ids: Sequence[int],
        state: str | None,
        note: str | None = None,
        now: datetime | None = None,
    ) -> int:
        """Give the mentions ``state`` (None reopens them); every action is logged; how many exist."""
        ...

    def states(self, mention_ids: Iterable[int]) -> dict[int, TriageState]: ...

    def log(self, mention_ids: Iterable[int]) -> list[tuple[int, str, str | None, str]]: ...


class StoryReads(Protocol):
    """A range's stories (near-duplicate clusters) and a few authors' negative history, bounded reads."""

    def stories(
        self,
        start: datetime,
        end: datetime,
        own: Sequence[tuple[str, str]],
        filters: StoryFilters = NO_FILTERS,
        limit: int = 50,
        include_done: bool = False,
    ) -> list[StoryRow]: ...

    def triaged(
        self, start: datetime, end: datetime, own: Sequence[tuple[str, str]], limit: int = 50
    ) -> list[StoryRow]: ...

    def author_history(
        self, keys: Sequence[tuple[str, str]], since: datetime, zone: str
    ) -> dict[tuple[str, str], AuthorHistory]: ...


class LeaseStore(Protocol):
    """Jobs that one daemon at a time runs when several share one store; times on the database's clock.

    A job is a name (``collect:<network>:<watch>``, ``cycle``, ``digest``); a holder is one
    daemon's id. A lease lasts ``ttl`` unless renewed, so a dead daemon's jobs go to the others.
    """

    def take(self, job: str, holder: str, ttl: timedelta, every: timedelta = timedelta(0)) -> bool:
        """Hold ``job`` if nobody does (or their lease expired) and it is due: ``holder`` ran it
        last, or nobody started it within ``every``."""
        ...

    def renew(self, job: str, holder: str, ttl: timedelta) -> bool:
        """Hold it ``ttl`` longer; False if another daemon took it meanwhile (stop working on it)."""
        ...

    def release(self, job: str, holder: str) -> None: ...


class ListenerStore(MentionStore, WatchRunStore, Protocol):
    """A whole backend: mentions and runs on itself, the other concerns as attributes.

    The shape of ``Store``, so code written against this runs on any backend.
    """

    @property
    def alerts(self) -> AlertStore: ...

    @property
    def digest(self) -> DigestReads: ...

    @property
    def authors(self) -> AuthorStore: ...

    @property
    def clusters(self) -> ClusterStore: ...

    @property
    def accounts(self) -> AccountReads: ...

    @property
    def triage(self) -> TriageStore: ...

    @property
    def stories(self) -> StoryReads: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...
