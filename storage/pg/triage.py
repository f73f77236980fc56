"""Triage on PostgreSQL: what people decided about each mention in the inbox, and the log of it.

The twin of ``storage.triage.TriageTable``. Both tables go with their mention by
``ON DELETE CASCADE`` (006.sql). Two people marking the same mention at once both land:
the state is an upsert, the log an append, and the last writer's state stays.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from listener.records import utc_iso, utcnow
from storage.pg.connection import PgConnection
from storage.rows import TriageState
from storage.triage import check_state

__all__ = ["PgTriage", "triage_states"]


def triage_states(conn: PgConnection, mention_ids: Iterable[int]) -> dict[int, TriageState]:
    """The state of each mention among ``mention_ids`` that has one (the stories read it too)."""
    rows = conn.execute(
        "SELECT mention_id, state, note, updated_at FROM triage WHERE mention_id = ANY(%s)",
        (sorted({int(i) for i in mention_ids}),),
    )
    return {int(m): TriageState(int(m), str(s), n, utc_iso(at)) for m, s, n, at in rows}


class PgTriage:
    """``triage`` and ``triage_log``; attached to ``PgStore`` as ``triage``."""

    def __init__(self, conn: PgConnection) -> None:
        self.conn = conn

    def set(
        self,
        mention_ids: Sequence[int],
        state: str | None,
        note: str | None = None,
        now: datetime | None = None,
    ) -> int:
        """Give the mentions ``state`` (None reopens them) with ``note``; how many exist.

        Mentions not kept are skipped. The kept ones are locked (``FOR KEY SHARE``, in id
        order) so that a forget running meanwhile waits rather than failing our insert.
        """
        check_state(state)
        stamp = utc_iso(now or utcnow())
        with self.conn.transaction(), self.conn.cursor() as cur:
            ids = [int(row[0]) for row in cur.execute(
                "SELECT id FROM mentions WHERE id = ANY(%s) ORDER BY id FOR KEY SHARE",
                (sorted({int(i) for i in mention_ids}),),
            )]  # fmt: skip
            if state is None:
                cur.execute("DELETE FROM triage WHERE mention_id = ANY(%s)", (ids,))
            else:
                cur.executemany(
                    "INSERT INTO triage (mention_id, state, note, updated_at) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (mention_id) DO UPDATE SET state = excluded.state, note = excluded.note, "
                    "updated_at = excluded.updated_at",
                    [(i, state, note, stamp) for i in ids],
                )
            cur.executemany(
                "INSERT INTO triage_log (mention_id, state, note, at) VALUES (%s, %s, %s, %s)",
                [(i, state or "open", note, stamp) for i in ids],
            )
        return len(ids)

    def states(self, mention_ids: Iterable[int]) -> dict[int, TriageState]:
        """The state of each mention among ``mention_ids`` that has one."""
        return triage_states(self.conn, mention_ids)

    def log(self, mention_ids: Iterable[int]) -> list[tuple[int, str, str | None, str]]:
        """Every action on the mentions, oldest first: (mention id, state or 'open', note, at)."""
        rows = self.conn.execute(
            "SELECT mention_id, state, note, at FROM triage_log WHERE mention_id = ANY(%s) ORDER BY at, id",
            (sorted({int(i) for i in mention_ids}),),
        )
        return [(int(m), str(s), n, utc_iso(a)) for m, s, n, a in rows]
