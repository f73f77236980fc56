"""``listener sql``: a read-only query, for people and scripts.

Imports only ``storage.readonly`` (plain ``sqlite3``), or ``storage.pg.readonly`` when the
config names a PostgreSQL server: a query needs neither the store's schema code nor the
analysis stack. Both print the same formats and stop at the same caps.
"""

from __future__ import annotations

import sys

import click

from listener.cli.app import EXIT_PARTIAL, App
from listener.output import output_options, render

__all__ = ["sql"]


@click.command()
@click.argument("query")
@click.option(
    "-p", "--param", "params", multiple=True, type=(str, str), help="Named parameter: -p name value."
)
@click.option("--timeout", default=30.0, show_default=True, help="Stop the query after this many seconds.")
@click.option(
    "--max-rows", default=100_000, show_default=True, type=click.IntRange(min=1),
    help="Stop the output after this many rows (exit 3).",
)  # fmt: skip
@click.option(
    "--max-bytes", default=100_000_000, show_default=True, type=click.IntRange(min=1),
    help="Stop the output after this much data, and refuse longer strings (exit 3).",
)  # fmt: skip
@output_options
@click.pass_obj
def sql(
    app: App, query: str, params: tuple[tuple[str, str], ...], timeout: float, max_rows: int,
    max_bytes: int, fmt: str,
) -> None:  # fmt: skip
    """Run a read-only SQL query against the database.

    Writes, ATTACH, writing PRAGMAs and extension loading are refused; on a
    PostgreSQL server the query runs in a read-only transaction. Output
    stops at --max-rows or --max-bytes, with a line on stderr and exit 3.

    \b
    Example:
        listener sql "SELECT network, count(*) FROM mentions GROUP BY network"
        listener sql "SELECT text FROM mentions WHERE author_handle = :who" -p who acme --json
    """
    server = app.postgres()
    if server is not None:
        from storage.pg.readonly import run_readonly_pg

        result = run_readonly_pg(
            *server, query, dict(params), timeout=timeout, max_rows=max_rows, max_bytes=max_bytes
        )
    else:
        from storage.readonly import run_readonly

        result = run_readonly(
            app.db_path(), query, dict(params), timeout=timeout, max_rows=max_rows, max_bytes=max_bytes
        )
    render(result.columns, result.rows, fmt, width=None if fmt != "table" else 80, fitted=False)
    if result.stopped:
        click.secho(f"Stopped: {result.stopped}", fg="yellow", err=True)
        sys.exit(EXIT_PARTIAL)
