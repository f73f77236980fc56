"""The digest's reads on PostgreSQL, and the record of digests sent.

SQLite reads counts its triggers keep (``watch_hours``, ``mention_buckets``, ``run_hours``);
here each read counts the base tables inside its days instead, through their indexes:
a day's mentions by ``mentions_day`` (then their watches by ``mention_watches``' key), a
source's runs by ``runs_source``, repeat authors in ``authors_repeat`` order, and no other
writer's table is needed. The cost is the mentions of the days read, not the history kept;
except that where those are a large share of all (1M mentions over 60 days: 8 days are 13%)
the planner hashes every match instead of probing the days' (``watch_days``: 0.7 s there).
``first_buckets`` is the exception: each watch's first match is kept (``watch_firsts``, 005.sql).
Results are SQLite's, row for row: the shaping is ``storage.digest``'s own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from listener.records import utc_iso, utcnow
from storage.digest import BUCKET, day_totals, per_network
from storage.pg.alerts import ALERT_SELECT, alert_row, iso
from storage.pg.connection import PgConnection
from storage.rows import AlertRow, AuthorRow, DigestRow, DigestWatchDay, NetworkRuns

__all__ = ["PgDigest"]

_AUTHOR_KEY = "coalesce(nullif(p.author_id, ''), nullif(p.author_handle, ''))"  # mentions_author_key's
# SQLite's lower() folds ASCII only; under the "C" collation PostgreSQL's does the same.
_OWN_REPLY = (
    "EXISTS (SELECT 1 FROM own_accounts o WHERE o.network = r.network "
    """AND o.handle IN (ltrim(lower(r.author_handle COLLATE "C"), '@'), lower(r.author_id COLLATE "C")))"""
)
_NOT_OWN = (
    "NOT EXISTS (SELECT 1 FROM own_accounts o WHERE o.network = a.network "
    """AND o.handle IN (ltrim(lower(a.handle COLLATE "C"), '@'), lower(a.author_key COLLATE "C")))"""
)
_EVERY_SOURCE = """
  WITH RECURSIVE s (network, watch) AS (  -- each distinct source, one runs_source probe each
    (SELECT network, watch FROM runs ORDER BY network, watch LIMIT 1)
    UNION ALL
    SELECT n.network, n.watch FROM s CROSS JOIN LATERAL (
      SELECT network, watch FROM runs WHERE (network, watch) > (s.network, s.watch)
      ORDER BY network, watch LIMIT 1) n)
  SELECT network, watch FROM s"""
_GIVEN_SOURCES = "SELECT DISTINCT * FROM unnest(%(networks)s::text[], %(watches)s::text[])"


def _moment(bucket: int) -> datetime:
    return datetime.fromtimestamp(bucket * BUCKET, UTC)


class PgDigest:
    """Reads for the digest and writes of ``digests``; ``PgStore.digest``."""

    def __init__(self, conn: PgConnection) -> None:
        self.conn = conn

    def watch_days(
        self, buckets: Sequence[tuple[int, int]], watches: Sequence[str] = ()
    ) -> list[DigestWatchDay]:
        """Counts per watch and day over every network (``network`` is ``""``); ``buckets`` are
        [first, end) 5-minute bucket numbers. The days' mentions, each day's then their watches."""
        rows = self.conn.execute(
            """
            WITH counts AS (
              SELECT d.i, mw.watch_id, count(*) AS volume,
                count(*) FILTER (WHERE m.sentiment_label = 'negative') AS negative,
                count(*) FILTER (WHERE m.sentiment_label IS NULL) AS unscored
              FROM unnest(%(lo)s::timestamptz[], %(hi)s::timestamptz[]) WITH ORDINALITY AS d (lo, hi, i)
              JOIN mentions m ON m.created_at >= d.lo AND m.created_at < d.hi
              JOIN mention_watches mw ON mw.mention_id = m.id
              WHERE m.created_at >= %(first)s AND m.created_at < %(last)s  -- for the planner: one index range
              GROUP BY d.i, mw.watch_id)
            SELECT w.name, c.i::int, '', c.volume, c.negative, c.unscored
            FROM counts c JOIN watches w ON w.id = c.watch_id
            WHERE %(all)s OR w.name = ANY(%(watches)s)
            ORDER BY w.name, c.i
            """,
            {
                "lo": [_moment(lo) for lo, _ in buckets],
                "hi": [_moment(hi) for _, hi in buckets],
                "first": _moment(min((lo for lo, _ in buckets), default=0)),
                "last": _moment(max((hi for _, hi in buckets), default=0)),
                "all": not watches,
                "watches": list(watches),
            },
        ).fetchall()
        return [DigestWatchDay(name, i - 1, net, v, n, u) for name, i, net, v, n, u in rows]

    def first_buckets(self) -> dict[str, int]:
        """Each watch's first 5-minute bucket with a mention: before it, the watch was not there.

        The earliest of its ``watch_firsts`` rows (kept as matches are written, 005.sql): one index
        probe per watch."""
        rows = self.conn.execute(
            "SELECT w.name, (SELECT min(f.first_at) FROM watch_firsts f WHERE f.watch_id = w.id) FROM watches w"
        ).fetchall()
        return {name: int(first.timestamp()) // BUCKET for name, first in rows if first is not None}

    def daily_totals(
        self, ranges: Sequence[tuple[datetime, datetime]], networks: Sequence[str] = ()
    ) -> list[tuple[int, int, int, dict[str, int]]]:
        """Per [start, end) range: (mentions, negative, unscored, mentions per network), each once.
        Counted inside the ``mentions_day`` index (it holds the label and the network too)."""
        rows = self.conn.execute(
            """
            SELECT r.i, m.network, count(*), count(*) FILTER (WHERE m.sentiment_label = 'negative'),
              count(*) FILTER (WHERE m.sentiment_label IS NULL)
            FROM unnest(%s::timestamptz[], %s::timestamptz[]) WITH ORDINALITY AS r (lo, hi, i)
            JOIN mentions m ON m.created_at >= r.lo AND m.created_at < r.hi
            WHERE m.created_at >= %s AND m.created_at < %s  -- for the planner: one index range
            GROUP BY r.i, m.network
            """,
            (
                [utc_iso(lo) for lo, _ in ranges],
                [utc_iso(hi) for _, hi in ranges],
                utc_iso(min((lo for lo, _ in ranges), default=_moment(0))),
                utc_iso(max((hi for _, hi in ranges), default=_moment(0))),
            ),
        ).fetchall()
        per: list[list[tuple[Any, ...]]] = [[] for _ in ranges]
        for i, *counts in rows:
            per[i - 1].append(tuple(counts))
        return [day_totals(day, networks) for day in per]

    def repeat_authors(
        self, start: datetime, end: datetime, at_least: int = 3, limit: int = 5
    ) -> list[AuthorRow]:
        """Repeat-negative authors (``at_least`` negative mentions) seen since ``start``, other than the
        ``own_accounts``, most negative first, with the replies our accounts gave their mentions of
        the day [start, end) (a range of ``mentions_author_key``, a reply-index probe per mention)."""
        rows = self.conn.execute(
            f"""
            SELECT a.network, a.author_key, a.handle, a.names::text, a.first_seen, a.last_seen, a.mentions,
              a.negative, a.neutral, a.positive, a.unscored,
              (SELECT count(*) FROM mentions p
               JOIN mentions r ON r.network = p.network AND r.in_reply_to_id = p.native_id
               WHERE p.network = a.network AND {_AUTHOR_KEY} = a.author_key
                 AND p.created_at >= %(start)s AND p.created_at < %(end)s AND {_OWN_REPLY})
            FROM authors a
            WHERE a.negative >= %(at_least)s AND a.last_seen >= %(start)s AND {_NOT_OWN}
            ORDER BY a.negative DESC, a.last_seen DESC, a.network, a.author_key LIMIT %(limit)s
            """,
            {"start": utc_iso(start), "end": utc_iso(end), "at_least": max(at_least, 1), "limit": limit},
        ).fetchall()
        return [AuthorRow.from_row([*row[:4], iso(row[4]), iso(row[5]), *row[6:]]) for row in rows]

    def alerts_during(self, start: datetime, end: datetime) -> list[AlertRow]:
        """Incidents going on at some point of [start, end), oldest first; one still open but no
        longer updated by then was abandoned, and is left out."""
        rows = self.conn.execute(
            f"SELECT {ALERT_SELECT} FROM alerts WHERE updated_at >= %(start)s AND started_at < %(end)s "
            "AND (resolved_at IS NULL OR resolved_at >= %(start)s) ORDER BY started_at, id",
            {"start": utc_iso(start), "end": utc_iso(end)},
        ).fetchall()
        return [alert_row(row) for row in rows]

    def network_runs(
        self, start: datetime, end: datetime, sources: Sequence[tuple[str, str]] = ()
    ) -> list[NetworkRuns]:
        """Per network, the collector runs started in the range (``sources``: the expected ones, else
        every source that ever ran); each source's runs of the range and its last success, error
        and run are walks of ``runs_source`` (errors of ``runs_failed``), newest first."""
        rows = self.conn.execute(
            f"""
            WITH src (network, watch) AS MATERIALIZED ({_GIVEN_SOURCES if sources else _EVERY_SOURCE})
            SELECT src.network, c.runs, c.failed, c.new,
              (SELECT r.finished_at FROM runs r WHERE r.network = src.network AND r.watch = src.watch
                 AND r.started_at < %(end)s AND r.error IS NULL AND r.finished_at IS NOT NULL
                 ORDER BY r.started_at DESC LIMIT 1),
              f.started_at, f.error, f.error_message,
              (SELECT r.started_at FROM runs r WHERE r.network = src.network AND r.watch = src.watch
                 AND r.started_at < %(end)s ORDER BY r.started_at DESC LIMIT 1)
            FROM src CROSS JOIN LATERAL (
              SELECT count(*) AS runs, count(r.error) AS failed, coalesce(sum(r.new), 0) AS new FROM runs r
              WHERE r.network = src.network AND r.watch = src.watch
                AND r.started_at >= %(start)s AND r.started_at < %(end)s) c
            LEFT JOIN LATERAL (
              SELECT r.started_at, r.error, r.error_message FROM runs r
              WHERE r.network = src.network AND r.watch = src.watch AND r.started_at >= %(start)s
                AND r.started_at < %(end)s AND r.error IS NOT NULL ORDER BY r.started_at DESC LIMIT 1) f ON true
            """,
            {
                "start": utc_iso(start),
                "end": utc_iso(end),
                "networks": [n for n, _ in sources],
                "watches": [w for _, w in sources],
            },
        ).fetchall()
        return per_network([self._source(*row) for row in rows])

    @staticmethod
    def _source(
        network: str,
        runs: int,
        failed: int,
        new: int,
        success: datetime | None,
        failed_at: datetime | None,
        slug: str | None,
        message: str | None,
        last: datetime | None,
    ) -> tuple[Any, ...]:
        """One source's row as SQLite's query gives it: times as ISO text, the last error as
        "started_at slug message" (what ``per_network`` compares and splits)."""
        failure = f"{utc_iso(failed_at)} {slug} {message or ''}" if failed_at is not None else None
        return network, int(runs), int(failed), int(new), iso(success), failure, iso(last)  # fmt: skip

    # -- the digests table -----------------------------------------------------

    def sent(self, day: str, recipients: str) -> DigestRow | None:
        """The digest already sent for this day and recipient list, if any."""
        row = self.conn.execute(
            "SELECT day, recipients, sent_at, message_id, subject FROM digests WHERE day = %s AND recipients = %s",
            (day, recipients),
        ).fetchone()
        return DigestRow(row[0], row[1], utc_iso(row[2]), row[3], row[4]) if row else None

    def record_sent(
        self, day: str, recipients: str, message_id: str, subject: str, now: datetime | None = None
    ) -> None:
        """Remember a sent digest; a forced resend replaces the earlier record."""
        with self.conn.transaction():
            self.conn.execute(
                "INSERT INTO digests (day, recipients, sent_at, message_id, subject) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (day, recipients) DO UPDATE SET sent_at = excluded.sent_at, "
                "message_id = excluded.message_id, subject = excluded.subject",
                (day, recipients, utc_iso(now or utcnow()), message_id, subject),
            )
