"""The PostgreSQL schema, as numbered migrations applied in place (``storage/pg/schema/NNN.sql``).

Like ``storage.migrations`` for SQLite: files are appended, never edited, numbered without
gaps. PostgreSQL has no ``user_version``, so ``schema_version`` records each migration that
ran. Several daemons may start together against one server: a session advisory lock lets one
of them migrate while the others wait, then find nothing left to do.
"""

from __future__ import annotations

from importlib.resources import files

from storage.migrations import load
from storage.pg.connection import PgConnection

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "current_version", "migrate"]

MIGRATIONS: list[str] = load(files("storage").joinpath("pg", "schema"))
SCHEMA_VERSION = len(MIGRATIONS)
_LOCK = 0x6C697374656E6572  # "listener": the advisory lock that serialises migrations

_VERSIONS = b"""
CREATE TABLE IF NOT EXISTS schema_version (
    version integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


def current_version(conn: PgConnection) -> int:
    """The last migration applied; 0 for an empty database."""
    exists = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row and isinstance(row[0], int) else 0


def migrate(conn: PgConnection, migrations: list[str] = MIGRATIONS) -> int:
    """Bring the database to the last migration's version; return how many ran.

    Each migration runs in its own transaction with its ``schema_version`` row (PostgreSQL's
    DDL is transactional), so a crash mid-way leaves the database at the previous version.
    """
    conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK,))
    try:
        conn.execute(_VERSIONS)
        current = current_version(conn)
        target = len(migrations)
        if current > target:
            raise RuntimeError(
                f"database schema version {current} is newer than this listener ({target}): upgrade listener"
            )
        for version in range(current + 1, target + 1):
            with conn.transaction():
                conn.execute(migrations[version - 1].encode("utf-8"))
                conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
        return max(target - current, 0)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK,))
