"""Authors per network and our own accounts, on PostgreSQL; attached to ``PgStore`` as ``authors``.

``authors`` is kept by the statement triggers of schema 002 (as SQLite's migration 8 keeps it),
so several daemons writing mentions of one author add to it under its row lock and none of
their counts is lost; these reads cost one index range however long the history. Replies
received are counted when asked, as in ``storage.authors``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from listener.records import utc_iso
from storage.authors import author_key_sql, own_pairs, own_sql
from storage.base import dumps
from storage.pg.connection import PgConnection
from storage.rows import AuthorRow

__all__ = ["PgAuthors", "lock_mentions"]

_IS_OWN = (
    "EXISTS (SELECT 1 FROM own_accounts o WHERE o.network = a.network "
    "AND o.handle IN (ltrim(lower(a.handle), '@'), lower(a.author_key)))"
)
_REPLIES = f"""(
    SELECT count(*) FROM mentions p
    JOIN mentions r ON r.network = p.network AND r.in_reply_to_id = p.native_id
    WHERE p.network = a.network AND {author_key_sql("p")} = a.author_key AND {own_sql("r")}
)"""
_COLUMNS = (
    "a.network, a.author_key, a.handle, a.names, a.first_seen, a.last_seen, a.mentions, "
    f"a.negative, a.neutral, a.positive, a.unscored, {_REPLIES}"
)


def lock_mentions(conn: PgConnection, mention_ids: Sequence[int]) -> list[int]:
    """Lock these mentions' authors (in key order), then the mentions (in id order); those still there.

    Every writer that changes what the triggers of schema 002 count takes its locks in this
    order: authors, mentions, watch buckets (``save_page`` inserts, whose trigger locks the
    authors, before it locks the mentions it refreshes). Two daemons then wait, never deadlock.
    """
    conn.execute(
        "SELECT 1 FROM authors WHERE (network, author_key) IN (SELECT network, "
        f"{author_key_sql('m')} FROM mentions m WHERE m.id = ANY(%s)) ORDER BY network, author_key FOR UPDATE",
        (list(mention_ids),),
    )
    rows = conn.execute(
        "SELECT id FROM mentions WHERE id = ANY(%s) ORDER BY id FOR UPDATE", (list(mention_ids),)
    )
    return [int(row[0]) for row in rows]


def _author(row: Any) -> AuthorRow:
    network, key, handle, names, first, last, *counts = row
    return AuthorRow.from_row(
        (network, key, handle, dumps(names), utc_iso(first), utc_iso(last), *(int(n) for n in counts))
    )


class PgAuthors:
    """Reads of ``authors`` and writes of ``own_accounts``."""

    def __init__(self, conn: PgConnection) -> None:
        self.conn = conn

    def set_own_accounts(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Replace the own accounts by ``pairs`` (as ``own_pairs`` cleans them), when they changed.

        Under a table lock: two daemons given a new config at once replace them one after the other.
        """
        clean = own_pairs(pairs)
        if clean != self.own_accounts():
            self._replace(clean)

    def _replace(self, clean: list[tuple[str, str]]) -> None:
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute("LOCK TABLE own_accounts IN SHARE ROW EXCLUSIVE MODE")
            cur.execute("DELETE FROM own_accounts")
            cur.executemany("INSERT INTO own_accounts (network, handle) VALUES (%s, %s)", clean)

    def own_accounts(self) -> list[tuple[str, str]]:
        rows = self.conn.execute("SELECT network, handle FROM own_accounts ORDER BY network, handle")
        return [(str(net), str(handle)) for net, handle in rows]

    def get(self, network: str, author_key: str) -> AuthorRow | None:
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM authors a WHERE a.network = %s AND a.author_key = %s",
            (network, author_key),
        ).fetchone()
        return _author(row) if row else None

    def all(self) -> list[AuthorRow]:
        """Every author, own accounts included (for checks and exports)."""
        rows = self.conn.execute(
            f'SELECT {_COLUMNS} FROM authors a ORDER BY a.network COLLATE "C", a.author_key COLLATE "C"'
        )
        return [_author(row) for row in rows]

    def top(
        self,
        *,
        negative: bool = False,
        network: str | None = None,
        at_least: int = 1,
        since: str | None = None,
        limit: int = 50,
    ) -> list[AuthorRow]:
        """Authors other than our own accounts, most active first (``storage.authors.AuthorTable.top``)."""
        count = "a.negative" if negative else "a.mentions"
        rows = self.conn.execute(
            f"""
            SELECT {_COLUMNS} FROM authors a
            WHERE {count} >= %(at_least)s AND (%(network)s::text IS NULL OR a.network = %(network)s)
              AND (%(since)s::timestamptz IS NULL OR a.last_seen >= %(since)s::timestamptz)
              AND NOT {_IS_OWN}
            ORDER BY {count} DESC, a.last_seen DESC, a.network COLLATE "C", a.author_key COLLATE "C"
            LIMIT %(limit)s
            """,
            {"at_least": max(at_least, 1), "network": network, "since": since, "limit": limit},
        )
        return [_author(row) for row in rows]
