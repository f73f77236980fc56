"""Watches, cursors, collector runs, their budgets, the daemon's jobs, and status.

The SQLite side of ``storage.interfaces.WatchRunStore``, composed into ``Store``.
A run row is written when a source starts and finished when it ends, so the
runs table is the one record of what was asked of each network, what it cost
(posts fetched, quota units) and how it failed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from listener.records import SaveResult, utc_iso, utcnow
from storage.base import SQLiteBase, dumps
from storage.failures import guarded
from storage.rows import RunRow, StatusRow, WatchRow

__all__ = ["WatchRunMethods"]


@guarded
class WatchRunMethods(SQLiteBase):
    """Reads and writes of ``watches``, ``cursors``, ``runs`` and ``jobs``."""

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

    # -- rate limits and budgets -----------------------------------------------

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

    # -- the daemon's jobs ------------------------------------------------------

    def set_jobs(self, jobs: Sequence[tuple[str, datetime | None]], now: datetime | None = None) -> None:
        """Replace the daemon's schedule: (job id, next run) pairs."""
        stamp = utc_iso(now or utcnow())
        with self._write() as conn:
            conn.execute(
                "DELETE FROM jobs WHERE id NOT IN (SELECT value FROM json_each(?))",
                (dumps([j for j, _ in jobs]),),
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

    # -- status ----------------------------------------------------------------

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
            {"since": utc_iso(now - timedelta(hours=24)), "now": utc_iso(now), "expected": dumps(expected)},
        )
        return [StatusRow(*row) for row in rows]
