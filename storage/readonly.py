"""Ad-hoc SQL that cannot change anything: ``listener sql``.

Two locks, so that one mistake in either still refuses writes: the connection
is opened ``mode=ro``, and an authorizer allows only reading statements. A
progress handler stops queries that run past the time limit.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from listener.errors import StorageError

__all__ = ["ReadOnlyRefused", "SqlResult", "run_readonly"]

# Pragmas that read whatever their argument: it names a table or index.
_LOOKUP_PRAGMAS = {
    "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
    "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check",
}  # fmt: skip
# Pragmas that read only when given no argument (with one, they set it).
_GETTER_PRAGMAS = {
    "database_list", "compile_options", "user_version", "schema_version", "page_count", "page_size",
    "freelist_count", "encoding", "journal_mode", "function_list", "pragma_list", "collation_list",
    "module_list", "data_version", "application_id",
}  # fmt: skip
_DENIED_FUNCTIONS = {"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"}
_ACTIONS = [
    "CREATE_INDEX",
    "CREATE_TABLE",
    "CREATE_TEMP_INDEX",
    "CREATE_TEMP_TABLE",
    "CREATE_TEMP_TRIGGER",
    "CREATE_TEMP_VIEW",
    "CREATE_TRIGGER",
    "CREATE_VIEW",
    "DELETE",
    "DROP_INDEX",
    "DROP_TABLE",
    "DROP_TEMP_INDEX",
    "DROP_TEMP_TABLE",
    "DROP_TEMP_TRIGGER",
    "DROP_TEMP_VIEW",
    "DROP_TRIGGER",
    "DROP_VIEW",
    "INSERT",
    "PRAGMA",
    "READ",
    "SELECT",
    "TRANSACTION",
    "UPDATE",
    "ATTACH",
    "DETACH",
    "ALTER_TABLE",
    "REINDEX",
    "ANALYZE",
    "CREATE_VTABLE",
    "DROP_VTABLE",
    "FUNCTION",
    "SAVEPOINT",
    "RECURSIVE",
]
_ACTION_NAMES = {getattr(sqlite3, f"SQLITE_{name}"): name.replace("_", " ") for name in _ACTIONS}
_SCHEMA = {"sqlite_master", "sqlite_schema", "sqlite_temp_master"}


class ReadOnlyRefused(StorageError):
    slug = "read-only"


@dataclass(frozen=True, slots=True)
class SqlResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]


class _Guard:
    """The authorizer; remembers what it refused so the error can name it."""

    def __init__(self, sql: str) -> None:
        self.refused: str | None = None
        words = sql.split(maxsplit=2)
        self.statement = " ".join(words[:2]).upper() if words else "statement"

    def __call__(
        self, action: int, arg1: str | None, arg2: str | None, _db: str | None, _trig: str | None
    ) -> int:
        if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE):
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() not in _DENIED_FUNCTIONS:
            return sqlite3.SQLITE_OK
        pragma = (arg1 or "").lower()
        if action == sqlite3.SQLITE_PRAGMA and (
            pragma in _LOOKUP_PRAGMAS or (pragma in _GETTER_PRAGMAS and arg2 is None)
        ):
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_UPDATE and arg1 in _SCHEMA:
            # SQLite checks this while a virtual table (FTS5) loads its schema;
            # a real write is still impossible on the mode=ro connection.
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION:
            self.refused = f"the function {arg2}()"
        elif action == sqlite3.SQLITE_PRAGMA:
            self.refused = f"PRAGMA {arg1}" + (f" = {arg2}" if arg2 is not None else "")
        elif arg1 in _SCHEMA or (action == sqlite3.SQLITE_ATTACH and not arg1):
            # DROP, CREATE and VACUUM show up as writes to the schema: name the statement.
            self.refused = self.refused or self.statement
        else:
            self.refused = _ACTION_NAMES.get(action, f"action {action}")
        return sqlite3.SQLITE_DENY


def run_readonly(
    path: str | Path,
    sql: str,
    params: Sequence[Any] | Mapping[str, Any] = (),
    timeout: float = 30.0,
) -> SqlResult:
    """Run one reading statement against the database at ``path``."""
    path = Path(path)
    if not path.exists():
        raise StorageError(f"database {path} does not exist: run 'listener init' or pass --db")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    guard = _Guard(sql)
    deadline = time.monotonic() + timeout
    try:
        conn.set_authorizer(guard)
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        cursor = conn.execute(sql, params)
        rows = cursor.fetchall()
        columns = [d[0] for d in cursor.description or ()]
        return SqlResult(columns, rows)
    except sqlite3.DatabaseError as exc:
        if guard.refused:
            raise ReadOnlyRefused(
                f"listener sql is read-only: {guard.refused} is refused; "
                "use SELECT (or a copy of the database with the sqlite3 shell) instead"
            ) from None
        if "interrupted" in str(exc):
            raise StorageError(
                f"query stopped after the {timeout:g}s time limit; add a LIMIT or WHERE, or raise --timeout"
            ) from None
        if "readonly" in str(exc) or "read-only" in str(exc):
            raise ReadOnlyRefused(f"listener sql is read-only: {exc}; use SELECT instead") from None
        raise StorageError(f"SQL error: {exc}") from None
    except sqlite3.ProgrammingError as exc:
        raise StorageError(f"SQL error: {exc}; run one statement at a time") from None
    finally:
        conn.close()
