"""The reads behind the daily digest, and the record of digests sent.

Every query is bounded by one local day (or the eight days up to it) and reads
through an index or a kept aggregate: per-watch counts from ``watch_hours`` (hours)
and ``watch_buckets`` (the 5-minute edges of a day that starts off the hour), daily
totals from ``mention_buckets``, repeat-negative authors from ``authors`` with their
mentions of the day through ``mentions_author_key``, collector runs from ``run_hours``.
The aggregates came with migration 14. The digest's "answer first" list is the day's
stories (``storage.stories``, #21), read there.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from listener.records import utc_iso, utcnow
from storage.authors import author_key_sql, own_sql
from storage.failures import guarded
from storage.rows import (
    ALERT_COLUMNS,
    AlertRow,
    AuthorRow,
    DigestRow,
    DigestWatchDay,
    NetworkRuns,
)

__all__ = [
    "AlertRow",
    "DigestQueries",
    "DigestRow",
    "DigestWatchDay",
    "NetworkRuns",
    "day_totals",
    "per_network",
]

BUCKET = 300  # seconds: watch_buckets and mention_buckets
HOUR = 12  # buckets: watch_hours

_SOURCES = "SELECT DISTINCT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:sources)"
_EVERY_SOURCE = "SELECT DISTINCT network, watch FROM run_hours"  # every source that ever ran (and is kept)


def day_totals(
    rows: Sequence[Sequence[Any]], networks: Sequence[str]
) -> tuple[int, int, int, dict[str, int]]:
    """One range's (mentions, negative, unscored, mentions per network) from its (network, volume,
    negative, unscored) rows; every network asked for is there, zero when it had none."""
    per = {network: int(volume) for network, volume, _, _ in rows}
    return (
        sum(int(r[1]) for r in rows), sum(int(r[2]) for r in rows), sum(int(r[3]) for r in rows),
        {network: per.get(network, 0) for network in networks},
    )  # fmt: skip


def per_network(rows: Sequence[Sequence[Any]]) -> list[NetworkRuns]:
    """Sources' runs summed per network, by network name; ``rows`` are (network, runs, failed, new,
    last success, last error as "started_at slug message", last run), times as UTC ISO text."""
    nets: dict[str, list[Any]] = {}
    for network, runs, failed, new, success, error, last in rows:
        acc = nets.setdefault(network, [0, 0, 0, None, None, None])
        acc[0] += runs
        acc[1] += failed
        acc[2] += new
        acc[3] = max(filter(None, (acc[3], success)), default=None)
        acc[4] = max(filter(None, (acc[4], error)), default=None)
        acc[5] = max(filter(None, (acc[5], last)), default=None)
    out = []
    for network in sorted(nets):
        runs, failed, new, success, error, last = nets[network]
        _, slug, message = error.split(" ", 2) if error else (None, None, None)
        out.append(NetworkRuns(network, runs, failed, new, success, slug, message or None, last))
    return out


@guarded
class DigestQueries:
    """Reads for the digest and writes of the ``digests`` table; attached to ``Store`` as ``digest``."""

    def __init__(
        self, conn: sqlite3.Connection, write: Callable[[], AbstractContextManager[sqlite3.Connection]]
    ) -> None:
        self.conn = conn
        self._write = write

    def watch_days(
        self, buckets: Sequence[tuple[int, int]], watches: Sequence[str] = ()
    ) -> list[DigestWatchDay]:
        """Counts per watch and day over every network (``network`` is ``""``); ``buckets`` are
        [first, end) 5-minute bucket numbers.

        The whole hours of a day from ``watch_hours``, its 5-minute edges (a day that starts
        off the hour) from ``watch_buckets``, each by its (watch_id, ...) key: the cost is
        the watches' and the days', not the history kept or the mentions of the day.
        """
        spans = []  # (day, table, lo, hi): the hours inside the day, then the buckets outside them
        for i, (lo, hi) in enumerate(buckets):
            first_hour, end_hour = -(-lo // HOUR), hi // HOUR
            if first_hour >= end_hour:
                spans.append((i, "b", lo, hi))
                continue
            spans += [
                (i, "h", first_hour, end_hour),
                (i, "b", lo, first_hour * HOUR),
                (i, "b", end_hour * HOUR, hi),
            ]
        rows = self.conn.execute(
            """
            WITH spans (i, kind, lo, hi) AS MATERIALIZED (
              SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
                json_extract(value, '$[3]')
              FROM json_each(:spans)),
            chosen AS MATERIALIZED (
              SELECT id, name FROM watches WHERE :all OR name IN (SELECT value FROM json_each(:watches))),
            counts (name, i, volume, negative, unscored) AS (
              SELECT w.name, s.i, h.volume, h.negative, h.unscored FROM chosen w CROSS JOIN spans s
              CROSS JOIN watch_hours h ON h.watch_id = w.id AND h.hour >= s.lo AND h.hour < s.hi
              WHERE s.kind = 'h'
              UNION ALL
              SELECT w.name, s.i, b.volume, b.negative, b.unscored FROM chosen w CROSS JOIN spans s
              CROSS JOIN watch_buckets b ON b.watch_id = w.id AND b.bucket >= s.lo AND b.bucket < s.hi
              WHERE s.kind = 'b' AND s.lo < s.hi)
            SELECT name, i, '', sum(volume), sum(negative), sum(unscored) FROM counts GROUP BY name, i
            """,
            {"spans": json.dumps(spans), "watches": json.dumps(list(watches)), "all": not watches},
        )
        return [DigestWatchDay(*row) for row in rows]

    def first_buckets(self) -> dict[str, int]:
        """Each watch's first 5-minute bucket with a mention: before it, the watch was not there.

        ``min`` over the (watch_id, bucket) key: one index probe per watch.
        """
        rows = self.conn.execute(
            "SELECT w.name, (SELECT min(b.bucket) FROM watch_buckets b WHERE b.watch_id = w.id) FROM watches w"
        )
        return {name: first for name, first in rows if first is not None}

    def daily_totals(
        self, ranges: Sequence[tuple[datetime, datetime]], networks: Sequence[str] = ()
    ) -> list[tuple[int, int, int, dict[str, int]]]:
        """Per [start, end) range: (mentions, negative, unscored, mentions per network), each once.

        Summed from ``mention_buckets``, a day's 288 rows, when the range starts and ends
        on 5-minute marks (every day of every time zone does); else counted inside the
        ``mentions_day`` index.
        """
        out = []
        for start, end in ranges:
            lo, hi = start.timestamp(), end.timestamp()
            if lo % BUCKET == 0 and hi % BUCKET == 0:
                rows = self.conn.execute(
                    "SELECT network, sum(volume), sum(negative), sum(unscored) FROM mention_buckets "
                    "WHERE bucket >= ? AND bucket < ? GROUP BY network",
                    (int(lo) // BUCKET, int(hi) // BUCKET),
                ).fetchall()
            else:
                rows = self.conn.execute(
                    "SELECT network, count(*), count(CASE WHEN sentiment_label = 'negative' THEN 1 END), "
                    "count(CASE WHEN sentiment_label IS NULL THEN 1 END) FROM mentions "
                    "WHERE created_at >= ? AND created_at < ? GROUP BY network",
                    (utc_iso(start), utc_iso(end)),
                ).fetchall()
            out.append(day_totals(rows, networks))
        return out

    def repeat_authors(
        self, start: datetime, end: datetime, at_least: int = 3, limit: int = 5
    ) -> list[AuthorRow]:
        """Repeat-negative authors (``at_least`` negative mentions) seen since ``start``, other than
        the ``own_accounts``, most negative first, as ``AuthorTable.top(negative=True)`` lists them.

        ``replies_received`` counts the replies of our own accounts to their mentions of the
        day [start, end): a range of ``mentions_author_key`` and a reply-index probe per
        mention, not every mention the author ever wrote; only for the authors listed.
        """
        rows = self.conn.execute(
            f"""
            WITH shown AS MATERIALIZED (
              SELECT a.network, a.author_key FROM authors a
              WHERE a.negative >= :at_least AND a.last_seen >= :start
                AND NOT EXISTS (SELECT 1 FROM own_accounts o WHERE o.network = a.network
                                AND o.handle IN (ltrim(lower(a.handle), '@'), lower(a.author_key)))
              ORDER BY a.negative DESC, a.last_seen DESC, a.network, a.author_key LIMIT :limit)
            SELECT a.network, a.author_key, a.handle, a.names, a.first_seen, a.last_seen, a.mentions,
              a.negative, a.neutral, a.positive, a.unscored,
              (SELECT count(*) FROM mentions p INDEXED BY mentions_author_key  -- the day's, then replies
               CROSS JOIN mentions r ON r.network = p.network AND r.in_reply_to_id = p.native_id
               WHERE p.network = a.network AND {author_key_sql("p")} = +a.author_key  -- no affinity: the index serves it
                 AND p.created_at >= :start AND p.created_at < :end AND {own_sql("r")})
            FROM shown s JOIN authors a ON a.network = s.network AND a.author_key = s.author_key
            ORDER BY a.negative DESC, a.last_seen DESC, a.network, a.author_key
            """,
            {"start": utc_iso(start), "end": utc_iso(end), "at_least": max(at_least, 1), "limit": limit},
        )
        return [AuthorRow.from_row(row) for row in rows]

    def alerts_during(self, start: datetime, end: datetime) -> list[AlertRow]:
        """Incidents going on at some point of [start, end), oldest first.

        One still open but no longer updated by then was abandoned (its watch was
        removed, say): it is left out rather than repeated in every digest.
        """
        rows = self.conn.execute(
            f"""
            SELECT {ALERT_COLUMNS}
            FROM alerts WHERE updated_at >= :start AND started_at < :end
              AND (resolved_at IS NULL OR resolved_at >= :start)
            ORDER BY started_at, id
            """,
            {"start": utc_iso(start), "end": utc_iso(end)},
        )
        return [AlertRow.from_row(row) for row in rows]

    def network_runs(
        self, start: datetime, end: datetime, sources: Sequence[tuple[str, str]] = ()
    ) -> list[NetworkRuns]:
        """Per network, the collector runs started in the range (``sources``: the expected ones).

        Counts come from ``run_hours`` for the whole hours of the range and from ``runs`` for
        the minutes outside them; the last success, error and run are walks of ``runs_source``
        (errors through the partial ``runs_failed``), newest first, so a year of runs costs no
        more than a week.
        """
        first_hour, end_hour = -(-int(start.timestamp()) // 3600), int(end.timestamp()) // 3600
        if first_hour >= end_hour:
            first_hour = end_hour = 0
        inner = (
            (datetime.fromtimestamp(first_hour * 3600, UTC), datetime.fromtimestamp(end_hour * 3600, UTC))
            if end_hour
            else (end, end)
        )
        params = {
            "start": utc_iso(start), "end": utc_iso(end), "sources": json.dumps(list(sources)),
            "h0": first_hour, "h1": end_hour, "inner_start": utc_iso(inner[0]), "inner_end": utc_iso(inner[1]),
        }  # fmt: skip
        rows = self.conn.execute(
            f"""
            WITH src (network, watch) AS MATERIALIZED ({_SOURCES if sources else _EVERY_SOURCE}),
            parts (network, watch, runs, failed, new) AS (
              SELECT h.network, h.watch, h.runs, h.failed, h.new FROM src CROSS JOIN run_hours h
                ON h.network = src.network AND h.watch = src.watch AND h.hour >= :h0 AND h.hour < :h1
              UNION ALL
              SELECT r.network, r.watch, 1, r.error IS NOT NULL, r.new FROM src CROSS JOIN runs r
                ON r.network = src.network AND r.watch = src.watch
                AND r.started_at >= :start AND r.started_at < :inner_start
              UNION ALL
              SELECT r.network, r.watch, 1, r.error IS NOT NULL, r.new FROM src CROSS JOIN runs r
                ON r.network = src.network AND r.watch = src.watch
                AND r.started_at >= :inner_end AND r.started_at < :end),
            counts AS MATERIALIZED (
              SELECT network, watch, sum(runs) AS runs, sum(failed) AS failed, sum(new) AS new
              FROM parts GROUP BY network, watch)
            SELECT src.network, coalesce(c.runs, 0), coalesce(c.failed, 0), coalesce(c.new, 0),
              (SELECT r2.finished_at FROM runs r2 WHERE r2.network = src.network AND r2.watch = src.watch
                 AND r2.started_at < :end AND r2.error IS NULL AND r2.finished_at IS NOT NULL
                 ORDER BY r2.started_at DESC LIMIT 1),
              (SELECT r2.started_at || ' ' || r2.error || ' ' || coalesce(r2.error_message, '')
                 FROM runs r2 INDEXED BY runs_failed
                 WHERE r2.network = src.network AND r2.watch = src.watch AND r2.started_at >= :start
                 AND r2.started_at < :end AND r2.error IS NOT NULL ORDER BY r2.started_at DESC LIMIT 1),
              (SELECT r2.started_at FROM runs r2 WHERE r2.network = src.network AND r2.watch = src.watch
                 AND r2.started_at < :end ORDER BY r2.started_at DESC LIMIT 1)
            FROM src LEFT JOIN counts c ON c.network = src.network AND c.watch = src.watch
            """,
            params,
        ).fetchall()
        return per_network(rows)

    # -- the digests table -----------------------------------------------------

    def sent(self, day: str, recipients: str) -> DigestRow | None:
        """The digest already sent for this day and recipient list, if any."""
        row = self.conn.execute(
            "SELECT day, recipients, sent_at, message_id, subject FROM digests WHERE day = ? AND recipients = ?",
            (day, recipients),
        ).fetchone()
        return DigestRow(*row) if row else None

    def record_sent(
        self, day: str, recipients: str, message_id: str, subject: str, now: datetime | None = None
    ) -> None:
        """Remember a sent digest; a forced resend replaces the earlier record."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO digests (day, recipients, sent_at, message_id, subject) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (day, recipients) DO UPDATE SET sent_at = excluded.sent_at, "
                "message_id = excluded.message_id, subject = excluded.subject",
                (day, recipients, utc_iso(now or utcnow()), message_id, subject),
            )
