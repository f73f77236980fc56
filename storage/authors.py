"""Authors per network, and the user's own accounts.

The ``authors`` table is kept by triggers on ``mentions`` (migration 8), so these
reads cost one index range however long the history. "Replies received" (how many
times one of our own accounts answered an author) is counted when asked: own
replies are few, the reply index finds them, and the answer stays right when the
configured own accounts change.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager

from storage.failures import guarded
from storage.rows import AuthorRow

__all__ = ["AuthorRow", "AuthorTable", "author_key_sql", "own_pairs", "own_sql"]


def author_key_sql(alias: str) -> str:
    """The author key of mention ``alias``: the expression ``mentions_author_key`` indexes."""
    return f"coalesce(nullif({alias}.author_id, ''), nullif({alias}.author_handle, ''))"


def own_pairs(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The own accounts as ``own_accounts`` keeps them: handles lowercased, without ``@``, sorted, once."""
    return sorted({(net, name.strip().lstrip("@").lower()) for net, name in pairs if name.strip("@ ")})


def own_sql(alias: str) -> str:
    """SQL true when mention ``alias`` was posted by one of the ``own_accounts``."""
    return (
        f"EXISTS (SELECT 1 FROM own_accounts o WHERE o.network = {alias}.network "
        f"AND o.handle IN (ltrim(lower({alias}.author_handle), '@'), lower({alias}.author_id)))"
    )


_REPLIES = f"""(
    SELECT count(*) FROM mentions p
    JOIN mentions r ON r.network = p.network AND r.in_reply_to_id = p.native_id
    WHERE p.network = a.network AND {author_key_sql("p")} = +a.author_key AND {own_sql("r")}
)"""
_IS_OWN = (
    "EXISTS (SELECT 1 FROM own_accounts o WHERE o.network = a.network "
    "AND o.handle IN (ltrim(lower(a.handle), '@'), lower(a.author_key)))"
)
_COLUMNS = (
    "a.network, a.author_key, a.handle, a.names, a.first_seen, a.last_seen, a.mentions, "
    f"a.negative, a.neutral, a.positive, a.unscored, {_REPLIES}"
)


@guarded
class AuthorTable:
    """Reads of ``authors`` and writes of ``own_accounts``; attached to ``Store`` as ``authors``."""

    def __init__(
        self, conn: sqlite3.Connection, write: Callable[[], AbstractContextManager[sqlite3.Connection]]
    ) -> None:
        self.conn = conn
        self._write = write

    def set_own_accounts(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Make ``own_accounts`` hold exactly these (network, handle or author id) pairs.

        Handles are compared lowercased and without a leading ``@``, as the config gives them.
        """
        clean = own_pairs(pairs)
        if clean == self.own_accounts():
            return  # each cycle asks; only a changed config writes
        with self._write() as conn:
            conn.execute("DELETE FROM own_accounts")
            conn.executemany("INSERT INTO own_accounts (network, handle) VALUES (?, ?)", clean)

    def own_accounts(self) -> list[tuple[str, str]]:
        return list(self.conn.execute("SELECT network, handle FROM own_accounts ORDER BY network, handle"))

    def get(self, network: str, author_key: str) -> AuthorRow | None:
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM authors a WHERE a.network = ? AND a.author_key = ?",
            (network, author_key),
        ).fetchone()
        return AuthorRow.from_row(row) if row else None

    def all(self) -> list[AuthorRow]:
        """Every author, own accounts included (for checks and exports)."""
        rows = self.conn.execute(f"SELECT {_COLUMNS} FROM authors a ORDER BY a.network, a.author_key")
        return [AuthorRow.from_row(row) for row in rows]

    def top(
        self,
        *,
        negative: bool = False,
        network: str | None = None,
        at_least: int = 1,
        since: str | None = None,
        limit: int = 50,
    ) -> list[AuthorRow]:
        """Authors other than our own accounts, most active first.

        With ``negative``, repeat-negative authors: at least ``at_least`` negative
        mentions, most negative first. ``since`` (ISO, UTC) keeps authors last seen then or later.
        """
        count = "a.negative" if negative else "a.mentions"
        rows = self.conn.execute(
            f"""
            SELECT {_COLUMNS} FROM authors a
            WHERE {count} >= :at_least AND (:network IS NULL OR a.network = :network)
              AND (:since IS NULL OR a.last_seen >= :since) AND NOT {_IS_OWN}
            ORDER BY {count} DESC, a.last_seen DESC, a.network, a.author_key LIMIT :limit
            """,
            {"at_least": max(at_least, 1), "network": network, "since": since, "limit": limit},
        )
        return [AuthorRow.from_row(row) for row in rows]
