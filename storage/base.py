"""What the halves of ``Store`` share: one SQLite connection and its write transactions.

``Store`` is composed of one class per concern (``MentionMethods``,
``WatchRunMethods``); each reads ``conn`` and writes inside ``_write``, which
lives here once so that the concerns cannot drift apart on how a transaction
begins, fails or ends.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from storage.failures import storage_error

__all__ = ["SQLiteBase", "chunks", "dumps"]

CHUNK = 500  # well under SQLite's limit on bound parameters
T = TypeVar("T")


def dumps(value: Any) -> str:
    """JSON as the database keeps it: compact, UTF-8 as is, anything else as ``str``."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    """``items`` in slices small enough to bind as ``IN (?, ?, ...)`` parameters."""
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


class SQLiteBase:
    """A connection in autocommit mode (see ``storage.connection``) and the file it opened."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it lands, or none of it."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path) from exc
        try:
            yield self.conn
        except BaseException:
            if self.conn.in_transaction:  # SQLite may have rolled back already (a full disk)
                self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")
