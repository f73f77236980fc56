"""``listener migrate --to postgresql://...``: move a SQLite database to a PostgreSQL server (#22)."""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING

import click

from listener.cli.app import App
from listener.output import output_options, render

if TYPE_CHECKING:
    from storage.pg.connection import PgConnection

__all__ = ["migrate"]


def _target(url: str, password_env: str | None) -> PgConnection:
    """The server, its schema brought up to date; the password only from ``password_env``."""
    from pydantic import ValidationError

    from listener.database_settings import DatabaseSettings
    from listener.errors import ConfigError
    from storage.pg import connect, migrate

    try:
        DatabaseSettings(url=url)
    except ValidationError as exc:  # its message would repeat the URL, maybe with a password
        reason = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"--to: {reason.replace('set password_env to', 'give --password-env')}") from None
    secret = os.environ.get(password_env) if password_env else None
    if password_env and not secret:
        raise ConfigError(f"--password-env: the environment variable {password_env} is not set")
    conn = connect(url, secret)  # a server that cannot be reached or refuses us: one line
    migrate(conn)
    return conn


@click.command()
@click.option(
    "--to", "url", required=True, metavar="URL", help="postgresql://user@host[:port]/database, no password."
)
@click.option(
    "--password-env", metavar="NAME", help="The environment variable holding the password (else ~/.pgpass)."
)
@click.option(
    "--batch-size", default=5000, show_default=True, type=click.IntRange(1), help="Rows per transaction."
)
@output_options
@click.pass_obj
def migrate(app: App, url: str, password_env: str | None, batch_size: int, fmt: str) -> None:
    """Copy the SQLite database (the config's, or --db) into an empty PostgreSQL database.

    Everything collected and decided moves: mentions with their earlier versions, watches
    and matches, cursors, runs, authors, alerts and deliveries, digests, clusters, triage.
    Ids are kept. Stop the daemon first. Interrupted, the same command continues where it
    stopped; at the end each table is counted and checksummed on both sides (exit 1 if one
    differs). Then set [database] url (and password_env) in the config.

    \b
    Example:
        export PGPASSWORD_LISTENER=...
        listener migrate --to postgresql://listener@db.example/listener --password-env PGPASSWORD_LISTENER
    """
    import sqlite3

    import psycopg

    from listener.errors import StorageError
    from storage import Store
    from storage.pg.copy import (
        copy_tables,
        exclusive,
        left_behind,
        plan,
        refuse_other_data,
        remaining,
        unfilled,
    )
    from storage.pg.failures import pg_error, url_name
    from storage.pg.verify import verify

    path = app.db_path()
    # A missing file is one line; an older schema is brought up to date first.
    Store.open(path, create=False).close()
    source = str(path.resolve())
    src = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    dst = _target(url, password_env)
    where = url_name(url)  # "PostgreSQL database D on HOST", as storage.pg's errors name it
    try:
        exclusive(dst, where)
        plans = plan(src, dst)
        refuse_other_data(dst, plans, source, where)
        for table, rows in left_behind(src, plans):
            click.secho(
                f"Warning: {table} ({rows:,} rows) has no table in PostgreSQL yet: not copied", err=True
            )
        with click.progressbar(
            length=remaining(src, dst, plans), label=f"Copying {path.name}", file=sys.stderr,
            item_show_func=lambda table: table,
        ) as bar:  # fmt: skip
            started = time.perf_counter()
            copied = copy_tables(
                src, dst, plans, source, batch_size, lambda table, rows: bar.update(rows, table)
            )
            seconds = time.perf_counter() - started
        click.echo(
            f"Copied {copied:,} rows in {seconds:.1f} s ({copied / max(seconds, 1e-9):,.0f} rows/s).",
            err=True,
        )
        for table, rows in unfilled(src, dst):
            click.secho(
                f"Warning: PostgreSQL's {table} is empty; SQLite's holds {rows:,} rows (not copied: derived)",
                err=True,
            )
        checks = verify(source, dst, plans)
    except (psycopg.OperationalError, psycopg.errors.InsufficientPrivilege) as exc:  # server gone, disk full
        raise pg_error(exc, url) from None  # what was committed stays: the next run resumes
    finally:
        src.close()
        dst.close()
    render(
        ["table", "rows_sqlite", "rows_postgresql", "checksum", "same"],
        [
            [c.table, c.sqlite_rows, c.postgres_rows, f"{c.postgres_sum:032x}"[:16], "yes" if c.ok else "NO"]
            for c in checks
        ],
        fmt,
    )
    wrong = [c.table for c in checks if not c.ok]
    if wrong:
        raise StorageError(
            f"the copy differs from {path.name} in {', '.join(wrong)}: start over with an empty database"
        )
    click.echo(f'Verified {len(checks)} tables. Now set [database] url = "{url}" in the config.', err=True)
