"""Connections to a listener database: read-write in WAL mode, or read-only where that is all we may do."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from listener.query import host_matches

__all__ = ["connect", "connect_read_only"]


def connect(path: Path, busy_timeout: float) -> sqlite3.Connection:
    """A connection in WAL mode; read-only when the file or its folder cannot be written.

    New files are created private (0600): mentions, authors and deliveries are
    nobody else's business. SQLite gives its -wal and -shm files the same mode.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        _configure(conn, busy_timeout).execute("PRAGMA journal_mode = WAL")
        return conn
    except sqlite3.OperationalError as exc:
        conn.close()
        if not any(word in str(exc) for word in ("readonly", "unable to open", "disk I/O error")):
            raise
    # Read-only: WAL needs its -shm file, which a read-only folder (or a full disk) cannot hold;
    # immutable=1 reads without it.
    return _configure(connect_read_only(path), busy_timeout)


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot write: ``mode=ro``, else ``immutable=1`` where WAL's -shm cannot be made."""
    for mode in ("mode=ro", "immutable=1"):
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True, isolation_level=None,
                               check_same_thread=False)  # fmt: skip
        try:
            conn.execute("PRAGMA user_version").fetchone()
            return conn
        except sqlite3.OperationalError as exc:
            conn.close()
            if "unable to open" not in str(exc) and "disk I/O error" not in str(exc):
                raise
    raise sqlite3.OperationalError("unable to open database file, even read-only")


def _configure(conn: sqlite3.Connection, busy_timeout: float) -> sqlite3.Connection:
    # Autocommit mode: transactions are explicit, in ``Store._write``.
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.create_function("listener_site", 2, host_matches, deterministic=True)
    return conn
