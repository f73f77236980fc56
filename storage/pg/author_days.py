"""A few authors' negative days on PostgreSQL, to tell a troll from a customer (#21, #22).

``storage.author_days`` holds the logic (a probe per negative local day); here are its reads,
all through ``mentions_author_key`` (an author's mentions in time order). SQLite reads the
all-time totals from ``authors`` (kept by its triggers); here they are counted from the
author's mentions, the few authors a list shows: the same numbers, since SQLite's row goes
when the author's last mention does. A handle is turned into its author keys through
``mentions_handle_key``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from listener.records import utc_iso
from listener.tokens import handle_key
from storage.author_days import history
from storage.pg.connection import PgConnection
from storage.rows import AuthorHistory
from storage.search import handle_fts

__all__ = ["author_history"]

_KEY = "coalesce(nullif(m.author_id, ''), nullif(m.author_handle, ''))"  # mentions_author_key's expression
_BY_KEY = f"FROM mentions m WHERE m.network = %s AND {_KEY} = %s AND m.sentiment_label = 'negative'"
_LOWER = 'lower(m.author_handle COLLATE "C")'  # ASCII only, as SQLite's lower()


def author_history(
    conn: PgConnection, keys: Sequence[tuple[str, str]], since: datetime, zone: str
) -> dict[tuple[str, str], AuthorHistory]:
    """The negative history of each (network, handle as stored, or author id), keyed as asked
    (``storage.author_days.author_history``)."""
    tz = ZoneInfo(zone)
    days = _PgDays(conn)
    out: dict[tuple[str, str], AuthorHistory] = {}
    for network, name in dict.fromkeys(keys):
        authors = _author_keys(conn, network, name, utc_iso(since))
        if authors:
            out[(network, name)] = history(days, network, name, authors, utc_iso(since), tz)
    return out


def _author_keys(conn: PgConnection, network: str, name: str, since: str) -> list[str]:
    """The author keys of ``name``: itself if it is one, else those its handle posted under since ``since``.

    A handle without words finds nothing, as SQLite's full-text lookup of it does.
    """
    if conn.execute(
        f"SELECT 1 FROM mentions m WHERE m.network = %s AND {_KEY} = %s LIMIT 1", (network, name)
    ).fetchone():
        return [name]
    if handle_fts(name.lower()) is None:
        return []
    rows = conn.execute(
        f"SELECT DISTINCT {_KEY} FROM mentions m WHERE m.network = %s AND m.author_handle_key = %s "
        f"AND {_LOWER} = %s AND m.created_at >= %s",
        (network, handle_key(name.lower()), name.lower(), since),
    )
    return sorted(str(row[0]) for row in rows if row[0] is not None)


class _PgDays:
    """``storage.author_days.AuthorDays`` through ``mentions_author_key``."""

    def __init__(self, conn: PgConnection) -> None:
        self.conn = conn

    def totals(self, network: str, key: str) -> tuple[int, int, str] | None:
        row = self.conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE m.sentiment_label = 'negative'), min(m.created_at) "
            f"FROM mentions m WHERE m.network = %s AND {_KEY} = %s",
            (network, key),
        ).fetchone()
        return None if row is None or not row[0] else (int(row[0]), int(row[1]), utc_iso(row[2]))

    def first_negative(self, network: str, key: str) -> str | None:
        return self._one(f"SELECT m.created_at {_BY_KEY} ORDER BY m.created_at LIMIT 1", (network, key))

    def next_negative(self, network: str, key: str, after: str) -> str | None:
        return self._one(
            f"SELECT m.created_at {_BY_KEY} AND m.created_at >= %s ORDER BY m.created_at LIMIT 1",
            (network, key, after),
        )

    def last_negative(self, network: str, key: str) -> tuple[str, str | None] | None:
        row = self.conn.execute(
            f"SELECT m.created_at, m.url {_BY_KEY} ORDER BY m.created_at DESC LIMIT 1", (network, key)
        ).fetchone()
        return (utc_iso(row[0]), row[1]) if row else None

    def _one(self, sql: str, params: tuple[str, ...]) -> str | None:
        row = self.conn.execute(sql, params).fetchone()
        return utc_iso(row[0]) if row else None
