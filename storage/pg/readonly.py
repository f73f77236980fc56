"""``listener sql`` on a PostgreSQL server: one reading statement, within the same caps as on SQLite.

Two locks, as on SQLite, so that one mistake in either still refuses writes: the session
starts with ``default_transaction_read_only`` on, and the query runs in a transaction
that says ``SET TRANSACTION READ ONLY``. Only statements that read are sent (``SELECT``,
``WITH``, ``VALUES``, ``TABLE``, ``SHOW``, ``EXPLAIN``); ``COPY``, ``DO``, ``CALL`` and
the like are refused before the server sees them, since a read-only transaction does
not stop what they can do outside the database. What the role may read is the
server's business: give analysts a role of their own (docs/deployment.md).

Limits, with SQLite's one-line errors (``storage.sql_limits``):

- time: ``statement_timeout`` is ``timeout``, lowered before each fetch to what is left;
- one statement: the query goes through the extended protocol, which takes exactly one;
- output: rows come through a server-side cursor in small batches and stop at
  ``max_rows`` or ``max_bytes``; a value longer than ``max_bytes`` is refused once it
  has arrived (the server sends a value whole: at most 1 GB, PostgreSQL's own limit).

Values come back as SQLite's backend gives them: times as ISO-8601 text, JSON as its text,
numerics as numbers, so that a script reads the same output from either backend.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import errors

from listener.errors import StorageError
from storage.base import dumps
from storage.pg.connection import PgConnection, connect
from storage.pg.failures import describe, server_name
from storage.sql_limits import (
    MAX_BYTES,
    MAX_ROWS,
    ReadOnlyRefused,
    SqlResult,
    capped,
    check_given,
    no_statement,
    timed_out,
)

__all__ = ["run_readonly_pg"]

_BATCH = 100  # rows per FETCH: a cap overshoots by at most this many rows read
_READING = {"SELECT", "WITH", "VALUES", "TABLE", "SHOW", "EXPLAIN"}
_CURSORED = {"SELECT", "WITH", "VALUES", "TABLE"}  # DECLARE takes these; SHOW and EXPLAIN are small
# What the scanner skips or rewrites: literals, quoted names, comments, casts, parameters, percent signs.
_TOKENS = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/|\$(\w*)\$.*?\$\1\$|::|:(\w+)|%""", re.S
)
_WRITE = re.compile(r"cannot execute (.+?) in a read-only transaction")


def run_readonly_pg(
    url: str,
    password: str | None,
    sql: str,
    params: Mapping[str, Any] | None = None,
    timeout: float = 30.0,
    max_rows: int = MAX_ROWS,
    max_bytes: int = MAX_BYTES,
) -> SqlResult:
    """Run one reading statement on the server at ``url``; ``:name`` binds ``params[name]``."""
    check_given(sql)
    verb = first_word(sql)
    if verb is None:
        raise no_statement()
    if verb not in _READING:
        raise _refused(verb)
    deadline = time.monotonic() + timeout
    settings = {"default_transaction_read_only": "on", "statement_timeout": str(_ms(timeout))}
    with connect(url, password, settings=settings) as conn:
        name = server_name(conn.info.host, conn.info.port, conn.info.dbname)
        query, values = _bind(sql, params or {})
        try:
            with conn.transaction(force_rollback=True):
                conn.execute("SET TRANSACTION READ ONLY")
                if verb in _CURSORED:
                    with conn.cursor(name="listener_sql", scrollable=False) as named:
                        named.execute(query, values)
                        rows = _batches(conn, named, deadline, timeout)
                        return capped(_columns(named), rows, max_rows, max_bytes)
                with conn.cursor() as cur:
                    cur.execute(query, values, prepare=True)  # prepared: one statement only
                    return capped(_columns(cur), (_row(r) for r in cur), max_rows, max_bytes)
        except psycopg.Error as exc:
            raise _explain(exc, timeout, name) from None


def _columns(cur: Any) -> list[str]:
    if cur.description is None:
        raise no_statement()
    return [c.name for c in cur.description]


def _batches(conn: PgConnection, cur: Any, deadline: float, timeout: float) -> Iterator[tuple[Any, ...]]:
    """Each FETCH may take only the time left: the whole query stops at ``timeout``, not each fetch."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise timed_out(timeout)
        conn.execute("SELECT set_config('statement_timeout', %s, true)", (str(_ms(left)),))
        rows = cur.fetchmany(_BATCH)
        yield from (_row(r) for r in rows)
        if len(rows) < _BATCH:
            return


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))  # 0 would mean no limit at all


def first_word(sql: str) -> str | None:
    """The statement's first keyword, upper case, past comments and opening parentheses."""
    text = _TOKENS.sub(lambda m: " " if m.group().startswith(("--", "/*")) else m.group(), sql)
    match = re.match(r"[\s(]*([A-Za-z]+)", text)
    return match.group(1).upper() if match else None


def _bind(sql: str, params: Mapping[str, Any]) -> tuple[str, Mapping[str, Any] | None]:
    """SQLite's ``:name`` as psycopg's ``%(name)s``, outside literals, comments and ``::`` casts.

    Without parameters the query goes as written: psycopg then reads no ``%`` in it.
    """
    if not params:
        return sql, None

    def swap(match: re.Match[str]) -> str:
        token = match.group()
        if token == "%":
            return "%%"
        if match.group(2):
            return f"%({match.group(2)})s"
        return token.replace("%", "%%") if token.startswith(("'", '"', "$")) else token

    return _TOKENS.sub(swap, sql), params


def _row(row: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(_plain(v) for v in row)


def _plain(value: Any) -> Any:
    """A value as SQLite's backend stores it: text, a number, bytes or None."""
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date | clock):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, memoryview):
        return bytes(value)
    if isinstance(value, dict | list):
        return dumps(value)  # json, jsonb, arrays: JSON text, as SQLite keeps raw
    if isinstance(value, timedelta):
        return value.total_seconds()
    return str(value)  # UUID, inet, ranges: their text


def _refused(statement: str) -> ReadOnlyRefused:
    return ReadOnlyRefused(f"listener sql is read-only: {statement} is refused; use SELECT instead")


def _explain(exc: psycopg.Error, timeout: float, name: str) -> StorageError:
    if isinstance(exc, errors.QueryCanceled):
        return timed_out(timeout)
    write = _WRITE.search(str(exc))
    if isinstance(exc, errors.ReadOnlySqlTransaction) or write:
        return _refused(write.group(1) if write else "writing")
    if "data-modifying statements in WITH" in str(exc):
        return _refused("a write inside WITH")
    if isinstance(exc, psycopg.OperationalError):
        return StorageError(f"{name}: {describe(exc)}")  # the server, not the query
    text = " ".join(str(exc).strip().splitlines()[0].split()) if str(exc).strip() else type(exc).__name__
    if "multiple commands" in text:
        return StorageError(f"SQL error: {text}; run one statement at a time")
    return StorageError(f"SQL error: {text}")
