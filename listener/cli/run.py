"""``listener run``: the daemon's command line."""

from __future__ import annotations

import os
import sys

import click

from listener.cli.app import App

__all__ = ["run"]


@click.command()
@click.option("--once", is_flag=True, help="Run one cycle (every source once, then alerts) and exit.")
@click.option("--log-json", is_flag=True, help="Log one JSON object per line instead of text.")
@click.option(
    "--interval", type=float, hidden=True, help="Seconds between runs of every source (demo, tests)."
)
@click.option(
    "--steps", is_flag=True, hidden=True, help="Read story times from stdin, one step each (the demo)."
)
@click.pass_obj
def run(app: App, once: bool, log_json: bool, interval: float | None, steps: bool) -> None:
    """Run the daemon: collect on schedule, score, alert; stop with Ctrl-C or SIGTERM.

    One daemon per SQLite database: a second one exits with a message. On a
    PostgreSQL server ([database] url) run as many as you like, on as many
    machines: each source is collected by one of them at a time, and a dead
    daemon's sources go to the others after [database] lease_seconds. Logs go to
    stderr; 'listener status' in another terminal shows the schedule. With
    --once, exit status 3 means some sources failed, 1 that all did.

    \b
    Example:
        listener run
        listener run --once --log-json
    """
    from listener.daemon import Daemon
    from listener.logs import setup_logging

    setup_logging(log_json)
    config = app.load_config()
    server = config.postgres if app.postgres() is not None else None  # checks the password is set
    daemon = Daemon(config, server or app.db_path(), dict(os.environ), interval)
    sys.exit(daemon.run(once=once, steps=sys.stdin if steps else None))
