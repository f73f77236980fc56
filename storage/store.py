"""The one door to the database: every read and write of listener goes through ``Store``.

The rest of the code never writes SQL; it calls these typed methods, so that
another backend (PostgreSQL, for several collector hosts) can sit behind the
same interface later.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from listener.errors import StorageError
from listener.query import Node
from listener.records import Mention, Page, SaveResult, utc_iso, utcnow
from storage.accounts import AccountQueries
from storage.alerts import AlertTable
from storage.authors import AuthorTable
from storage.clusters import ClusterTable
from storage.connection import connect
from storage.digest import DigestQueries
from storage.failures import describe, guarded, storage_error
from storage.migrations import migrate
from storage.search import SearchFilters, compile_search

__all__ = ["Hit", "RunRow", "StatusRow", "Store", "WatchRow", "WindowMention"]

BASE_BUCKET = 300  # seconds: the granularity of watch_buckets
_CHUNK = 500  # well under SQLite's limit on bound parameters
_METRICS = ("like_count", "repost_count", "reply_count", "quote_count", "view_count")
_COLUMNS = (
    "network", "native_id", "url", "author_id", "author_handle", "author_name", "text",
    "language", "created_at", "collected_at", "in_reply_to_id", "conversation_id",
    *_METRICS, "raw",
)  # fmt: skip
_INSERT = f"INSERT INTO mentions ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"


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


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _row(m: Mention, collected_at: str) -> tuple[Any, ...]:
    return (
        m.network, m.native_id, m.url, m.author_id, m.author_handle, m.author_name, m.text,
        m.language, utc_iso(m.created_at), collected_at, m.in_reply_to_id, m.conversation_id,
        m.like_count, m.repost_count, m.reply_count, m.quote_count, m.view_count,
        _dumps(dict(m.raw)),
    )  # fmt: skip


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


@guarded
class Store:
    """A listener database: a real SQLite file in WAL mode, migrated on open."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self.db = sqlite_utils.Database(conn)
        self.alerts = AlertTable(conn, self._write)
        self.digest = DigestQueries(conn, self._write)
        self.authors = AuthorTable(conn, self._write)
        self.clusters = ClusterTable(conn, self._write)
        self.accounts = AccountQueries(conn)

    @classmethod
    def open(
        cls, path: str | Path, *, create: bool = True, busy_timeout: float = 5.0, origin: str = ""
    ) -> Store:
        """Open (and create or upgrade) the database at ``path``; ``origin`` names where the path came from.

        A database we may not write (a read-only mount, a backup copy) is still
        opened for reading: ``status``, ``search`` and ``sql`` work, and the first
        write says why it cannot.
        """
        path = Path(path)
        where = f"database {path}{f' ({origin})' if origin else ''}"
        if not create and not path.exists():
            raise StorageError(f"{where} does not exist: run 'listener init' first")
        try:
            conn = connect(path, busy_timeout)
            migrate(conn)
        except (sqlite3.Error, OSError, RuntimeError) as exc:
            raise StorageError(f"{where}: {describe(exc, path)}") from exc
        return cls(conn, path)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it lands, or none of it."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path) from exc
        try:
            yield self.conn
        except BaseException:
            if self.conn.in_transaction:  # SQLite may have rolled back already (a full disk)
                self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    # -- watches -------------------------------------------------------------

    def sync_watches(self, watches: Sequence[tuple[str, str]], now: datetime | None = None) -> None:
        """Make the ``watches`` table hold these (name, query) pairs; old ones stay for history."""
        known = dict(self.conn.execute("SELECT name, query FROM watches").fetchall())
        if all(known.get(name) == query for name, query in watches):
            return  # every command asks; only a changed config writes (a read-only copy stays readable)
        stamp = utc_iso(now or utcnow())
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO watches (name, query, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET query = excluded.query",
                [(name, query, stamp) for name, query in watches],
            )

    def watches(self, now: datetime | None = None) -> list[WatchRow]:
        since = utc_iso((now or utcnow()) - timedelta(hours=24))
        rows = self.conn.execute(
            """
            SELECT w.name, w.query, count(m.id), count(CASE WHEN m.created_at >= ? THEN 1 END)
            FROM watches w
            LEFT JOIN mention_watches mw ON mw.watch_id = w.id
            LEFT JOIN mentions m ON m.id = mw.mention_id
            GROUP BY w.id ORDER BY w.name
            """,
            (since,),
        )
        return [WatchRow(*row) for row in rows]

    # -- mentions ------------------------------------------------------------

    def save_page(self, page: Page, now: datetime | None = None) -> SaveResult:
        """Store a page of mentions, its rejects, its watch matches and its cursor, atomically.

        A mention seen before is not stored twice: its engagement counts are
        refreshed, and if its text changed the old text goes to ``mention_versions``.
        """
        stamp = utc_iso(now or utcnow())
        unique = list({m.native_id: m for m in page.mentions}.values())
        with self._write() as conn:
            known = self._known(page.network, [m.native_id for m in unique])
            fresh = [m for m in unique if m.native_id not in known]
            conn.executemany(_INSERT, (_row(m, stamp) for m in fresh))
            edited = 0
            for m in unique:
                if m.native_id in known:
                    edited += self._refresh(known[m.native_id], m, stamp)
            conn.executemany(
                "INSERT INTO rejects (network, watch, native_id, reason, raw, received_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(r.network, page.watch, r.native_id, r.reason, _dumps(r.raw), stamp) for r in page.rejects],
            )
            if page.matches:
                self._link_watches(page)
            if page.deleted:
                self._mark_deleted(page.network, page.deleted, stamp)
            if page.cursor is not None:
                conn.execute(
                    "INSERT INTO cursors (network, watch, value, updated_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (network, watch) DO UPDATE SET value = excluded.value, "
                    "updated_at = excluded.updated_at",
                    (page.network, page.watch, page.cursor, stamp),
                )
        return SaveResult(
            new=len(fresh),
            edited=edited,
            duplicates=len(page.mentions) - len(fresh) - edited,
            rejected=len(page.rejects),
        )

    def _known(self, network: str, native_ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
        found: dict[str, tuple[Any, ...]] = {}
        for chunk in _chunks(native_ids):
            marks = ", ".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT native_id, id, text, raw, coalesce(updated_at, collected_at), "
                f"{', '.join(_METRICS)} FROM mentions WHERE network = ? AND native_id IN ({marks})",
                (network, *chunk),
            )
            found.update((row[0], row[1:]) for row in rows)
        return found

    def _refresh(self, old: tuple[Any, ...], m: Mention, stamp: str) -> int:
        """Update a known mention; return 1 if its text was edited."""
        mention_id, text, raw, seen_from, *metrics = old
        new_metrics = [getattr(m, name) for name in _METRICS]
        if m.text != text:
            self.conn.execute(
                "INSERT INTO mention_versions (mention_id, text, raw, seen_from, replaced_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (mention_id, text, raw, seen_from, stamp),
            )
            self.conn.execute(
                "UPDATE mentions SET text = ?, raw = ?, updated_at = ? WHERE id = ?",
                (m.text, _dumps(dict(m.raw)), stamp, mention_id),
            )
        if new_metrics != metrics and any(v is not None for v in new_metrics):
            assignments = ", ".join(f"{name} = coalesce(?, {name})" for name in _METRICS)
            self.conn.execute(f"UPDATE mentions SET {assignments} WHERE id = ?", (*new_metrics, mention_id))
        return int(m.text != text)

    def _link_watches(self, page: Page) -> None:
        names = sorted({name for names in page.matches.values() for name in names})
        marks = ", ".join("?" * len(names))
        watch_ids = dict(self.conn.execute(f"SELECT name, id FROM watches WHERE name IN ({marks})", names))
        missing = set(names) - set(watch_ids)
        if missing:
            raise StorageError(f"unknown watch {sorted(missing)[0]!r}: add it to the config's [[watches]]")
        ids = {native_id: row[0] for native_id, row in self._known(page.network, list(page.matches)).items()}
        self.conn.executemany(
            "INSERT OR IGNORE INTO mention_watches (mention_id, watch_id) VALUES (?, ?)",
            [
                (ids[nid], watch_ids[name])
                for nid, names in page.matches.items()
                if nid in ids
                for name in names
            ],
        )

    def forget_author(self, network: str, author: str) -> int:
        """Delete everything an author posted on a network (a privacy request); how many mentions.

        ``author`` is a handle (any case, ``@`` optional) or an author id. Their
        mentions go with every earlier version and watch link; triggers take them
        out of the search index, the bucket counts, the authors table and the
        clusters. The only deletion listener ever makes, and only when asked.
        """
        handle = author.strip().removeprefix("@").lower()
        with self._write() as conn:
            ids = [row[0] for row in conn.execute(
                "SELECT id FROM mentions WHERE network = ? AND (lower(author_handle) = ? OR author_id = ?)",
                (network, handle, author.strip()),
            )]  # fmt: skip
            for chunk in _chunks(ids):
                marks = ", ".join("?" * len(chunk))
                for table in ("mention_versions", "mention_watches"):
                    conn.execute(f"DELETE FROM {table} WHERE mention_id IN ({marks})", chunk)
                conn.execute(f"DELETE FROM mentions WHERE id IN ({marks})", chunk)
        return len(ids)

    def mark_deleted(self, network: str, native_ids: Sequence[str], now: datetime | None = None) -> int:
        """Mark mentions that disappeared upstream; they stay, as evidence."""
        with self._write():
            return self._mark_deleted(network, native_ids, utc_iso(now or utcnow()))

    def _mark_deleted(self, network: str, native_ids: Sequence[str], stamp: str) -> int:
        count = 0
        for chunk in _chunks(native_ids):
            marks = ", ".join("?" * len(chunk))
            count += self.conn.execute(
                f"UPDATE mentions SET deleted_at = ? WHERE network = ? AND deleted_at IS NULL "
                f"AND native_id IN ({marks})",
                (stamp, network, *chunk),
            ).rowcount
        return count

    def unscored(self, limit: int = 500) -> list[tuple[int, str, str | None]]:
        """(id, text, language) of mentions whose sentiment is not scored yet, oldest first."""
        rows = self.conn.execute(
            "SELECT id, text, language FROM mentions WHERE sentiment_label IS NULL ORDER BY id LIMIT ?",
            (limit,),
        )
        return list(rows)

    def scoring_backlog(self) -> tuple[int, datetime | None]:
        """How many mentions wait for sentiment, and when the oldest of them was collected."""
        count, oldest = self.conn.execute(
            "SELECT count(*), min(collected_at) FROM mentions WHERE sentiment_label IS NULL"
        ).fetchone()
        return int(count), datetime.fromisoformat(oldest) if oldest else None

    def scored_by_other(
        self, version: str, after_id: int = 0, limit: int = 500
    ) -> list[tuple[int, str, str | None]]:
        """(id, text, language) of mentions scored by another model than ``version``, by id."""
        rows = self.conn.execute(
            "SELECT id, text, language FROM mentions WHERE id > ? AND sentiment_model IS NOT ? ORDER BY id LIMIT ?",
            (after_id, version, limit),
        )
        return list(rows)

    def count_scored_by_other(self, version: str) -> int:
        row = self.conn.execute(
            "SELECT count(*) FROM mentions WHERE sentiment_model IS NOT ?", (version,)
        ).fetchone()
        return int(row[0])

    def set_sentiment(self, scores: Sequence[tuple[int, str, float, str, str | None]]) -> None:
        """Store (id, label, score, model version, language) for scored mentions.

        A language the network gave is kept; a detected one only fills a gap.
        """
        with self._write() as conn:
            conn.executemany(
                "UPDATE mentions SET sentiment_label = ?, sentiment_score = ?, sentiment_model = ?, "
                "language = coalesce(language, ?) WHERE id = ?",
                [(label, score, model, lang, mention_id) for mention_id, label, score, model, lang in scores],
            )

    def versions(self, network: str, native_id: str) -> list[str]:
        """Every text a mention has had, oldest first, the current one last."""
        rows = self.conn.execute(
            "SELECT v.text FROM mention_versions v JOIN mentions m ON m.id = v.mention_id "
            "WHERE m.network = ? AND m.native_id = ? ORDER BY v.id",
            (network, native_id),
        ).fetchall()
        current = self.conn.execute(
            "SELECT text FROM mentions WHERE network = ? AND native_id = ?", (network, native_id)
        ).fetchone()
        return [r[0] for r in rows] + ([current[0]] if current else [])

    def count_mentions(self) -> int:
        return self.db["mentions"].count

    def search(self, query: Node | None, filters: SearchFilters, limit: int = 50) -> list[Hit]:
        """Mentions matching ``query`` and ``filters``, newest first."""
        where, params = compile_search(query, filters)
        rows = self.conn.execute(
            "SELECT m.id, m.created_at, m.network, m.native_id, m.author_handle, m.text, m.url, m.language, "
            f"m.sentiment_label FROM mentions m WHERE {where} ORDER BY m.created_at DESC, m.id DESC LIMIT ?",
            (*params, limit),
        )
        return [Hit(*row) for row in rows]

    def bucket_counts(
        self, watch: str, start: datetime, end: datetime, bucket_seconds: int, network: str = ""
    ) -> list[tuple[int, int, int, int]]:
        """(bucket start as epoch seconds, volume, negative, not yet scored) per non-empty bucket.

        Read from ``watch_buckets`` (5-minute counts kept by triggers), so
        ``bucket_seconds`` must be a multiple of 300. Buckets are aligned on multiples
        of ``bucket_seconds`` since the epoch.
        """
        if bucket_seconds % BASE_BUCKET:
            raise ValueError(f"bucket of {bucket_seconds}s: use a multiple of {BASE_BUCKET // 60} minutes")
        rows = self.conn.execute(
            """
            SELECT (bucket * 300 / :size) * :size AS at, sum(volume), sum(negative), sum(unscored)
            FROM watch_buckets
            WHERE watch_id = (SELECT id FROM watches WHERE name = :watch)
              AND bucket >= :start AND bucket < :end AND (:network = '' OR network = :network)
            GROUP BY at HAVING sum(volume) > 0 ORDER BY at
            """,
            {"size": bucket_seconds, "watch": watch, "network": network,
             "start": int(start.timestamp()) // BASE_BUCKET, "end": -(-int(end.timestamp()) // BASE_BUCKET)},
        )  # fmt: skip
        return rows.fetchall()

    def window(
        self, watch: str, start: datetime, end: datetime, network: str = "", limit: int = 5000
    ) -> list[WindowMention]:
        """Mentions of a watch created in [start, end), newest first (for explanations)."""
        rows = self.conn.execute(
            """
            SELECT m.network, m.author_handle, m.text, m.url, m.language,
              coalesce(m.like_count, 0) + coalesce(m.repost_count, 0) + coalesce(m.reply_count, 0)
                + coalesce(m.quote_count, 0),
              m.created_at, m.sentiment_label, m.id
            FROM mentions m
            JOIN mention_watches mw ON mw.mention_id = m.id
            JOIN watches w ON w.id = mw.watch_id
            WHERE w.name = ? AND m.created_at >= ? AND m.created_at < ? AND (? = '' OR m.network = ?)
            ORDER BY m.created_at DESC LIMIT ?
            """,
            (watch, utc_iso(start), utc_iso(end), network, network, limit),
        )
        return [WindowMention(*row) for row in rows]

    # -- cursors and runs ----------------------------------------------------

    def get_cursor(self, network: str, watch: str) -> str | None:
        row = self.conn.execute(
            "SELECT value FROM cursors WHERE network = ? AND watch = ?", (network, watch)
        ).fetchone()
        return row[0] if row else None

    def start_run(self, network: str, watch: str, now: datetime | None = None) -> int:
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO runs (network, watch, started_at) VALUES (?, ?, ?)",
                (network, watch, utc_iso(now or utcnow())),
            )
        assert cur.lastrowid is not None
        return cur.lastrowid

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
    ) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE runs SET finished_at = ?, fetched = ?, new = ?, duplicates = ?, rejected = ?, "
                "error = ?, error_message = ?, rate_limit_reset = ?, units = ? WHERE id = ?",
                (
                    utc_iso(now or utcnow()), fetched, result.new, result.duplicates + result.edited,
                    result.rejected, error, error_message,
                    utc_iso(rate_limit_reset) if rate_limit_reset else None, units, run_id,
                ),
            )  # fmt: skip

    def recent_runs(self, network: str, watch: str, limit: int = 10) -> list[RunRow]:
        """The latest finished runs of a source, newest first."""
        rows = self.conn.execute(
            "SELECT started_at, finished_at, fetched, new, rejected, error, error_message, rate_limit_reset "
            "FROM runs WHERE network = ? AND watch = ? AND finished_at IS NOT NULL ORDER BY id DESC LIMIT ?",
            (network, watch, limit),
        )
        return [RunRow(*row) for row in rows]

    def mention_times(self, network: str, watch: str, limit: int = 200) -> list[datetime]:
        """Creation times of a source's latest mentions, newest first."""
        rows = self.conn.execute(
            "SELECT m.created_at FROM mentions m JOIN mention_watches mw ON mw.mention_id = m.id "
            "JOIN watches w ON w.id = mw.watch_id WHERE w.name = ? AND m.network = ? "
            "ORDER BY m.created_at DESC LIMIT ?",
            (watch, network, limit),
        )
        return [datetime.fromisoformat(row[0]) for row in rows]

    def rate_limited_until(self, network: str, now: datetime | None = None) -> datetime | None:
        """When a network that answered 429 may be called again, if that is still ahead."""
        row = self.conn.execute(
            "SELECT max(rate_limit_reset) FROM runs WHERE network = ? AND rate_limit_reset > ?",
            (network, utc_iso(now or utcnow())),
        ).fetchone()
        return datetime.fromisoformat(row[0]) if row[0] else None

    def fetched_since(self, network: str, since: datetime) -> int:
        """Posts fetched from a network since a moment (for monthly read budgets)."""
        row = self.conn.execute(
            "SELECT coalesce(sum(fetched), 0) FROM runs WHERE network = ? AND started_at >= ?",
            (network, utc_iso(since)),
        ).fetchone()
        return int(row[0])

    def units_since(self, network: str, since: datetime) -> int:
        """Quota units a network's runs spent since a moment (YouTube's daily quota)."""
        row = self.conn.execute(
            "SELECT coalesce(sum(units), 0) FROM runs WHERE network = ? AND started_at >= ?",
            (network, utc_iso(since)),
        ).fetchone()
        return int(row[0])

    def sources_since(self, network: str, since: datetime) -> set[str]:
        """The sources (watches, feeds) of a network that ran and spent units since a moment."""
        rows = self.conn.execute(
            "SELECT DISTINCT watch FROM runs WHERE network = ? AND started_at >= ? AND units > 0",
            (network, utc_iso(since)),
        )
        return {row[0] for row in rows}

    def feed_sources(self, networks: Sequence[str], since: datetime) -> list[tuple[str, str]]:
        """The feeds (not watches) of these networks that ran since a moment, as their runs name them.

        Feeds (``@page``, ``posts:@page``) are named by the collector, not the
        config, so the runs are the only place that knows them.
        """
        rows = self.conn.execute(
            "SELECT DISTINCT network, watch FROM runs WHERE started_at >= ? "
            "AND network IN (SELECT value FROM json_each(?)) AND watch NOT IN (SELECT name FROM watches) "
            "ORDER BY network, watch",
            (utc_iso(since), json.dumps(list(networks))),
        )
        return [(row[0], row[1]) for row in rows]

    def set_jobs(self, jobs: Sequence[tuple[str, datetime | None]], now: datetime | None = None) -> None:
        """Replace the daemon's schedule: (job id, next run) pairs."""
        stamp = utc_iso(now or utcnow())
        with self._write() as conn:
            conn.execute(
                "DELETE FROM jobs WHERE id NOT IN (SELECT value FROM json_each(?))",
                (_dumps([j for j, _ in jobs]),),
            )
            conn.executemany(
                "INSERT INTO jobs (id, next_run_at, updated_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE "
                "SET next_run_at = excluded.next_run_at, updated_at = excluded.updated_at",
                [(job, utc_iso(at) if at else None, stamp) for job, at in jobs],
            )

    def job_ran(self, job: str, outcome: str, now: datetime | None = None) -> None:
        stamp = utc_iso(now or utcnow())
        with self._write() as conn:
            conn.execute(
                "INSERT INTO jobs (id, last_run_at, last_outcome, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET last_run_at = excluded.last_run_at, "
                "last_outcome = excluded.last_outcome, updated_at = excluded.updated_at",
                (job, stamp, outcome, stamp),
            )

    def jobs(self) -> list[tuple[str, str | None, str | None, str | None]]:
        """(job id, next run, last run, last outcome), by next run."""
        return list(
            self.conn.execute(
                "SELECT id, next_run_at, last_run_at, last_outcome FROM jobs ORDER BY next_run_at, id"
            )
        )

    def status(
        self, now: datetime | None = None, expected: Sequence[tuple[str, str]] = ()
    ) -> list[StatusRow]:
        """Per network and watch: last run, last success, mentions in 24 h, last error.

        ``expected`` adds the (network, watch) pairs the config asks for, so a source
        that never ran shows up too.
        """
        now = now or utcnow()
        rows = self.conn.execute(
            """
            WITH sources AS (
              SELECT network, watch FROM runs
              UNION
              SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:expected)
            )
            SELECT s.network, s.watch,
              (SELECT max(started_at) FROM runs r WHERE r.network = s.network AND r.watch = s.watch),
              (SELECT max(finished_at) FROM runs r WHERE r.network = s.network AND r.watch = s.watch
                 AND r.error IS NULL AND r.finished_at IS NOT NULL),
              (SELECT count(*) FROM mentions m JOIN mention_watches mw ON mw.mention_id = m.id
                 JOIN watches w ON w.id = mw.watch_id
                 WHERE m.network = s.network AND w.name = s.watch AND m.created_at >= :since),
              (SELECT error_message FROM runs r WHERE r.network = s.network AND r.watch = s.watch
                 ORDER BY r.id DESC LIMIT 1),
              (SELECT max(rate_limit_reset) FROM runs r WHERE r.network = s.network
                 AND r.rate_limit_reset > :now)
            FROM sources s ORDER BY s.network, s.watch
            """,
            {"since": utc_iso(now - timedelta(hours=24)), "now": utc_iso(now), "expected": _dumps(expected)},
        )
        return [StatusRow(*row) for row in rows]


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
