"""Alerts and their delivery outbox on PostgreSQL, for several daemons at once.

As in SQLite (``storage.alerts``), a message is a ``deliveries`` row written in the same
transaction as the alert change that caused it. What several daemons add: two of them
recording the same incident change take turns (a transaction lock on the incident's key), so
its news is queued once; and ``pending`` claims what it returns for this store, so that two
daemons never send the same message. A claim lasts ``CLAIM`` and each try of the store that
holds it renews its others, so a long batch keeps them; a killed daemon's claims lapse and
another one sends them then. The store that claimed a message gets it again from ``pending``
until it records a try, as SQLite's ``pending`` would.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from listener.records import AlertChange, utc_iso, utcnow
from storage.alerts import alert_event, next_state
from storage.base import dumps
from storage.pg.connection import PgConnection
from storage.rows import ALERT_COLUMNS, AlertRow, PendingDelivery

__all__ = ["ALERT_SELECT", "CLAIM", "PgAlerts", "alert_row", "iso"]

CLAIM = timedelta(minutes=10)  # a claimed message waits this long after its daemon died

# ALERT_COLUMNS with the explanation as its JSON text (``AlertRow.from_row`` reads it so).
ALERT_SELECT = ALERT_COLUMNS.replace("explanation", "explanation::text")
_KEY = "watch = %s AND network = %s AND kind = %s AND started_at = %s"
_LOCK_CLASS = 0x616C  # "al": the class of the incidents' transaction locks (two-key advisory locks)


def iso(value: datetime | None) -> str | None:
    """A ``timestamptz`` as the UTC ISO-8601 text SQLite stores and the records carry."""
    return utc_iso(value) if value is not None else None


def alert_row(row: Sequence[Any]) -> AlertRow:
    """An alert from the columns of ``ALERT_SELECT``, times as SQLite returns them."""
    values = list(row)
    values[6:10] = [iso(v) for v in values[6:10]]
    return AlertRow.from_row(values)


class PgAlerts:
    """Reads and writes of ``alerts``, ``deliveries`` and ``delivery_attempts``; ``PgStore.alerts``."""

    def __init__(self, conn: PgConnection) -> None:
        self.conn = conn
        self.claimant = uuid.uuid4().hex  # this store's claims on deliveries

    def record(
        self, change: AlertChange, channels: Sequence[str], due_at: datetime | None = None
    ) -> tuple[AlertRow, bool]:
        """Store an incident change; queue one message per channel if it is news (``AlertTable.record``)."""
        stamp = utc_iso(change.at)
        started = utc_iso(change.started_at)
        key = (change.watch, change.network, change.kind, started)
        with self.conn.transaction():
            self.conn.execute(
                "SELECT pg_advisory_xact_lock(%s::int, hashtext(%s))", (_LOCK_CLASS, "\n".join(key))
            )
            old = self.conn.execute(f"SELECT {ALERT_SELECT} FROM alerts WHERE {_KEY}", key).fetchone()
            before = alert_row(old) if old else None
            severity, state = next_state(before, change)
            self.conn.execute(
                "INSERT INTO alerts (watch, network, kind, severity, state, started_at, updated_at, resolved_at, "
                "observed, expected, summary, explanation) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (watch, network, kind, started_at) DO UPDATE SET severity = excluded.severity, "
                "state = excluded.state, updated_at = excluded.updated_at, resolved_at = excluded.resolved_at, "
                "observed = CASE WHEN excluded.observed IS NOT NULL "  # SQLite's max() is NULL with a NULL
                "THEN greatest(coalesce(alerts.observed, 0), excluded.observed) END, expected = excluded.expected, "
                "summary = CASE WHEN excluded.resolved_at IS NULL THEN excluded.summary ELSE alerts.summary END, "
                "explanation = CASE WHEN excluded.resolved_at IS NULL THEN excluded.explanation "
                "ELSE alerts.explanation END",
                (*key[:3], severity, state, started, stamp, stamp if state == "resolved" else None,
                 change.observed, change.expected, change.summary, dumps(dict(change.explanation))),
            )  # fmt: skip
            after = self.conn.execute(f"SELECT {ALERT_SELECT} FROM alerts WHERE {_KEY}", key).fetchone()
            row = alert_row(after or ())
            news = alert_event(before, row)
            if news:
                with self.conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO deliveries (alert_id, channel, event, created_at, due_at) "
                        "VALUES (%s, %s, %s, %s, %s)",
                        [
                            (row.id, channel, news, stamp, utc_iso(due_at or change.at))
                            for channel in channels
                        ],
                    )
        return row, news is not None

    def pending(self, now: datetime | None = None, limit: int = 100) -> list[PendingDelivery]:
        """Messages due now, oldest first, claimed for this store: no other one gets them meanwhile.

        Rows another daemon is claiming at this moment are skipped (``SKIP LOCKED``), not waited for.
        """
        moment = now or utcnow()
        alert = ", ".join("a." + c for c in ALERT_SELECT.split(", "))
        rows = self.conn.execute(
            f"""
            WITH due AS (
              SELECT id FROM deliveries
              WHERE delivered_at IS NULL AND due_at <= %(now)s
                AND (claimed_until IS NULL OR claimed_until <= %(now)s OR claimed_by = %(me)s)
              ORDER BY due_at, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED),
            claimed AS (
              UPDATE deliveries d SET claimed_by = %(me)s, claimed_until = %(until)s FROM due WHERE d.id = due.id
              RETURNING d.id, d.channel, d.event, d.attempts, d.alert_id, d.due_at)
            SELECT c.id, c.channel, c.event, c.attempts, {alert}
            FROM claimed c JOIN alerts a ON a.id = c.alert_id ORDER BY c.due_at, c.id
            """,
            {"now": utc_iso(moment), "me": self.claimant, "until": utc_iso(moment + CLAIM), "limit": limit},
        ).fetchall()
        return [PendingDelivery(row[0], row[1], row[2], row[3], alert_row(row[4:])) for row in rows]

    def attempted(
        self, delivery_id: int, error: str | None, retry_at: datetime | None, now: datetime | None = None
    ) -> None:
        """Record one try: delivered when ``error`` is None, else due again at ``retry_at``.

        The try releases this message's claim and renews the store's others (the rest of its batch).
        """
        moment = now or utcnow()
        stamp = utc_iso(moment)
        with self.conn.transaction():
            self.conn.execute(
                "INSERT INTO delivery_attempts (delivery_id, attempted_at, ok, error) VALUES (%s, %s, %s, %s)",
                (delivery_id, stamp, error is None, error),
            )
            self.conn.execute(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = %(error)s, "
                "delivered_at = CASE WHEN %(error)s::text IS NULL THEN %(now)s::timestamptz END, "
                "due_at = coalesce(%(retry)s, due_at), claimed_by = NULL, claimed_until = NULL WHERE id = %(id)s",
                {"error": error, "now": stamp, "retry": iso(retry_at), "id": delivery_id},
            )
            self.conn.execute(
                "UPDATE deliveries SET claimed_until = %s WHERE claimed_by = %s AND delivered_at IS NULL",
                (utc_iso(moment + CLAIM), self.claimant),
            )

    def list(
        self,
        since: datetime | None = None,
        state: str | None = None,
        limit: int = 50,
        unresolved: bool = False,
    ) -> list[AlertRow]:
        """Alerts, newest incident first; ``unresolved`` gives every one still going, whatever its age."""
        rows = self.conn.execute(
            f"SELECT {ALERT_SELECT} FROM alerts "
            "WHERE (NOT %(unresolved)s OR state <> 'resolved') "
            "AND (%(since)s::timestamptz IS NULL OR updated_at >= %(since)s) "
            "AND (%(state)s::text IS NULL OR state = %(state)s) "
            "ORDER BY started_at DESC, id DESC LIMIT %(limit)s",
            {
                "unresolved": unresolved,
                "since": iso(since),
                "state": state,
                "limit": None if unresolved else limit,
            },
        ).fetchall()
        return [alert_row(row) for row in rows]

    def acknowledge(self, alert_id: int, now: datetime | None = None) -> bool:
        """Mark an alert as seen; later growth of the incident stays quiet unless severity rises."""
        with self.conn.transaction():
            cur = self.conn.execute(
                "UPDATE alerts SET state = 'acknowledged', acknowledged_at = %s WHERE id = %s AND state <> 'resolved'",
                (utc_iso(now or utcnow()), alert_id),
            )
        return cur.rowcount > 0
