"""Triage: what the user decided about each mention in the inbox, and the history of it (#21).

State is kept per mention (``triage``, migration 23); a story's state is the latest
action among its members, so marking a story marks every member shown. Every action,
reopening included, is appended to ``triage_log``. Both go with their mention when it
is forgotten (a trigger), so a forgotten person's notes go too.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime

from listener.records import utc_iso, utcnow
from storage.failures import guarded
from storage.rows import TriageState

__all__ = ["STATES", "TriageState", "TriageTable", "check_state"]

STATES = ("handled", "ignored", "escalated")


def check_state(state: str | None) -> None:
    """A ``ValueError`` naming an unknown state (None, reopening, is one): for every backend."""
    if state is not None and state not in STATES:
        raise ValueError(f"unknown triage state {state!r}; use one of {', '.join(STATES)}")


@guarded
class TriageTable:
    """``triage`` and ``triage_log``; attached to ``Store`` as ``triage``."""

    def __init__(
        self, conn: sqlite3.Connection, write: Callable[[], AbstractContextManager[sqlite3.Connection]]
    ) -> None:
        self.conn = conn
        self._write = write

    def set(
        self,
        mention_ids: Sequence[int],
        state: str | None,
        note: str | None = None,
        now: datetime | None = None,
    ) -> int:
        """Give the mentions ``state`` (None reopens them) with ``note``; how many exist.

        Mentions that are not (or no longer) kept are skipped. A ``ValueError`` names
        an unknown state.
        """
        check_state(state)
        stamp = utc_iso(now or utcnow())
        with self._write() as conn:
            ids = [row[0] for row in conn.execute(
                "SELECT m.id FROM json_each(?) i JOIN mentions m ON m.id = i.value",
                (json.dumps(sorted({int(i) for i in mention_ids})),),
            )]  # fmt: skip
            if state is None:
                conn.executemany("DELETE FROM triage WHERE mention_id = ?", [(i,) for i in ids])
            else:
                conn.executemany(
                    "INSERT INTO triage (mention_id, state, note, updated_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (mention_id) DO UPDATE SET state = excluded.state, note = excluded.note, "
                    "updated_at = excluded.updated_at",
                    [(i, state, note, stamp) for i in ids],
                )
            conn.executemany(
                "INSERT INTO triage_log (mention_id, state, note, at) VALUES (?, ?, ?, ?)",
                [(i, state or "open", note, stamp) for i in ids],
            )
        return len(ids)

    def states(self, mention_ids: Iterable[int]) -> dict[int, TriageState]:
        """The state of each mention among ``mention_ids`` that has one."""
        rows = self.conn.execute(
            "SELECT t.mention_id, t.state, t.note, t.updated_at FROM json_each(?) i "
            "JOIN triage t ON t.mention_id = i.value",
            (json.dumps(sorted({int(i) for i in mention_ids})),),
        )
        return {row[0]: TriageState(*row) for row in rows}

    def log(self, mention_ids: Iterable[int]) -> list[tuple[int, str, str | None, str]]:
        """Every action on the mentions, oldest first: (mention id, state or 'open', note, at)."""
        rows = self.conn.execute(
            "SELECT l.mention_id, l.state, l.note, l.at FROM json_each(?) i "
            "JOIN triage_log l ON l.mention_id = i.value ORDER BY l.at, l.id",
            (json.dumps(sorted({int(i) for i in mention_ids})),),
        )
        return [(int(m), str(s), n, str(a)) for m, s, n, a in rows]
