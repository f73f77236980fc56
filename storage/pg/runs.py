"""Watches, collector runs, their budgets, the daemon's jobs, and status on PostgreSQL.

The PostgreSQL side of ``storage.interfaces.WatchRunStore`` (``sync_watches`` and
``get_cursor`` are ``PgMentions``'). As on SQLite, runs older than ``RUNS_KEPT`` go as runs
finish, and what outlives them (each source's last run, last success, back-off and latest
runs; posts and units per day) is summarised in ``source_health`` and ``run_days`` by the
transaction that writes the run (storage/pg/schema/004.sql says why those two are kept).
Each summary is one upsert whose new value is computed from the old one in SQL, so two daemons
finishing runs of one source at once queue on its row instead of losing an update.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from listener.model import SaveResult
from listener.records import utc_iso, utcnow
from storage.base import dumps
from storage.pg.connection import PgConnection
from storage.rows import RunRow, StatusRow, WatchRow
from storage.runs import RECENT, RUNS_KEPT, first_whole_day, parse_recent

__all__ = ["PgRuns", "iso"]

# The latest finished runs of a source: the kept ones but this run's old entry, and this run,
# newest (highest id) first, RECENT of them.
_FOLD_RECENT = f"""(
  SELECT coalesce(jsonb_agg(e ORDER BY (e ->> 0)::bigint DESC), '[]'::jsonb) FROM (
    SELECT e FROM (
      SELECT e FROM jsonb_array_elements(h.recent) e WHERE (e ->> 0)::bigint <> %(run_id)s
      UNION ALL SELECT %(run)s::jsonb
    ) a (e) ORDER BY (e ->> 0)::bigint DESC LIMIT {RECENT}
  ) k)"""
_SUMMARISE = f"""
INSERT INTO source_health AS h (network, watch, last_run_id, last_run_at, last_success_at,
  last_error_message, rate_limit_reset, recent)
VALUES (%(network)s, %(watch)s, %(run_id)s, %(started)s, %(success)s, %(message)s, %(reset)s,
  jsonb_build_array(%(run)s::jsonb))
ON CONFLICT (network, watch) DO UPDATE SET
  last_success_at = greatest(h.last_success_at, excluded.last_success_at),
  last_error_message = CASE WHEN h.last_run_id = %(run_id)s THEN excluded.last_error_message
                       ELSE h.last_error_message END,
  rate_limit_reset = greatest(h.rate_limit_reset, excluded.rate_limit_reset),
  recent = {_FOLD_RECENT}
"""
# Per source (network, watch) that ran or that the config expects: its summary, its matches
# created since a moment, and its network's back-off if still ahead.
_STATUS = """
WITH sources AS (
  SELECT network, watch FROM source_health
  UNION SELECT * FROM unnest(%(networks)s::text[], %(watches)s::text[])
),
day (network, watch_id, n) AS (
  SELECT m.network, mw.watch_id, count(*) FROM mentions m JOIN mention_watches mw ON mw.mention_id = m.id
  WHERE m.created_at >= %(since)s GROUP BY 1, 2
),
limits AS (
  SELECT network, max(rate_limit_reset) AS until FROM source_health
  WHERE rate_limit_reset > %(now)s GROUP BY network
)
SELECT s.network, s.watch, h.last_run_at, h.last_success_at, coalesce(d.n, 0), h.last_error_message, l.until
FROM sources s
LEFT JOIN source_health h ON h.network = s.network AND h.watch = s.watch
LEFT JOIN watches w ON w.name = s.watch
LEFT JOIN day d ON d.watch_id = w.id AND d.network = s.network
LEFT JOIN limits l ON l.network = s.network
ORDER BY s.network COLLATE "C", s.watch COLLATE "C"
"""
# A watch's matches, each counted once: its total, and those created since a moment.
_WATCHES = """
SELECT w.name, w.query,
  (SELECT count(*) FROM mention_watches mw WHERE mw.watch_id = w.id),
  coalesce(d.n, 0)
FROM watches w LEFT JOIN (
  SELECT mw.watch_id, count(*) AS n FROM mentions m JOIN mention_watches mw ON mw.mention_id = m.id
  WHERE m.created_at >= %s GROUP BY mw.watch_id
) d ON d.watch_id = w.id
ORDER BY w.name COLLATE "C"
"""


def iso(moment: datetime | None) -> str | None:
    """A ``timestamptz`` read back as SQLite stores and returns it (``utc_iso``)."""
    return None if moment is None else utc_iso(moment)


class PgRuns:
    """Reads and writes of ``watches``, ``runs``, ``source_health``, ``run_days`` and ``jobs``."""

    conn: PgConnection

    # -- watches -------------------------------------------------------------

    def watches(self, now: datetime | None = None) -> list[WatchRow]:
        """Each watch with its mentions ever and of the last 24 hours (to the second), by name.

        Counted from ``mention_watches`` and a ``mentions_day`` range: no kept counts yet.
        """
        since = utc_iso((now or utcnow()) - timedelta(hours=24))
        rows = self.conn.execute(_WATCHES, (since,)).fetchall()
        return [WatchRow(str(name), str(query), int(total), int(day)) for name, query, total, day in rows]

    def networks_seen(self) -> list[str]:
        """Every network with a stored mention or a run: a skip over the ``(network, native_id)`` key."""
        rows = self.conn.execute(
            """
            WITH RECURSIVE seen (network) AS (
              SELECT min(network) FROM mentions
              UNION ALL SELECT (SELECT min(network) FROM mentions WHERE network > seen.network)
              FROM seen WHERE seen.network IS NOT NULL)
            SELECT network COLLATE "C" FROM seen WHERE network IS NOT NULL
            UNION SELECT network COLLATE "C" FROM source_health ORDER BY 1
            """
        ).fetchall()
        return [str(row[0]) for row in rows]

    def prune_watches(self, keep: Sequence[str]) -> list[tuple[str, int]]:
        """Delete the watches not named in ``keep``, their matches, cursors and source health.

        The mentions stay, and so do runs and alerts (history). The watches are locked first
        (in name order), so a daemon linking a mention to one meanwhile waits, then is refused.
        Returns (name, mention links removed), by name.
        """
        gone: list[tuple[str, int]] = []
        with self.conn.transaction():
            doomed = self.conn.execute(
                'SELECT id, name FROM watches WHERE name <> ALL(%s) ORDER BY name COLLATE "C" FOR UPDATE',
                (list(keep),),
            ).fetchall()
            for watch_id, name in doomed:
                links = self.conn.execute("DELETE FROM mention_watches WHERE watch_id = %s", (watch_id,))
                gone.append((str(name), links.rowcount))
            names = [name for _, name in doomed]
            for table in ("cursors", "source_health"):
                self.conn.execute(f"DELETE FROM {table} WHERE watch = ANY(%s)", (names,))
            ids = [i for i, _ in doomed]
            self.conn.execute("DELETE FROM watch_buckets WHERE watch_id = ANY(%s)", (ids,))
            self.conn.execute("DELETE FROM watches WHERE id = ANY(%s)", (ids,))
        return gone

    # -- runs ----------------------------------------------------------------

    def start_run(self, network: str, watch: str, now: datetime | None = None) -> int:
        stamp = utc_iso(now or utcnow())
        with self.conn.transaction():
            row = self.conn.execute(
                "INSERT INTO runs (network, watch, started_at) VALUES (%s, %s, %s) RETURNING id",
                (network, watch, stamp),
            ).fetchone()
            assert row is not None
            # greatest: two daemons starting runs of one source may commit out of id order.
            self.conn.execute(
                "INSERT INTO source_health AS h (network, watch, last_run_id, last_run_at) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (network, watch) DO UPDATE SET last_run_id = greatest(h.last_run_id, excluded.last_run_id), "
                "last_run_at = greatest(h.last_run_at, excluded.last_run_at), last_error_message = "
                "CASE WHEN excluded.last_run_id > h.last_run_id THEN NULL ELSE h.last_error_message END",
                (network, watch, row[0], stamp),
            )
        return int(row[0])

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

        Runs older than ``RUNS_KEPT`` go: what health, status and budgets read of them lives on
        in ``source_health`` and ``run_days``.
        """
        now = now or utcnow()
        finished, reset = utc_iso(now), iso(rate_limit_reset)
        with self.conn.transaction():
            before = self.conn.execute(
                "SELECT network, watch, started_at, fetched, units FROM runs WHERE id = %s FOR UPDATE",
                (run_id,),
            ).fetchone()
            self.conn.execute(
                "UPDATE runs SET finished_at = %s, fetched = %s, new = %s, duplicates = %s, rejected = %s, "
                "error = %s, error_message = %s, rate_limit_reset = %s, units = %s WHERE id = %s",
                (
                    finished, fetched, result.new, result.duplicates + result.edited,
                    result.rejected, error, error_message, reset, units, run_id,
                ),
            )  # fmt: skip
            if before is None:
                return
            network, watch, started_at, *spent = before
            started = utc_iso(started_at)
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
            self.conn.execute(
                _SUMMARISE,
                {"network": network, "watch": watch, "run_id": run_id, "started": started,
                 "success": finished if error is None else None, "message": error_message, "reset": reset,
                 "run": dumps(run)},
            )  # fmt: skip
            self.conn.execute(
                "INSERT INTO run_days AS d (network, day, fetched, units) VALUES (%s, %s, %s, %s) ON CONFLICT "
                "(network, day) DO UPDATE SET fetched = d.fetched + excluded.fetched, units = d.units + excluded.units",
                (network, started_at.astimezone(UTC).date(), fetched - spent[0], units - spent[1]),
            )
            self.conn.execute(
                "DELETE FROM runs WHERE network = %s AND started_at < %s", (network, utc_iso(now - RUNS_KEPT))
            )

    def recent_runs(self, network: str, watch: str, limit: int = RECENT) -> list[RunRow]:
        """The latest finished runs of a source, newest first."""
        if limit <= RECENT:
            return self.latest_runs([(network, watch)], limit).get((network, watch), [])
        rows = self.conn.execute(
            "SELECT started_at, finished_at, fetched, new, rejected, error, error_message, rate_limit_reset "
            "FROM runs WHERE network = %s AND watch = %s AND finished_at IS NOT NULL "
            "ORDER BY started_at DESC, id DESC LIMIT %s",
            (network, watch, limit),
        ).fetchall()
        return [_run_row(row) for row in rows]

    def latest_runs(
        self, sources: Sequence[tuple[str, str]], limit: int = RECENT
    ) -> dict[tuple[str, str], list[RunRow]]:
        """The latest finished runs (at most ``RECENT``) of each source that ran, newest first: one read."""
        rows = self.conn.execute(
            "SELECT h.network, h.watch, h.recent::text FROM unnest(%s::text[], %s::text[]) s (network, watch) "
            "JOIN source_health h ON h.network = s.network AND h.watch = s.watch",
            ([n for n, _ in sources], [w for _, w in sources]),
        ).fetchall()
        return {(str(n), str(w)): list(parse_recent(recent)[:limit]) for n, w, recent in rows}

    # -- rate limits and budgets -----------------------------------------------

    def rate_limited_until(self, network: str, now: datetime | None = None) -> datetime | None:
        """When a network that answered 429 may be called again, if that is still ahead."""
        return self.rate_limits(now).get(network)

    def rate_limits(self, now: datetime | None = None) -> dict[str, datetime]:
        """Per network that answered 429, when it may be called again, if that is still ahead."""
        rows = self.conn.execute(
            "SELECT network, max(rate_limit_reset) FROM source_health WHERE rate_limit_reset > %s GROUP BY network",
            (utc_iso(now or utcnow()),),
        ).fetchall()
        return {str(network): reset.astimezone(UTC) for network, reset in rows}

    def fetched_since(self, network: str, since: datetime) -> int:
        """Posts fetched from a network since a moment (for monthly read budgets)."""
        return self._spent("fetched", network, since)

    def units_since(self, network: str, since: datetime) -> int:
        """Quota units a network's runs spent since a moment (YouTube's daily quota)."""
        return self._spent("units", network, since)

    def _spent(self, column: str, network: str, since: datetime) -> int:
        """Whole UTC days from ``run_days``, the rest of the first day from its runs (as on SQLite)."""
        first_day = first_whole_day(since)
        row = self.conn.execute(
            f"SELECT coalesce((SELECT sum({column}) FROM run_days WHERE network = %(network)s AND day >= %(day)s), 0) "
            f"+ coalesce((SELECT sum({column}) FROM runs WHERE network = %(network)s AND started_at >= %(since)s "
            "AND started_at < %(first_day)s), 0)",
            {
                "network": network,
                "day": first_day.date(),
                "since": utc_iso(since),
                "first_day": utc_iso(first_day),
            },
        ).fetchone()
        return int(row[0]) if row else 0

    def sources_since(self, network: str, since: datetime) -> set[str]:
        """The sources (watches, feeds) of a network that ran and spent units since a moment."""
        rows = self.conn.execute(
            "SELECT DISTINCT watch FROM runs WHERE network = %s AND started_at >= %s AND units > 0",
            (network, utc_iso(since)),
        ).fetchall()
        return {str(row[0]) for row in rows}

    def feed_sources(self, networks: Sequence[str], since: datetime) -> list[tuple[str, str]]:
        """The feeds (not watches) of these networks that ran since a moment, as their runs name them."""
        rows = self.conn.execute(
            "SELECT network, watch FROM source_health WHERE last_run_at >= %s AND network = ANY(%s) "
            'AND watch NOT IN (SELECT name FROM watches) ORDER BY network COLLATE "C", watch COLLATE "C"',
            (utc_iso(since), list(networks)),
        ).fetchall()
        return [(str(row[0]), str(row[1])) for row in rows]

    # -- the daemon's jobs ------------------------------------------------------

    def set_jobs(self, jobs: Sequence[tuple[str, datetime | None]], now: datetime | None = None) -> None:
        """Replace the daemon's schedule: (job id, next run) pairs."""
        stamp = utc_iso(now or utcnow())
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute("DELETE FROM jobs WHERE id <> ALL(%s)", ([j for j, _ in jobs],))
            cur.executemany(
                "INSERT INTO jobs (id, next_run_at, updated_at) VALUES (%s, %s, %s) ON CONFLICT (id) DO UPDATE "
                "SET next_run_at = excluded.next_run_at, updated_at = excluded.updated_at",
                sorted(
                    (job, iso(at), stamp) for job, at in jobs
                ),  # in key order: no deadlock between daemons
            )

    def job_ran(self, job: str, outcome: str, now: datetime | None = None) -> None:
        stamp = utc_iso(now or utcnow())
        with self.conn.transaction():
            self.conn.execute(
                "INSERT INTO jobs (id, last_run_at, last_outcome, updated_at) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (id) DO UPDATE SET last_run_at = excluded.last_run_at, "
                "last_outcome = excluded.last_outcome, updated_at = excluded.updated_at",
                (job, stamp, outcome, stamp),
            )

    def jobs(self) -> list[tuple[str, str | None, str | None, str | None]]:
        """(job id, next run, last run, last outcome), by next run (none first, as SQLite sorts NULL)."""
        rows = self.conn.execute(
            'SELECT id, next_run_at, last_run_at, last_outcome FROM jobs ORDER BY next_run_at NULLS FIRST, id COLLATE "C"'
        ).fetchall()
        return [(str(job), iso(next_at), iso(last_at), outcome) for job, next_at, last_at, outcome in rows]

    # -- status ----------------------------------------------------------------

    def status(
        self, now: datetime | None = None, expected: Sequence[tuple[str, str]] = ()
    ) -> list[StatusRow]:
        """Per network and watch: last run, last success, mentions in 24 h, last error, back-off.

        ``expected`` adds the (network, watch) pairs the config asks for, so a source that never
        ran shows up too. The runs' part comes from ``source_health``; the mentions of the last
        24 hours (to the second) are counted from a ``mentions_day`` range.
        """
        now = now or utcnow()
        rows = self.conn.execute(
            _STATUS,
            {"networks": [n for n, _ in expected], "watches": [w for _, w in expected],
             "since": utc_iso(now - timedelta(hours=24)), "now": utc_iso(now)},
        ).fetchall()  # fmt: skip
        return [
            StatusRow(str(network), str(watch), iso(run), iso(success), int(n), error, iso(until))
            for network, watch, run, success, n, error, until in rows
        ]


def _run_row(row: Sequence[Any]) -> RunRow:
    started, finished, fetched, new, rejected, error, message, reset = row
    return RunRow(utc_iso(started), utc_iso(finished), fetched, new, rejected, error, message, iso(reset))
