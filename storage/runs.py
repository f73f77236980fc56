"""Watches, cursors, collector runs, their budgets, the daemon's jobs, and status.

The SQLite side of ``storage.interfaces.WatchRunStore``, composed into ``Store``.
A run row is written when a source starts and finished when it ends, so the
runs table is the one record of what was asked of each network, what it cost
(posts fetched, quota units) and how it failed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from listener.model import SaveResult
from listener.records import utc_iso, utcnow
from storage.base import SQLiteBase, dumps
from storage.failures import guarded
from storage.mentions import BASE_BUCKET
from storage.rows import RunRow, StatusRow, WatchRow

__all__ = ["RECENT", "RUNS_KEPT", "WatchRunMethods", "first_whole_day", "parse_recent"]

RECENT = 10  # finished runs per source that source_health keeps
RUNS_KEPT = timedelta(days=35)  # raw runs older than this go: a month of budget plus a margin
HOUR_BUCKETS = 12  # 5-minute buckets in an hour of source_hours and watch_hours
# What a watch owns by id, its mention links last (``prune_watches``). Its ``bucket_changes``
# stay: the reader drops a removed watch's, and a gap in them would force a full reread.
_OWNED_BY_ID = (
    "watch_buckets",
    "watch_hours",
    "source_hours",
    "watch_times",
    "watch_totals",
    "mention_watches",
)


@lru_cache(maxsize=16_384)
def parse_recent(kept: str) -> tuple[RunRow, ...]:
    """``source_health.recent`` parsed; each pass reads every source's, and few have changed.

    Keyed by the JSON text itself, so a changed row is parsed again; the rows are frozen.
    """
    return tuple(RunRow(*r[1:]) for r in json.loads(kept))


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
        """Each watch with its mentions ever (``watch_totals``) and of the last 24 hours.

        The last 24 hours are the watch's whole hours (a key range of ``watch_hours``,
        summed over networks, at most 25 rows), the 5-minute buckets of ``watch_buckets``
        before the first whole hour (under 12 per network) and the mentions of the partial
        first bucket (under 5 minutes of ``mentions_day``), split where ``window_marks``
        says, as ``status`` does. So the cost is the watches', not how full their buckets
        are: 288 buckets per network grew with mention density (#20).
        """
        rows = self.conn.execute(
            """
            WITH partial (watch_id, n) AS MATERIALIZED (
              SELECT mw.watch_id, count(*) FROM mentions m JOIN mention_watches mw ON mw.mention_id = m.id
              WHERE m.created_at >= :since_iso AND m.created_at < :whole_iso GROUP BY mw.watch_id)
            SELECT w.name, w.query, coalesce(t.mentions, 0),
              coalesce((SELECT sum(h.volume) FROM watch_hours h WHERE h.watch_id = w.id AND h.hour >= :hour), 0)
              + coalesce((SELECT sum(b.volume) FROM watch_buckets b WHERE b.watch_id = w.id
                 AND b.bucket >= :whole AND b.bucket < :hour_bucket), 0)
              + coalesce(p.n, 0)
            FROM watches w LEFT JOIN watch_totals t ON t.watch_id = w.id LEFT JOIN partial p ON p.watch_id = w.id
            ORDER BY w.name
            """,
            window_marks((now or utcnow()) - timedelta(hours=24)),
        )
        return [WatchRow(*row) for row in rows]

    def networks_seen(self) -> list[str]:
        """Every network with a stored mention or a run, for telling a typo from a quiet network.

        A skip over the ``(network, native_id)`` key: one lookup per network, however many mentions.
        """
        rows = self.conn.execute(
            """
            WITH RECURSIVE seen (network) AS (
              SELECT min(network) FROM mentions
              UNION ALL SELECT (SELECT min(network) FROM mentions WHERE network > seen.network)
              FROM seen WHERE seen.network IS NOT NULL)
            SELECT network FROM seen WHERE network IS NOT NULL
            UNION SELECT network FROM source_health ORDER BY 1
            """
        )
        return [row[0] for row in rows]

    def prune_watches(self, keep: Sequence[str]) -> list[tuple[str, int]]:
        """Delete the watches not named in ``keep`` (gone from the config), with all a watch owns.

        A watch owns its row, its links to mentions (``mention_watches``), the counts
        triggers keep per watch (buckets, hours, totals, match times)
        and, by name, its cursors and source health. The mentions stay, and so do
        runs and alerts, which are history. Returns (name, mention links removed).
        """
        marks = ", ".join("?" * len(keep))
        with self._write() as conn:
            gone = conn.execute(
                f"SELECT w.id, w.name, coalesce(t.mentions, 0) FROM watches w "
                f"LEFT JOIN watch_totals t ON t.watch_id = w.id WHERE w.name NOT IN ({marks}) ORDER BY w.name",
                list(keep),
            ).fetchall()
            for watch_id, name, _ in gone:
                # The counts first: the unmatch triggers then find nothing left to update.
                for table in _OWNED_BY_ID:
                    conn.execute(f"DELETE FROM {table} WHERE watch_id = ?", (watch_id,))
                for table in ("cursors", "source_health"):
                    conn.execute(f"DELETE FROM {table} WHERE watch = ?", (name,))
                conn.execute("DELETE FROM watches WHERE id = ?", (watch_id,))
        return [(name, links) for _, name, links in gone]

    # -- cursors and runs ----------------------------------------------------

    def get_cursor(self, network: str, watch: str) -> str | None:
        row = self.conn.execute(
            "SELECT value FROM cursors WHERE network = ? AND watch = ?", (network, watch)
        ).fetchone()
        return row[0] if row else None

    def start_run(self, network: str, watch: str, now: datetime | None = None) -> int:
        stamp = utc_iso(now or utcnow())
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO runs (network, watch, started_at) VALUES (?, ?, ?)", (network, watch, stamp)
            )
            assert cur.lastrowid is not None
            conn.execute(
                "INSERT INTO source_health (network, watch, last_run_id, last_run_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (network, watch) DO UPDATE SET last_run_id = excluded.last_run_id, "
                "last_run_at = max(last_run_at, excluded.last_run_at), last_error_message = NULL",
                (network, watch, cur.lastrowid, stamp),
            )
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
        """Record a run's outcome, and in the same transaction its source's summary and day totals.

        Runs older than ``RUNS_KEPT`` go: what health, status and budgets read of
        them lives on in ``source_health`` and ``run_days``.
        """
        now = now or utcnow()
        finished, reset = utc_iso(now), utc_iso(rate_limit_reset) if rate_limit_reset else None
        with self._write() as conn:
            before = conn.execute(
                "SELECT network, watch, started_at, fetched, units FROM runs WHERE id = ?", (run_id,)
            ).fetchone()
            conn.execute(
                "UPDATE runs SET finished_at = ?, fetched = ?, new = ?, duplicates = ?, rejected = ?, "
                "error = ?, error_message = ?, rate_limit_reset = ?, units = ? WHERE id = ?",
                (
                    finished, fetched, result.new, result.duplicates + result.edited,
                    result.rejected, error, error_message, reset, units, run_id,
                ),
            )  # fmt: skip
            if before is None:
                return
            network, watch, started, *spent = before
            run = [
                run_id,
                started,
                finished,
                fetched,
                result.new,
                result.rejected,
                error,
                error_message,
                reset,
            ]
            self._summarise(network, watch, run)
            conn.execute(
                "INSERT INTO run_days (network, day, fetched, units) VALUES (?, ?, ?, ?) ON CONFLICT "
                "(network, day) DO UPDATE SET fetched = fetched + excluded.fetched, units = units + excluded.units",
                (network, started[:10], fetched - spent[0], units - spent[1]),
            )
            conn.execute(
                "DELETE FROM runs WHERE network = ? AND started_at < ?", (network, utc_iso(now - RUNS_KEPT))
            )

    def _summarise(self, network: str, watch: str, run: list[Any]) -> None:
        """Fold a finished run into its source's ``source_health`` row."""
        row = self.conn.execute(
            "SELECT last_run_id, last_run_at, last_success_at, last_error_message, rate_limit_reset, recent "
            "FROM source_health WHERE network = ? AND watch = ?",
            (network, watch),
        ).fetchone()
        last_id, last_at, success, message, reset, recent = row or (run[0], run[1], None, None, None, "[]")
        kept = [r for r in json.loads(recent) if r[0] != run[0]]
        kept = sorted([run, *kept], key=lambda r: r[0], reverse=True)[:RECENT]
        if run[6] is None:
            success = max(filter(None, (success, run[2])))
        if last_id == run[0]:
            message = run[7]
        reset = max(filter(None, (reset, run[8])), default=None)
        self.conn.execute(
            "INSERT OR REPLACE INTO source_health (network, watch, last_run_id, last_run_at, last_success_at, "
            "last_error_message, rate_limit_reset, recent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (network, watch, last_id, last_at, success, message, reset, dumps(kept)),
        )

    def recent_runs(self, network: str, watch: str, limit: int = RECENT) -> list[RunRow]:
        """The latest finished runs of a source, newest first."""
        if limit <= RECENT:
            return self.latest_runs([(network, watch)], limit).get((network, watch), [])
        rows = self.conn.execute(
            "SELECT started_at, finished_at, fetched, new, rejected, error, error_message, rate_limit_reset "
            "FROM runs WHERE network = ? AND watch = ? AND finished_at IS NOT NULL "
            "ORDER BY started_at DESC, id DESC LIMIT ?",
            (network, watch, limit),
        )
        return [RunRow(*row) for row in rows]

    def latest_runs(
        self, sources: Sequence[tuple[str, str]], limit: int = RECENT
    ) -> dict[tuple[str, str], list[RunRow]]:
        """The latest finished runs (at most ``RECENT``) of each source that ran, newest first: one read."""
        rows = self.conn.execute(
            "SELECT h.network, h.watch, h.recent FROM json_each(?) s CROSS JOIN source_health h "
            "ON h.network = s.value ->> 0 AND h.watch = s.value ->> 1",
            (dumps(sources),),
        )
        return {(network, watch): list(parse_recent(recent)[:limit]) for network, watch, recent in rows}

    # -- rate limits and budgets -----------------------------------------------

    def rate_limited_until(self, network: str, now: datetime | None = None) -> datetime | None:
        """When a network that answered 429 may be called again, if that is still ahead."""
        return self.rate_limits(now).get(network)

    def rate_limits(self, now: datetime | None = None) -> dict[str, datetime]:
        """Per network that answered 429, when it may be called again, if that is still ahead."""
        rows = self.conn.execute(
            "SELECT network, max(rate_limit_reset) FROM source_health WHERE rate_limit_reset > ? GROUP BY network",
            (utc_iso(now or utcnow()),),
        )
        return {network: datetime.fromisoformat(reset) for network, reset in rows}

    def fetched_since(self, network: str, since: datetime) -> int:
        """Posts fetched from a network since a moment (for monthly read budgets)."""
        return self._spent("fetched", network, since)

    def units_since(self, network: str, since: datetime) -> int:
        """Quota units a network's runs spent since a moment (YouTube's daily quota)."""
        return self._spent("units", network, since)

    def _spent(self, column: str, network: str, since: datetime) -> int:
        """Whole UTC days from ``run_days``, the rest of the first day from its runs.

        Exact while ``since`` is a midnight or less than ``RUNS_KEPT`` ago (budget
        periods and quota days are both).
        """
        first_day = first_whole_day(since)
        row = self.conn.execute(
            f"SELECT coalesce((SELECT sum({column}) FROM run_days WHERE network = :network AND day >= :day), 0) "
            f"+ coalesce((SELECT sum({column}) FROM runs WHERE network = :network AND started_at >= :since "
            "AND started_at < :first_day), 0)",
            {"network": network, "day": first_day.date().isoformat(), "since": utc_iso(since),
             "first_day": utc_iso(first_day)},
        ).fetchone()  # fmt: skip
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
            "SELECT network, watch FROM source_health WHERE last_run_at >= ? "
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
        that never ran shows up too. Everything comes from ``source_health``. The
        mentions of the last 24 hours are the source's whole hours (a key range of
        ``source_hours``, at most 24 rows) and, before the first whole hour, under 12
        5-minute buckets of ``watch_buckets`` (read once per watch, for all its networks)
        and the mentions of the partial first bucket (under 5 minutes of ``mentions_day``).
        So the cost is the sources', not how full their buckets are (#20).
        """
        now = now or utcnow()
        rows = self.conn.execute(
            """
            WITH sources AS (
              SELECT network, watch FROM source_health
              UNION
              SELECT value ->> 0, value ->> 1 FROM json_each(:expected)
            ),
            chosen (id) AS MATERIALIZED (
              SELECT DISTINCT w.id FROM sources s CROSS JOIN watches w ON w.name = s.watch
            ),
            edge (watch_id, network, n) AS MATERIALIZED (  -- under an hour before the first whole one
              SELECT b.watch_id, b.network, b.volume FROM chosen c CROSS JOIN watch_buckets b
                ON b.watch_id = c.id AND b.bucket >= :whole AND b.bucket < :hour_bucket
              UNION ALL
              SELECT mw.watch_id, m.network, 1 FROM mentions m JOIN mention_watches mw ON mw.mention_id = m.id
              WHERE m.created_at >= :since_iso AND m.created_at < :whole_iso
            ),
            limits AS (
              SELECT network, max(rate_limit_reset) AS until FROM source_health
              WHERE rate_limit_reset > :now GROUP BY network
            )
            SELECT s.network, s.watch, h.last_run_at, h.last_success_at,
              coalesce((SELECT sum(t.volume) FROM source_hours t WHERE t.watch_id = w.id
                 AND t.network = s.network AND t.hour >= :hour), 0)
              + coalesce((SELECT sum(e.n) FROM edge e WHERE e.watch_id = w.id AND e.network = s.network), 0),
              h.last_error_message, l.until
            FROM sources s
            LEFT JOIN source_health h ON h.network = s.network AND h.watch = s.watch
            LEFT JOIN watches w ON w.name = s.watch
            LEFT JOIN limits l ON l.network = s.network
            ORDER BY s.network, s.watch
            """,
            {**window_marks(now - timedelta(hours=24)), "now": utc_iso(now), "expected": dumps(expected)},
        )
        return [StatusRow(*row) for row in rows]


def first_whole_day(since: datetime) -> datetime:
    """The first UTC midnight at or after ``since``: budgets sum whole days from ``run_days``, the rest from runs."""
    midnight = since.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight if midnight == since else midnight + timedelta(days=1)


def window_marks(since: datetime) -> dict[str, int | str]:
    """Where a window that starts at ``since`` (to the second) changes from one table to the next.

    Mentions from ``since_iso`` to ``whole_iso``, the start of the first 5-minute bucket
    ``whole``; buckets from ``whole`` to ``hour_bucket``, the first bucket of the first
    whole ``hour``; hours from ``hour`` on.
    """
    start = int(since.timestamp())
    whole = -(-start // BASE_BUCKET)
    hour = -(-whole // HOUR_BUCKETS)
    return {
        "since_iso": utc_iso(datetime.fromtimestamp(start, UTC)),
        "whole_iso": utc_iso(datetime.fromtimestamp(whole * BASE_BUCKET, UTC)),
        "whole": whole,
        "hour_bucket": hour * HOUR_BUCKETS,
        "hour": hour,
    }
