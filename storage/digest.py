"""The reads behind the daily digest, and the record of digests sent.

Every query is bounded by one local day (or the eight days up to it) and reads
through an index: per-watch counts come from ``watch_buckets`` by its primary
key, lists of mentions from ``mentions`` by ``created_at``, and "has one of our
accounts answered?" is an index lookup per negative mention, never a scan. The
indexes it needs came with migration 6.

"Own accounts" are passed as (network, lowercased handle or author id) pairs.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from listener.records import utc_iso, utcnow
from storage.failures import guarded
from storage.rows import AlertDay, DigestRow, DigestWatchDay, NegativeAuthor, NetworkRuns, TopMention

__all__ = [
    "AlertDay",
    "DigestQueries",
    "DigestRow",
    "DigestWatchDay",
    "NegativeAuthor",
    "NetworkRuns",
    "TopMention",
]

_ENGAGEMENT = (
    "coalesce(m.like_count, 0) + coalesce(m.repost_count, 0) + coalesce(m.reply_count, 0) "
    "+ coalesce(m.quote_count, 0)"
)


def _own(alias: str) -> str:
    """SQL true when the mention ``alias`` was posted by one of our own accounts."""
    return (
        f"EXISTS (SELECT 1 FROM json_each(:own) o WHERE json_extract(o.value, '$[0]') = {alias}.network "
        f"AND json_extract(o.value, '$[1]') IN (lower({alias}.author_handle), {alias}.author_id))"
    )


_WATCHES_OF = (
    "(SELECT group_concat(w.name, ', ') FROM mention_watches mw JOIN watches w ON w.id = mw.watch_id "
    "WHERE mw.mention_id = m.id)"
)
_MENTION_COLUMNS = (
    f"m.id, m.network, m.native_id, m.url, m.author_handle, m.text, m.created_at, m.sentiment_label, "
    f"{_ENGAGEMENT}, {_WATCHES_OF}"
)
_ANSWERED = f"""(
    EXISTS (SELECT 1 FROM mentions r WHERE r.network = m.network AND r.in_reply_to_id = m.native_id
            AND {_own("r")})
    OR (m.conversation_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM mentions r WHERE r.network = m.network AND r.conversation_id = m.conversation_id
          AND r.created_at > m.created_at AND {_own("r")}))
)"""


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
        """Counts per watch, day and network; ``buckets`` are [first, end) 5-minute bucket numbers.

        Read from ``watch_buckets`` through its (watch_id, bucket) key, one range per
        watch and day, so the cost does not grow with the history kept.
        """
        rows = self.conn.execute(
            """
            WITH days (i, lo, hi) AS (
              SELECT CAST(key AS INTEGER), json_extract(value, '$[0]'), json_extract(value, '$[1]')
              FROM json_each(:days))
            SELECT w.name, d.i, b.network, sum(b.volume), sum(b.negative), sum(b.unscored)
            FROM watches w CROSS JOIN days d
            JOIN watch_buckets b ON b.watch_id = w.id AND b.bucket >= d.lo AND b.bucket < d.hi
            WHERE :all OR w.name IN (SELECT value FROM json_each(:watches))
            GROUP BY w.name, d.i, b.network
            """,
            {"days": json.dumps(list(buckets)), "watches": json.dumps(list(watches)), "all": not watches},
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

        Counted inside the ``mentions_day`` index alone. One column per network
        rather than GROUP BY network, which would sort every entry of the day.
        """
        per_network = "".join(", count(CASE WHEN network = ? THEN 1 END)" for _ in networks)
        out = []
        for start, end in ranges:
            row = self.conn.execute(
                "SELECT count(*), count(CASE WHEN sentiment_label = 'negative' THEN 1 END), "
                f"count(CASE WHEN sentiment_label IS NULL THEN 1 END){per_network} "
                "FROM mentions WHERE created_at >= ? AND created_at < ?",
                (*networks, utc_iso(start), utc_iso(end)),
            ).fetchone()
            out.append((int(row[0]), int(row[1]), int(row[2]), dict(zip(networks, row[3:], strict=True))))
        return out

    def top_mentions(
        self, start: datetime, end: datetime, own: Sequence[tuple[str, str]], limit: int = 10
    ) -> list[TopMention]:
        """The day's most engaged mentions by others than our own accounts."""
        rows = self.conn.execute(
            f"SELECT {_MENTION_COLUMNS} FROM mentions m "
            f"WHERE m.created_at >= :start AND m.created_at < :end AND NOT {_own('m')} "
            f"ORDER BY {_ENGAGEMENT} DESC, m.created_at DESC, m.id DESC LIMIT :limit",
            {"start": utc_iso(start), "end": utc_iso(end), "own": _pairs(own), "limit": limit},
        )
        return [TopMention(*row) for row in rows]

    def unanswered_negative(
        self, start: datetime, end: datetime, own: Sequence[tuple[str, str]], limit: int = 20
    ) -> tuple[int, list[TopMention]]:
        """The day's negative mentions none of our accounts answered: how many, and the most engaged.

        Answered means an own post replying to it (``in_reply_to_id`` = its native id
        on the same network), or an own post later in the same conversation.
        """
        params = {"start": utc_iso(start), "end": utc_iso(end), "own": _pairs(own), "limit": limit}
        where = (
            "m.sentiment_label = 'negative' AND m.created_at >= :start AND m.created_at < :end "
            f"AND NOT {_own('m')} AND NOT {_ANSWERED}"
        )
        rows = self.conn.execute(
            f"SELECT {_MENTION_COLUMNS}, count(*) OVER () FROM mentions m WHERE {where} "
            f"ORDER BY {_ENGAGEMENT} DESC, m.created_at DESC, m.id DESC LIMIT :limit",
            params,
        ).fetchall()
        total = int(rows[0][-1]) if rows else 0
        return total, [TopMention(*row[:-1]) for row in rows]

    def negative_authors(
        self,
        start: datetime,
        end: datetime,
        own: Sequence[tuple[str, str]],
        at_least: int = 3,
        limit: int = 10,
    ) -> list[NegativeAuthor]:
        """Authors with ``at_least`` negative mentions in the range: possible trolls."""
        rows = self.conn.execute(
            f"""
            SELECT m.network, m.author_handle, count(*) AS n, max(m.created_at), m.url
            FROM mentions m
            WHERE m.sentiment_label = 'negative' AND m.created_at >= :start AND m.created_at < :end
              AND m.author_handle IS NOT NULL AND NOT {_own("m")}
            GROUP BY m.network, m.author_handle HAVING n >= :at_least
            ORDER BY n DESC, m.network, m.author_handle LIMIT :limit
            """,
            {"start": utc_iso(start), "end": utc_iso(end), "own": _pairs(own), "at_least": at_least,
             "limit": limit},
        )  # fmt: skip
        # max() makes SQLite take the bare column m.url from the latest row.
        return [NegativeAuthor(net, handle, n, url) for net, handle, n, _, url in rows]

    def alerts_during(self, start: datetime, end: datetime) -> list[AlertDay]:
        """Incidents going on at some point of [start, end), oldest first.

        One still open but no longer updated by then was abandoned (its watch was
        removed, say): it is left out rather than repeated in every digest.
        """
        rows = self.conn.execute(
            """
            SELECT id, watch, network, kind, severity, state, started_at, resolved_at, observed, expected,
              summary, explanation
            FROM alerts WHERE updated_at >= :start AND started_at < :end
              AND (resolved_at IS NULL OR resolved_at >= :start)
            ORDER BY started_at, id
            """,
            {"start": utc_iso(start), "end": utc_iso(end)},
        )
        return [AlertDay.from_row(row) for row in rows]

    def network_runs(
        self, start: datetime, end: datetime, sources: Sequence[tuple[str, str]] = ()
    ) -> list[NetworkRuns]:
        """Per network, the collector runs started in the range (``sources``: the expected ones).

        Every lookup is a range of ``runs_source`` (network, watch, started_at), walked
        newest first, so a year of runs costs no more than a week.
        """
        params = {"start": utc_iso(start), "end": utc_iso(end), "sources": json.dumps(list(sources))}
        rows = self.conn.execute(
            """
            WITH src (network, watch) AS (
              SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:sources)
              UNION SELECT DISTINCT network, watch FROM runs WHERE json_array_length(:sources) = 0)
            SELECT src.network, count(r.id), count(r.error), coalesce(sum(r.new), 0),
              (SELECT r2.finished_at FROM runs r2 WHERE r2.network = src.network AND r2.watch = src.watch
                 AND r2.started_at < :end AND r2.error IS NULL AND r2.finished_at IS NOT NULL
                 ORDER BY r2.started_at DESC LIMIT 1),
              (SELECT r2.started_at || ' ' || r2.error || ' ' || coalesce(r2.error_message, '') FROM runs r2
                 WHERE r2.network = src.network AND r2.watch = src.watch AND r2.started_at >= :start
                 AND r2.started_at < :end AND r2.error IS NOT NULL ORDER BY r2.started_at DESC LIMIT 1),
              (SELECT r2.started_at FROM runs r2 WHERE r2.network = src.network AND r2.watch = src.watch
                 AND r2.started_at < :end ORDER BY r2.started_at DESC LIMIT 1)
            FROM src LEFT JOIN runs r ON r.network = src.network AND r.watch = src.watch
              AND r.started_at >= :start AND r.started_at < :end
            GROUP BY src.network, src.watch
            """,
            params,
        ).fetchall()
        nets: dict[str, list[Any]] = {}
        for network, runs, failed, new, success, error, last in rows:
            acc = nets.setdefault(network, [0, 0, 0, None, None, None])
            acc[0] += runs
            acc[1] += failed
            acc[2] += new
            acc[3] = max(filter(None, (acc[3], success)), default=None)
            acc[4] = max(filter(None, (acc[4], error)), default=None)  # "started_at slug message"
            acc[5] = max(filter(None, (acc[5], last)), default=None)
        out = []
        for network in sorted(nets):
            runs, failed, new, success, error, last = nets[network]
            _, slug, message = error.split(" ", 2) if error else (None, None, None)
            out.append(NetworkRuns(network, runs, failed, new, success, slug, message or None, last))
        return out

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


def _pairs(own: Sequence[tuple[str, str]]) -> str:
    return json.dumps([[network, name.lower()] for network, name in own])
