"""The one door to the database: every read and write of listener goes through ``Store``.

The rest of the code never writes SQL; it calls these typed methods. ``Store``
is the SQLite backend of ``storage.interfaces.ListenerStore``: mentions
(``storage.mentions``) and watches and runs (``storage.runs``) are its own
methods, composed from one class per concern; alerts, the digest, authors,
clusters and own accounts are attached tables (``store.alerts`` ...). Another
backend (PostgreSQL, for several collector hosts) implements the same Protocols.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from listener.errors import StorageError
from storage.accounts import AccountQueries
from storage.alerts import AlertTable
from storage.authors import AuthorTable
from storage.clusters import ClusterTable
from storage.connection import connect
from storage.digest import DigestQueries
from storage.failures import describe, guarded
from storage.mentions import BASE_BUCKET, MentionMethods
from storage.migrations import migrate
from storage.rows import Hit, RunRow, StatusRow, WatchRow, WindowMention
from storage.runs import WatchRunMethods
from storage.stories import StoryQueries
from storage.triage import TriageTable

# The records used to be defined here; callers still import them from here.
__all__ = ["BASE_BUCKET", "Hit", "RunRow", "StatusRow", "Store", "WatchRow", "WindowMention"]


@guarded
class Store(MentionMethods, WatchRunMethods):
    """A listener database: a real SQLite file in WAL mode, migrated on open.

    Implements ``storage.interfaces.ListenerStore`` (``MentionStore`` and
    ``WatchRunStore`` itself; ``AlertStore``, ``DigestReads``, ``AuthorStore``,
    ``ClusterStore``, ``AccountReads``, ``TriageStore`` and ``StoryReads`` through its attributes), which
    ``tests/test_storage_interfaces.py`` checks, statically and at run time.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        super().__init__(conn, path)
        self.alerts = AlertTable(conn, self._write)
        self.digest = DigestQueries(conn, self._write)
        self.authors = AuthorTable(conn, self._write)
        self.clusters = ClusterTable(conn, self._write)
        self.accounts = AccountQueries(conn)
        self.triage = TriageTable(conn, self._write)
        self.stories = StoryQueries(conn)

    @classmethod
    def open(
        cls, path: str | Path, *, create: bool = True, busy_timeout: float = 5.0, origin: str = ""
    ) -> Store:
        """Open (and create or upgrade) the database at ``path``; ``origin`` names where the path came from.

        A database we may not write (a read-only mount, a backup copy) is still
        opened for reading: ``status``, ``search`` and ``sql`` work, and the first
        write says why it cannot.
        """
        path = Path(path)
        where = f"database {path}{f' ({origin})' if origin else ''}"
        if not create and not path.exists():
            raise StorageError(f"{where} does not exist: run 'listener init' first")
        try:
            conn = connect(path, busy_timeout)
            migrate(conn)
        except (sqlite3.Error, OSError, RuntimeError) as exc:
            raise StorageError(f"{where}: {describe(exc, path)}") from exc
        return cls(conn, path)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
