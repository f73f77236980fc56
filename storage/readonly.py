"""Ad-hoc SQL that cannot change anything, nor run or grow without end: ``listener sql``.

Two locks, so that one mistake in either still refuses writes: the connection
is opened ``mode=ro``, and an authorizer allows only reading statements.

Limits, each with its own one-line error:

- time: a progress handler stops the query at ``timeout``; a function that runs
  long inside one step (``instr`` on huge strings) never reaches the handler, so
  the query runs in a worker thread and the caller gives up on it one second later
  (the thread ends with the process, or at SQLite's next check);
- size of one value: ``SQLITE_LIMIT_LENGTH`` is ``max_bytes``, and ``printf()``
  refuses a width or precision over it before building the string;
- memory: SQLite's hard heap limit while the query runs;
- output: rows are read one at a time and stop at ``max_rows`` or ``max_bytes``,
  and the result says so in ``stopped``.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from listener.errors import StorageError
from storage.connection import connect_read_only
from storage.failures import storage_error
from storage.search import register_functions
from storage.sql_limits import (
    MAX_BYTES,
    MAX_ROWS,
    ReadOnlyRefused,
    SqlResult,
    capped,
    check_given,
    mb,
    no_statement,
    timed_out,
    too_big,
)

__all__ = ["MAX_BYTES", "MAX_ROWS", "ReadOnlyRefused", "SqlResult", "run_readonly"]
_GRACE = 0.5  # seconds past the time limit before the caller gives up on a query stuck in one step
_HEAP_MB = 64  # SQLite's memory for everything but values: page cache, sorter, plan

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
    max_rows: int = MAX_ROWS,
    max_bytes: int = MAX_BYTES,
) -> SqlResult:
    """Run one reading statement against the database at ``path``, within the limits above."""
    path = Path(path)
    if not path.exists():
        raise StorageError(f"database {path} does not exist: run 'listener init' or pass --db")
    check_given(sql)
    query = _Query(path, sql, params, timeout, max_rows, max_bytes)
    worker = threading.Thread(target=query.run, name="listener-sql", daemon=True)
    worker.start()
    worker.join(min(max(timeout, 0) + _GRACE, threading.TIMEOUT_MAX))
    if worker.is_alive():
        # Stuck inside one step: SQLite stops at its next check, or the thread ends with the process.
        query.cancel()
        raise query.timed_out()
    if query.error is not None:
        raise query.error
    assert query.result is not None
    return query.result


# One printf() conversion: flags, width, precision (each digits or '*'), size, type.
_PRINTF_SPEC = re.compile(r"%[-+ #!0,]*(\*|\d*)(?:\.(\*|\d*))?(?:ll|l)?(.?)", re.S)
_TRUNCATING = set("sqQwz")  # for these the precision cuts the text instead of padding it


def printf_size(fmt: str, args: Sequence[Any]) -> int:
    """The characters printf() pads or repeats up to: its widths and expanding precisions, summed."""
    total = index = 0
    for match in _PRINTF_SPEC.finditer(fmt):
        width, precision, kind = match.groups()
        for part, counts in ((width, True), (precision, kind not in _TRUNCATING)):
            if part == "*":
                value = abs(_as_int(args[index])) if index < len(args) else 0
                index += 1
            else:
                value = int(part or 0)
            total += value if counts else 0
        index += kind != "%"
    return total


def _as_int(value: Any) -> int:
    """An argument as printf() reads it for a ``*``: SQLite's integer, cut to 32 bits."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        match = re.match(r"\s*[+-]?\d+", value)
        value = int(match.group()) if match else 0
    number = int(value) if isinstance(value, int | float) else 0
    return (number + 2**31) % 2**32 - 2**31


class _Printf:
    """``printf()``/``format()`` that refuses at once a string longer than the length limit.

    SQLite's own loops once per repeated character even past the limit (seconds for
    ``printf('%.*c', 500000000, 'a')``), then returns NULL without a word. Within the
    limit, the built-in does the work, on a connection of its own.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.refused: str | None = None
        self._side: sqlite3.Connection | None = None

    def __call__(self, *args: Any) -> Any:
        if args and isinstance(args[0], str):
            size = printf_size(args[0], args[1:])
            if size > self.limit:
                self.refused = (
                    f"printf() would make a string of {size:,} characters, over the {mb(self.limit)} limit"
                )
                raise ValueError(self.refused)
        if self._side is None:
            self._side = sqlite3.connect(":memory:", check_same_thread=False)
            self._side.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, self.limit)
        return self._side.execute(f"SELECT printf({', '.join('?' * len(args))})", args).fetchone()[0]

    def close(self) -> None:
        if self._side is not None:
            self._side.close()


class _HeapLimit:
    """SQLite's hard heap limit, lowered while queries run and put back after the last one.

    The limit is process-wide and ``PRAGMA hard_heap_limit`` can only lower it, so
    this calls ``sqlite3_hard_heap_limit64()`` of the library the ``sqlite3`` module
    uses; without it (a static build that hides it) there is no heap limit.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._previous = 0
        self._call: Any = None

    def lower(self, size: int) -> None:
        with self._lock:
            call = self._function()
            if call is None:
                return
            current = call(-1)
            if self._users == 0:
                self._previous = current
            self._users += 1
            call(min(size, current) if current > 0 else size)

    def release(self) -> None:
        with self._lock:
            if self._call and self._users:
                self._users -= 1
                if self._users == 0:
                    self._call(self._previous)

    def _function(self) -> Any:
        if self._call is None:
            try:
                import _sqlite3
                import ctypes

                call = ctypes.CDLL(_sqlite3.__file__).sqlite3_hard_heap_limit64
            except (ImportError, OSError, AttributeError):
                self._call = False
                return None
            call.restype, call.argtypes = ctypes.c_int64, [ctypes.c_int64]
            self._call = call
        return self._call or None


_HEAP = _HeapLimit()
_FILE_FAILURES = {"SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN",
                  "SQLITE_FULL", "SQLITE_IOERR", "SQLITE_IOERR_SHORT_READ", "SQLITE_IOERR_READ"}  # fmt: skip


class _Query:
    """One query, run in a worker thread so that the caller can give up on it."""

    def __init__(
        self, path: Path, sql: str, params: Sequence[Any] | Mapping[str, Any],
        timeout: float, max_rows: int, max_bytes: int,
    ) -> None:  # fmt: skip
        self.path = path
        self.sql, self.params, self.timeout = sql, params, timeout
        self.max_rows, self.max_bytes = max_rows, max_bytes
        self.deadline = time.monotonic() + timeout
        self.cancelled = False
        self.conn: sqlite3.Connection | None = None
        self.result: SqlResult | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self._read()
        except BaseException as exc:  # handed to the caller's thread
            self.error = exc

    def cancel(self) -> None:
        self.cancelled = True
        if self.conn is not None:
            self.conn.interrupt()

    def timed_out(self) -> StorageError:
        return timed_out(self.timeout)

    def _stop(self) -> int:
        return int(self.cancelled or time.monotonic() > self.deadline)

    def _read(self) -> SqlResult:
        try:
            self.conn = conn = connect_read_only(self.path)
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path) from None
        register_functions(conn)  # the full-text index reads its words through listener_words
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, self.max_bytes)
        limit = conn.getlimit(sqlite3.SQLITE_LIMIT_LENGTH)
        heap = 3 * limit + _HEAP_MB * 1_000_000
        guard, printf = _Guard(self.sql), _Printf(limit)
        _HEAP.lower(heap)
        try:
            for name in ("printf", "format"):
                conn.create_function(name, -1, printf)
            conn.set_authorizer(guard)
            conn.set_progress_handler(self._stop, 10_000)
            cursor = conn.execute(self.sql, self.params)
            if cursor.description is None:
                raise no_statement()
            return capped([d[0] for d in cursor.description], cursor, self.max_rows, self.max_bytes)
        except sqlite3.DatabaseError as exc:
            raise self._explain(exc, guard, printf, limit) from None
        except sqlite3.ProgrammingError as exc:
            raise StorageError(f"SQL error: {exc}; run one statement at a time") from None
        except MemoryError:
            raise StorageError(
                f"query needed more than {mb(heap)} of memory; add a LIMIT or WHERE, or raise --max-bytes"
            ) from None
        finally:
            conn.set_authorizer(None)
            conn.set_progress_handler(None, 0)
            _HEAP.release()
            conn.close()
            printf.close()

    def _explain(
        self, exc: sqlite3.DatabaseError, guard: _Guard, printf: _Printf, limit: int
    ) -> StorageError:
        if guard.refused:
            return ReadOnlyRefused(
                f"listener sql is read-only: {guard.refused} is refused; "
                "use SELECT (or a copy of the database with the sqlite3 shell) instead"
            )
        if printf.refused:
            return StorageError(f"{printf.refused}; ask for a shorter one, or raise --max-bytes")
        if "interrupted" in str(exc):
            return self.timed_out()
        if "too big" in str(exc):
            return too_big(limit)
        if "readonly" in str(exc) or "read-only" in str(exc):
            return ReadOnlyRefused(f"listener sql is read-only: {exc}; use SELECT instead")
        if getattr(exc, "sqlite_errorname", "SQLITE_ERROR") in _FILE_FAILURES:
            return storage_error(exc, self.path)  # the database file, not the query: say how to fix the file
        return StorageError(f"SQL error: {exc}")
