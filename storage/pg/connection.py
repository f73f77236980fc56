"""Connections to a PostgreSQL listener database.

The URL comes from the config (``[database] url``) and never holds the password: that comes
from the environment variable ``password_env`` names, and is passed here on its own, so that
neither a log line nor an error repeats it with the URL.
"""

from __future__ import annotations

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg.rows import TupleRow

__all__ = ["PgConnection", "connect"]

PgConnection = psycopg.Connection[TupleRow]

APPLICATION = "listener"


def connect(url: str, password: str | None = None, *, connect_timeout: int = 10) -> PgConnection:
    """An autocommit connection: every transaction is explicit (``conn.transaction()``), as in SQLite's ``Store``.

    Times come back in UTC whatever the server's ``timezone`` setting, so that they compare
    equal to what SQLite returns.
    """
    extra: dict[str, str | int] = {"application_name": APPLICATION, "connect_timeout": connect_timeout}
    if password is not None:
        extra["password"] = password
    conn = psycopg.connect(make_conninfo(url, **extra), autocommit=True)
    conn.execute("SET TIME ZONE 'UTC'")
    return conn
