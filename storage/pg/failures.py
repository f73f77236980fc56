"""The PostgreSQL side of ``storage.failures``: a server that fails leaves as one ``StorageError`` line.

A refused connection, a wrong password, a missing database or role, a server gone
mid-run, a lock or serialization conflict: each names the server and database (from
the URL or the connection, never a password) and says what to do, instead of a
psycopg traceback. Errors of the data or of our SQL (``IntegrityError``, ``DataError``,
``ProgrammingError``) keep their type, as they do on SQLite.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import psycopg
from psycopg import errors
from psycopg.conninfo import conninfo_to_dict

from listener.errors import StorageError
from storage.failures import guard_methods

__all__ = ["describe", "guard_parts", "pg_error", "pg_guarded", "server_name", "url_name"]

T = TypeVar("T", bound=type)

_FAILURES = (
    psycopg.OperationalError,
    errors.ReadOnlySqlTransaction,
    errors.InsufficientPrivilege,
    errors.InvalidCatalogName,
)
_GONE = "the connection to the server was lost: check that PostgreSQL is up, then retry (a write in progress was rolled back)"
# (words in the server's or libpq's message, SQLSTATE prefixes, the fix), first match wins.
_FIXES: list[tuple[tuple[str, ...], tuple[str, ...], str]] = [
    (("Connection refused", "No such file or directory"), (),
     "nothing listens there: start PostgreSQL, or fix the host and port in [database] url"),
    (("timeout expired",), (), "no answer in time: check the host, the port and any firewall in between"),
    (("failed to resolve host", "could not translate host name"), (), "unknown host: fix it in [database] url"),
    (("permission denied",), ("42501",),
     "the role lacks a privilege: grant it (docs/deployment.md), or use the owner's role"),
    ((' role "',), (),
     "create the role (CREATE ROLE ... LOGIN, see docs/deployment.md), or fix the user in [database] url"),
    (('database "',), ("3D000",),
     "create it (createdb, see docs/deployment.md), or fix the database in [database] url"),
    (("password authentication failed",), ("28P01",),
     "wrong password: put the role's password in the variable [database] password_env names"),
    (("no password supplied",), (),
     "the server asks for a password: set [database] password_env to a variable that holds it"),
    (("no pg_hba.conf entry",), ("28000",),
     "the server does not let this role in from here: add a line to its pg_hba.conf"),
    (("too many", "remaining connection slots"), ("53300",),
     "no connection left on the server: raise max_connections, or put PgBouncer in front"),
    (("starting up", "shutting down", "in recovery mode"), ("57P03",), "the server is not ready: retry in a moment"),
    (("server closed the connection", "connection is closed", "terminating connection", "consuming input failed",
      "connection is lost", "server conn crashed"), ("57P01", "57P02", "08"), _GONE),
    ((), ("40001", "40P01"),
     "it conflicted with another writer and was rolled back: run it again"),
    ((), ("55P03",),
     "another connection holds a lock it needs: wait for it (pg_stat_activity shows it), then retry"),
    ((), ("57014",), "the server cancelled the statement (statement_timeout, or an operator): retry"),
    ((), ("25006",),
     "the server only reads here (a standby, or a read-only role): point [database] url at the primary"),
    ((), ("53100",), "the server's disk is full: free space there, then retry (the last write was rolled back)"),
]  # fmt: skip


def server_name(host: str | None, port: str | int | None, dbname: str | None) -> str:
    """``PostgreSQL database D on HOST:PORT``: what the user can look up, never a password."""
    host = host or "the local socket"
    place = host if host.startswith(("/", "@", "the ")) or not port else f"{host}:{port}"
    return f"PostgreSQL database {dbname or '?'} on {place}"


def url_name(url: str) -> str:
    """``server_name`` of a URL; the config refuses URLs holding a password, and this reads none."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.Error:
        return "PostgreSQL"
    return server_name(
        str(parts.get("host") or ""), parts.get("port") or 5432, str(parts.get("dbname") or "")
    )


def _conn_name(conn: Any) -> str:
    try:
        info = conn.info
        return server_name(info.host, info.port, info.dbname)
    except (AttributeError, psycopg.Error):
        return "PostgreSQL"


def _text(exc: BaseException) -> str:
    """The first line of the message, without libpq's "connection to server ... failed:" (we name it)."""
    lines = str(exc).strip().splitlines() or [type(exc).__name__]
    text = lines[0].rsplit(" failed: ", 1)[-1]
    return " ".join(re.sub(r"^(connection failed|FATAL|ERROR):\s*", "", text).split())


def describe(exc: BaseException) -> str:
    """What went wrong with the server, and what to do about it, on one line."""
    text = _text(exc)
    state = getattr(exc, "sqlstate", None) or ""
    for words, states, fix in _FIXES:
        if any(word in str(exc) for word in words) or (states and state.startswith(states)):
            return f"{text}; {fix}"
    return text


def pg_error(exc: BaseException, url: str) -> StorageError:
    """The error of the server at ``url`` (before there is a connection to ask)."""
    return StorageError(f"{url_name(url)}: {describe(exc)}")


def _failure(owner: Any, exc: BaseException) -> StorageError | None:
    if not isinstance(exc, _FAILURES):
        return None
    return StorageError(f"{_conn_name(getattr(owner, 'conn', None))}: {describe(exc)}")


def pg_guarded(cls: T) -> T:
    """Wrap every public method of ``cls`` and of its bases, as ``storage.failures.guarded`` does for SQLite."""
    if not cls.__dict__.get("_pg_guarded", False):
        guard_methods(cls, _failure, inherited=True)
        type.__setattr__(cls, "_pg_guarded", True)
    return cls


def guard_parts(store: object) -> None:
    """Guard the classes of the store's parts (``store.alerts`` ...) too, whoever wrote them."""
    for part in vars(store).values():
        if type(part).__module__.startswith("storage.pg."):
            pg_guarded(type(part))
