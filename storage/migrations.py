"""The schema, as an ordered list of migrations applied in place.

``PRAGMA user_version`` records how many have run. A migration is a numbered file
in ``storage/schema/`` that is appended, never edited, so that any older database
upgrades by running the ones it lacks. The DDL is written out rather than
generated, so that it cannot drift with a library; each file says why it exists.
"""

from __future__ import annotations

import sqlite3
from importlib.resources import files
from importlib.resources.abc import Traversable

from storage.search import register_functions

SCHEMA = files("storage").joinpath("schema")


def load(folder: Traversable = SCHEMA) -> list[str]:
    """``schema/NNN.sql``, in order: the numbers are the schema versions."""
    names = sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".sql"))
    expected = [f"{version:03d}.sql" for version in range(1, len(names) + 1)]
    if names != expected:  # a gap would make file 13 run as version 12, then never again
        raise RuntimeError(
            f"storage/schema holds {names}; migrations must be numbered 001.sql up without gaps"
        )
    return [folder.joinpath(name).read_text(encoding="utf-8") for name in names]


MIGRATIONS: list[str] = load()
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection, migrations: list[str] = MIGRATIONS) -> int:
    """Bring the database to the last migration's version; return how many ran.

    Each migration runs in its own transaction together with the version bump,
    so a crash mid-way leaves the database at the previous version. First it
    registers the SQL functions the schema's triggers call, on this connection:
    every connection that writes goes through here.
    """
    register_functions(conn)
    current: int = conn.execute("PRAGMA user_version").fetchone()[0]
    target = len(migrations)
    if current > target:
        raise RuntimeError(
            f"database schema version {current} is newer than this listener ({target}): upgrade listener"
        )
    for version in range(current + 1, target + 1):
        script = migrations[version - 1]
        try:
            conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return max(target - current, 0)
