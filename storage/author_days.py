"""A few authors' negative days, to tell a troll from a customer (#21).

A troll is negative day after day; a customer in a crisis is negative many times on one
day. So the question is on how many distinct local days an author was negative lately,
asked of the few authors a list shows, never of every author: each is read through
``mentions_author_key`` (their own mentions, in time order) and the ``authors`` totals
(kept by triggers). A handle is first turned into the author keys it was posted under
(an author id, where the network gives one) from the mentions since ``since``, through the
handle column of the full-text index, from the first block of ids that can hold them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from listener.records import utc_iso
from storage.authors import author_key_sql
from storage.day_parts import MAX_ID
from storage.rows import AuthorHistory
from storage.search import BLOCK_BITS, handle_fts

__all__ = ["AuthorDays", "AuthorHistory", "author_history", "first_id", "history"]


def first_id(conn: sqlite3.Connection, since: str) -> int:
    """The first mention id that can have been created at ``since`` or later (``search_blocks``)."""
    (block,) = conn.execute("SELECT min(block) FROM search_blocks WHERE latest >= ?", (since,)).fetchone()
    return MAX_ID if block is None else int(block) << BLOCK_BITS


def author_history(
    conn: sqlite3.Connection, keys: Sequence[tuple[str, str]], since: datetime, zone: str
) -> dict[tuple[str, str], AuthorHistory]:
    """The negative history of each (network, handle as stored, or author id), keyed as asked.

    ``mentions``, ``negative`` and ``first_seen`` are all time (``authors``); ``first_negative``
    is the earliest negative kept; ``negative_days`` counts the local days (``zone``) with a
    negative since ``since``. An author asked by handle with no mention since ``since`` is
    left out, as is one with no mention kept.
    """
    tz = ZoneInfo(zone)
    out: dict[tuple[str, str], AuthorHistory] = {}
    for network, name in dict.fromkeys(keys):
        authors = _author_keys(conn, network, name, utc_iso(since))
        if authors:
            out[(network, name)] = history(_SqliteDays(conn), network, name, authors, utc_iso(since), tz)
    return out


def _author_keys(conn: sqlite3.Connection, network: str, name: str, since: str) -> list[str]:
    """The author keys (``author_key_sql``) of ``name``: itself if it is one, else by handle."""
    if conn.execute("SELECT 1 FROM authors WHERE network = ? AND author_key = ?", (network, name)).fetchone():
        return [name]
    match = handle_fts(name.lower())
    if match is None:
        return []
    rows = conn.execute(
        f"SELECT DISTINCT {author_key_sql('m')} FROM mentions m WHERE m.id IN (SELECT rowid FROM mentions_fts "
        "WHERE mentions_fts MATCH ? AND rowid >= ?) AND +m.network = ? AND lower(m.author_handle) = ? "
        "AND +m.created_at >= ?",
        (match, first_id(conn, since), network, name.lower(), since),
    )
    return sorted(row[0] for row in rows if row[0] is not None)


class AuthorDays(Protocol):
    """What ``history`` reads of one author key's mentions; each backend answers it through its indexes."""

    def totals(self, network: str, key: str) -> tuple[int, int, str] | None:
        """(mentions, negative, first seen) of all time, None for an author with no mention kept."""
        ...

    def first_negative(self, network: str, key: str) -> str | None: ...

    def next_negative(self, network: str, key: str, after: str) -> str | None:
        """The created_at of the author's first negative mention at ``after`` or later."""
        ...

    def last_negative(self, network: str, key: str) -> tuple[str, str | None] | None:
        """(created_at, url) of the author's latest negative mention."""
        ...


def _negative_days(days_of: AuthorDays, network: str, key: str, since: str, tz: ZoneInfo) -> set[str]:
    """The local days with a negative mention since ``since``: one probe per such day.

    Each probe reads the author's mentions in time order up to the next negative one, then
    jumps to the next local midnight: a troll with a hundred negative posts a day costs a
    probe a day, not a hundred rows (at 10M mentions the row-per-mention read took half
    the digest's time).
    """
    days: set[str] = set()
    after = since
    while (found := days_of.next_negative(network, key, after)) is not None:
        day = datetime.fromisoformat(found).astimezone(tz).date()
        days.add(day.isoformat())
        after = utc_iso(datetime.combine(day + timedelta(days=1), time(0), tz))
    return days


def history(
    days_of: AuthorDays, network: str, name: str, authors: list[str], since: str, tz: ZoneInfo
) -> AuthorHistory:
    """The history of ``name`` (asked as such) from its author keys ``authors``, for every backend."""
    mentions = negative = 0
    first_seen: str | None = None
    first_negative: str | None = None
    days: set[str] = set()
    latest: tuple[str, str | None] | None = None  # (created_at, url) of the latest negative
    for key in authors:
        totals = days_of.totals(network, key)
        if totals is not None:
            mentions, negative = mentions + totals[0], negative + totals[1]
            first_seen = min(filter(None, (first_seen, totals[2])), default=None)
        first_negative = min(
            filter(None, (first_negative, days_of.first_negative(network, key))), default=None
        )
        days |= _negative_days(days_of, network, key, since, tz)
        latest = max(
            filter(None, (latest, days_of.last_negative(network, key))), key=lambda x: x[0], default=None
        )
    return AuthorHistory(network, name, mentions, negative, len(days), first_seen or "", first_negative,
                         latest[1] if latest else None)  # fmt: skip


# In the index's order, stopping at the first negative: not every mention of the author.
_BY_KEY = (
    f"FROM mentions m INDEXED BY mentions_author_key WHERE m.network = ? AND {author_key_sql('m')} = ? "
    "AND m.sentiment_label = 'negative'"
)


class _SqliteDays:
    """``AuthorDays`` through ``mentions_author_key`` and the ``authors`` totals (kept by triggers)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def totals(self, network: str, key: str) -> tuple[int, int, str] | None:
        row = self.conn.execute(
            "SELECT mentions, negative, first_seen FROM authors WHERE network = ? AND author_key = ?",
            (network, key),
        ).fetchone()
        return None if row is None else (int(row[0]), int(row[1]), str(row[2]))

    def first_negative(self, network: str, key: str) -> str | None:
        row = self.conn.execute(
            f"SELECT m.created_at {_BY_KEY} ORDER BY m.created_at LIMIT 1", (network, key)
        )
        found = row.fetchone()
        return str(found[0]) if found else None

    def next_negative(self, network: str, key: str, after: str) -> str | None:
        row = self.conn.execute(
            f"SELECT m.created_at {_BY_KEY} AND m.created_at >= ? ORDER BY m.created_at LIMIT 1",
            (network, key, after),
        ).fetchone()
        return str(row[0]) if row else None

    def last_negative(self, network: str, key: str) -> tuple[str, str | None] | None:
        row = self.conn.execute(
            f"SELECT m.created_at, m.url {_BY_KEY} ORDER BY m.created_at DESC LIMIT 1", (network, key)
        ).fetchone()
        return (str(row[0]), row[1]) if row else None
