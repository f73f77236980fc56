"""Alerts and their delivery outbox.

An alert row is one incident. Each message to send is a ``deliveries`` row
written in the same transaction as the alert change that caused it, so a crash
or a failing channel can delay a message but never lose it; every try is kept
in ``delivery_attempts``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime

from listener.records import SEVERITY_RANK, AlertChange, utc_iso, utcnow
from storage.failures import guarded
from storage.rows import ALERT_COLUMNS, AlertRow, PendingDelivery

__all__ = ["AlertRow", "AlertTable", "PendingDelivery", "alert_event", "next_state"]

_STATES = {"opened": "open", "updated": "updated", "resolved": "resolved"}


@guarded
class AlertTable:
    """Reads and writes of ``alerts``, ``deliveries`` and ``delivery_attempts``."""

    def __init__(
        self, conn: sqlite3.Connection, write: Callable[[], AbstractContextManager[sqlite3.Connection]]
    ):
        self.conn = conn
        self._write = write

    def record(
        self, change: AlertChange, channels: Sequence[str], due_at: datetime | None = None
    ) -> tuple[AlertRow, bool]:
        """Store an incident change; queue one message per channel if it is news.

        News is an opened incident, a rise in severity, or the resolution of an
        incident that was announced. Returns the alert and whether it was news.
        """
        stamp = utc_iso(change.at)
        started = utc_iso(change.started_at)
        key = (change.watch, change.network, change.kind, started)
        with self._write() as conn:
            old = conn.execute(
                f"SELECT {ALERT_COLUMNS} FROM alerts WHERE watch = ? AND network = ? AND kind = ? AND started_at = ?",
                key,
            ).fetchone()
            before = AlertRow.from_row(old) if old else None
            severity, state = next_state(before, change)
            conn.execute(
                "INSERT INTO alerts (watch, network, kind, severity, state, started_at, updated_at, resolved_at, "
                "observed, expected, summary, explanation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (watch, network, kind, started_at) DO UPDATE SET severity = excluded.severity, "
                "state = excluded.state, updated_at = excluded.updated_at, resolved_at = excluded.resolved_at, "
                "observed = max(coalesce(alerts.observed, 0), excluded.observed), expected = excluded.expected, "
                "summary = CASE WHEN excluded.resolved_at IS NULL THEN excluded.summary ELSE alerts.summary END, "
                "explanation = CASE WHEN excluded.resolved_at IS NULL THEN excluded.explanation "
                "ELSE alerts.explanation END",
                (*key[:3], severity, state, started, stamp, stamp if state == "resolved" else None,
                 change.observed, change.expected, change.summary,
                 json.dumps(dict(change.explanation), ensure_ascii=False, default=str)),
            )  # fmt: skip
            row = AlertRow.from_row(
                conn.execute(
                    f"SELECT {ALERT_COLUMNS} FROM alerts WHERE watch = ? AND network = ? AND kind = ? AND started_at = ?",
                    key,
                ).fetchone()
            )
            news = alert_event(before, row)
            if news:
                conn.executemany(
                    "INSERT INTO deliveries (alert_id, channel, event, created_at, due_at) VALUES (?, ?, ?, ?, ?)",
                    [(row.id, channel, news, stamp, utc_iso(due_at or change.at)) for channel in channels],
                )
        return row, news is not None

    def pending(self, now: datetime | None = None, limit: int = 100) -> list[PendingDelivery]:
        """Messages due now, oldest first."""
        rows = self.conn.execute(
            f"SELECT d.id, d.channel, d.event, d.attempts, {', '.join('a.' + c for c in ALERT_COLUMNS.split(', '))} "
            "FROM deliveries d JOIN alerts a ON a.id = d.alert_id "
            "WHERE d.delivered_at IS NULL AND d.due_at <= ? ORDER BY d.due_at, d.id LIMIT ?",
            (utc_iso(now or utcnow()), limit),
        )
        return [PendingDelivery(row[0], row[1], row[2], row[3], AlertRow.from_row(row[4:])) for row in rows]

    def attempted(
        self, delivery_id: int, error: str | None, retry_at: datetime | None, now: datetime | None = None
    ) -> None:
        """Record one try: delivered when ``error`` is None, else due again at ``retry_at``."""
        stamp = utc_iso(now or utcnow())
        with self._write() as conn:
            conn.execute(
                "INSERT INTO delivery_attempts (delivery_id, attempted_at, ok, error) VALUES (?, ?, ?, ?)",
                (delivery_id, stamp, int(error is None), error),
            )
            conn.execute(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = ?, "
                "delivered_at = CASE WHEN ? IS NULL THEN ? END, due_at = coalesce(?, due_at) WHERE id = ?",
                (error, error, stamp, utc_iso(retry_at) if retry_at else None, delivery_id),
            )

    def list(
        self,
        since: datetime | None = None,
        state: str | None = None,
        limit: int = 50,
        unresolved: bool = False,
    ) -> list[AlertRow]:
        """Alerts, newest incident first; ``unresolved`` gives every one still going, whatever its age."""
        clauses, params = ["1"], []
        if unresolved:
            clauses.append("state <> 'resolved'")
            limit = -1
        if since:
            clauses.append("updated_at >= ?")
            params.append(utc_iso(since))
        if state:
            clauses.append("state = ?")
            params.append(state)
        rows = self.conn.execute(
            f"SELECT {ALERT_COLUMNS} FROM alerts WHERE {' AND '.join(clauses)} ORDER BY started_at DESC, id DESC LIMIT ?",
            (*params, limit),
        )
        return [AlertRow.from_row(row) for row in rows]

    def acknowledge(self, alert_id: int, now: datetime | None = None) -> bool:
        """Mark an alert as seen; later growth of the incident stays quiet unless severity rises."""
        with self._write() as conn:
            changed = conn.execute(
                "UPDATE alerts SET state = 'acknowledged', acknowledged_at = ? WHERE id = ? AND state <> 'resolved'",
                (utc_iso(now or utcnow()), alert_id),
            ).rowcount
        return bool(changed)


def next_state(before: AlertRow | None, change: AlertChange) -> tuple[str, str]:
    """(severity, state) of an incident after ``change``: severity never drops, and an
    acknowledged incident stays acknowledged until it resolves."""
    severity = change.severity
    if before and SEVERITY_RANK[before.severity] > SEVERITY_RANK[severity]:
        severity = before.severity
    state = _STATES[change.state]
    if before and before.state == "acknowledged" and state != "resolved":
        state = "acknowledged"
    return severity, state


def alert_event(before: AlertRow | None, after: AlertRow) -> str | None:
    """The news an incident change makes (a delivery event), or None when nobody is told."""
    if before is None:
        return "opened"
    if after.state == "resolved" and before.state != "resolved":
        return "resolved"
    if SEVERITY_RANK[after.severity] > SEVERITY_RANK[before.severity]:
        return "updated"
    return None
