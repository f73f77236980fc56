"""The ``listener`` command line: one click group, one verb per command."""

from __future__ import annotations

import os
import sys
from dataclasses import astuple, fields
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import click

from listener import __version__
from listener.config import Config, config_path, load_config
from listener.errors import ConfigError, ListenerError
from listener.output import inert, output_options, render
from listener.records import clock_from_env, use_clock, utcnow
from listener.timeparse import parse_moment

EXIT_ERROR = 1


class App:
    """What commands share: where the config and database are, opened on demand."""

    def __init__(self, config: str | None, db: str | None) -> None:
        self.config_file = config_path(config)
        self.db_override = Path(db) if db else None
        self._config: Config | None = None

    def load_config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_file)
        return self._config

    def db_path(self) -> Path:
        """``--db``/``$LISTENER_DB``, else the config's ``database.path``."""
        return self.db_override or self.load_config().database

    def open_store(self, sync: bool = True) -> Any:
        """The store; with ``sync``, the config's watches and own accounts are written into it first."""
        from storage import Store

        origin = "" if self.db_override else f"database.path in {self.config_file}"
        store = Store.open(self.db_path(), create=self.db_override is None, origin=origin)
        if sync and (self.config_file.exists() or self.db_override is None):
            config = self.load_config()
            store.sync_watches([(w.name, w.query) for w in config.watches])
            store.authors.set_own_accounts(config.own_accounts())
        return store


class ListenerGroup(click.Group):
    """Prints a ``ListenerError`` as one line on stderr and exits 1: never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ListenerError as exc:
            click.secho(f"Error: {inert(str(exc), one_line=True)}", fg="red", err=True)
            sys.exit(EXIT_ERROR)


@click.group(cls=ListenerGroup)
@click.version_option(__version__, prog_name="listener")
@click.option(
    "--config", "config", envvar="LISTENER_CONFIG", type=click.Path(dir_okay=False),
    help="Config file [default: ./listener.toml, or $LISTENER_CONFIG].",
)  # fmt: skip
@click.option(
    "--db", envvar="LISTENER_DB", type=click.Path(dir_okay=False),
    help="Database file, instead of the config's database.path [$LISTENER_DB].",
)  # fmt: skip
@click.pass_context
def cli(ctx: click.Context, config: str | None, db: str | None) -> None:
    """Social listening: collect mentions into SQLite, flag spikes, mail a digest.

    \b
    Start here:
        listener init
        listener status
    """
    ctx.obj = App(config, db)


def _rows(items: list[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Dataclass records as columns and rows for ``render``."""
    if not items:
        return [], []
    return [f.name for f in fields(items[0])], [astuple(item) for item in items]


def _since(value: str | None, now: datetime) -> datetime | None:
    return parse_moment(value, now) if value else None


@cli.command()
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@click.pass_obj
def init(app: App, force: bool) -> None:
    """Write a commented starter config and create the database.

    \b
    Example:
        listener init
        listener --config ~/brand/listener.toml init
    """
    path = app.config_file
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; edit it, or pass --force to overwrite it")
    starter = files("listener").joinpath("starter.toml").read_bytes()
    try:  # private: it names the variables that hold the tokens, and where the data lives
        path.parent.mkdir(parents=True, exist_ok=True)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
            out.write(starter)
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot write the config ({exc.strerror}); free space or pick a writable folder"
        ) from None
    with app.open_store() as store:
        click.echo(f"Wrote {path}")
        click.echo(f"Created {store.path} ({len(app.load_config().watches)} watches)")
    click.echo("Next: edit the watches and networks in the config, then run 'listener status'.")


@cli.command()
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

    Writes, ATTACH, writing PRAGMAs and extension loading are refused. Output
    stops at --max-rows or --max-bytes, with a line on stderr and exit 3.

    \b
    Example:
        listener sql "SELECT network, count(*) FROM mentions GROUP BY network"
        listener sql "SELECT text FROM mentions WHERE author_handle = :who" -p who acme --json
    """
    from listener.collect_cli import EXIT_PARTIAL
    from storage.readonly import run_readonly

    result = run_readonly(
        app.db_path(), query, dict(params), timeout=timeout, max_rows=max_rows, max_bytes=max_bytes
    )
    render(result.columns, result.rows, fmt, width=None if fmt != "table" else 80)
    if result.stopped:
        click.secho(f"Stopped: {result.stopped}", fg="yellow", err=True)
        sys.exit(EXIT_PARTIAL)


@cli.command()
@click.argument("query", required=False)
@click.option("--since", help="Only mentions created since: ISO date/time or an age like 24h, 7d.")
@click.option("--until", help="Only mentions created before this.")
@click.option("--network", help="Only this network.")
@click.option("--lang", help="Only this language (ISO code, e.g. it).")
@click.option("--watch", help="Only mentions that matched this watch.")
@click.option("--limit", default=50, show_default=True, help="At most this many rows.")
@click.option("--collapse", is_flag=True, help="One row per near-duplicate cluster, with its spread.")
@output_options
@click.pass_obj
def search(
    app: App, query: str | None, since: str | None, until: str | None, network: str | None,
    lang: str | None, watch: str | None, limit: int, collapse: bool, fmt: str,
) -> None:  # fmt: skip
    """Full-text search of stored mentions, newest first (accents ignored).

    \b
    Example:
        listener search 'perché "caffè aurora" -promo' --since 7d --lang it
        listener search 'author:aurora_official' --network x --json
        listener search richiamo --since 7d --collapse
    """
    from listener.query import parse
    from storage import SearchFilters

    now = utcnow()
    filters = SearchFilters(_since(since, now), _since(until, now), network, lang, watch)
    with app.open_store() as store:
        if collapse:
            stories = store.clusters.search(parse(query) if query else None, filters, limit)
            render(
                *_rows(stories)
                if stories
                else (["id", "created_at", "network", "copies", "networks", "text"], []),
                fmt,
            )
            return
        hits = store.search(parse(query) if query else None, filters, limit)
    render(*_rows(hits) if hits else (["id", "created_at", "network", "author_handle", "text"], []), fmt)


@cli.command()
@output_options
@click.pass_obj
def status(app: App, fmt: str) -> None:
    """Per network and watch: last run, last success, mentions in 24 h, last error.

    \b
    Example:
        listener status
        listener status --json
    """
    from listener.collect import budget_usage
    from listener.lock import DaemonLock
    from listener.scoring import backlog_line

    config = app.load_config() if app.config_file.exists() else None
    now = utcnow()
    running = DaemonLock(app.db_path()).held_by_other()
    with app.open_store(sync=False) as store:  # a reader: the daemon may be writing
        rows = store.status(now, expected=config.sources() if config else [])
        total = store.count_mentions()
        budgets = budget_usage(store, config.networks, now) if config else []
        schedule = {job: next_run for job, next_run, _, _ in store.jobs()} if running else {}
        backlog = store.scoring_backlog()
    columns = [
        "network",
        "watch",
        "last_run",
        "last_success",
        "mentions_24h",
        "last_error",
        "rate_limited_until",
    ]
    render(
        [*columns, "next_run"],
        [(*astuple(r), schedule.get(f"collect:{r.network}:{r.watch}")) for r in rows],
        fmt,
    )
    if fmt == "table":
        click.echo(f"\n{total} mentions stored in {app.db_path()}", err=True)
        if running:
            digest_at = schedule.get("digest")
            click.echo(
                "The daemon is running." + (f" Next digest check: {digest_at}." if digest_at else ""),
                err=True,
            )
        else:
            click.echo("The daemon is not running ('listener run').", err=True)
        click.echo(backlog_line(*backlog, now), err=True)
        for b in budgets:
            click.echo(
                f"{b.network}: {b.used} of {b.budget} {b.unit} used since {b.period_start:%Y-%m-%d %H:%M} UTC, "
                f"{b.left} left",
                err=True,
            )
        if not rows:
            click.echo(
                "No collector has run yet: configure a network, then run 'listener collect'.", err=True
            )


@cli.command()
@output_options
@click.pass_obj
def watches(app: App, fmt: str) -> None:
    """The watches (named queries) with their mention counts.

    \b
    Example:
        listener watches
    """
    with app.open_store() as store:
        rows = store.watches()
    render(["name", "query", "mentions", "last_24h"], [astuple(r) for r in rows], fmt, width=None)


@cli.command()
@click.option(
    "--backend", default="default", show_default=True, help="default, vader, or a transformers model folder."
)
@click.pass_obj
def rescore(app: App, backend: str) -> None:
    """Score sentiment again with the current model, in batches, with a progress bar.

    Mentions already scored by this model version are skipped, so an interrupted
    rescore picks up where it stopped.

    \b
    Example:
        listener rescore
        listener rescore --backend vader
    """
    from listener.scoring import rescore as run_rescore
    from listener.sentiment.backends import load_backend

    model = load_backend(backend)
    with app.open_store() as store:
        total = store.count_scored_by_other(model.version)
        with click.progressbar(length=total, label=f"Scoring with {model.version}", file=sys.stderr) as bar:
            done = run_rescore(store, model, progress=bar.update)
    click.echo(f"Rescored {done} mentions with {model.version}.")


@cli.command()
@click.argument("network")
@click.argument("author")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def forget(app: App, network: str, author: str, yes: bool) -> None:
    """Delete everything AUTHOR posted on NETWORK, on their request (privacy law).

    AUTHOR is a handle or an author id. Their mentions, the earlier versions of
    them and their place in searches, counts and the authors table go; alerts
    and digests already sent are not recalled. Nothing else ever deletes data.

    \b
    Example:
        listener forget x some_handle --yes
    """
    if not yes:
        click.confirm(f"Delete every mention by {author} on {network}?", abort=True)
    with app.open_store(sync=False) as store:
        count = store.forget_author(network, author)
    click.echo(f"Deleted {count} mentions by {author} on {network}.")


@cli.command()
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the demo's config, database and emails [default: a new temporary folder].")  # fmt: skip
def demo(folder: Path | None) -> None:
    """Run the offline demo: every network on local servers, a crisis, its alerts and digest.

    No key and no internet needed; it takes under a minute and leaves the
    database, the config and every email in the folder.

    \b
    Example:
        listener demo --dir ~/listener-demo
    """
    import tempfile

    from listener.demo.__main__ import demo as run_demo

    target = folder or Path(tempfile.mkdtemp(prefix="listener-demo-"))
    target.mkdir(parents=True, exist_ok=True)
    run_demo(target)


def _add_commands() -> None:
    """Commands that live in modules of their own."""
    from listener.alerts_cli import alerts
    from listener.authors_cli import authors
    from listener.backtest_cli import backtest
    from listener.collect_cli import collect
    from listener.digest_cli import digest
    from listener.run_cli import run
    from listener.sentiment_cli import sentiment

    cli.add_command(alerts)
    cli.add_command(authors)
    cli.add_command(backtest)
    cli.add_command(collect)
    cli.add_command(digest)
    cli.add_command(run)
    cli.add_command(sentiment)


_add_commands()


def main() -> None:
    if value := os.environ.get("LISTENER_CLOCK"):  # the demo's story clock; see records.clock_from_env
        use_clock(clock_from_env(value))
    cli(prog_name="listener")


if __name__ == "__main__":  # pragma: no cover
    main()
