"""Connections to a PostgreSQL listener database.

The URL comes from the config (``[database] url``) and never holds the password: that comes
from the environment variable ``password_env`` names, and is passed here on its own, so that
neither a log line nor an error repeats it with the URL.
"""

from __future__ import annotations

from collections.abc import Mapping

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import TupleRow

from storage.pg.failures import pg_error

__all__ = ["PgConnection", "connect"]

PgConnection = psycopg.Connection[TupleRow]

APPLICATION = "listener"


def connect(
    url: str,
    password: str | None = None,
    *,
    connect_timeout: int = 10,
    settings: Mapping[str, str] | None = None,
) -> PgConnection:
    """An autocommit connection: every transaction is explicit (``conn.transaction()``), as in SQLite's ``Store``.

    Times come back in UTC whatever the server's ``timezone`` setting, so that they compare
    equal to what SQLite returns. JIT is off: listener's statements are short, and compiling
    cost more than running them (0.6 s against 0.2 s for a week's stories at 1M mentions; about
    0.7 s per statement of the count triggers, whose transition tables the planner cannot size). ``settings`` are server settings for the whole session,
    in force before the first statement (libpq's ``options``, after the URL's own). A server
    that cannot be reached or refuses us is one ``StorageError`` line (``storage.pg.failures``).
    """
    extra: dict[str, str | int] = {"application_name": APPLICATION, "connect_timeout": connect_timeout}
    if password is not None:
        extra["password"] = password
    if settings:
        own = " ".join(f"-c {name}={value}" for name, value in settings.items())
        extra["options"] = f"{conninfo_to_dict(url).get('options') or ''} {own}".strip()
    try:
        conn = psycopg.connect(make_conninfo(url, **extra), autocommit=True)
    except psycopg.OperationalError as exc:
        raise pg_error(exc, url) from None
    try:
        conn.execute("SET TIME ZONE 'UTC'")
        conn.execute("SET jit = off")
    except psycopg.OperationalError as exc:
        conn.close()
        raise pg_error(exc, url) from None
    return conn
