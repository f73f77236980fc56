"""``listener status``: is every source collecting, and is the daemon running."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import click

from listener.cli.app import App
from listener.output import output_options, render
from listener.records import utcnow

__all__ = ["status"]

COLUMNS = ["network", "watch", "last_run", "last_success", "mentions_24h", "last_error", "rate_limited_until"]


@click.command()
@output_options
@click.pass_obj
def status(app: App, fmt: str) -> None:
    """Per network and watch: last run, last success, mentions in 24 h, last error.

    \b
    Example:
        listener status
        listener status --json
    """
    from listener.budgets import budget_usage
    from listener.lock import DaemonLock
    from listener.scoring import backlog_line

    config = app.load_config() if app.config_file.exists() else None
    now = utcnow()
    # On PostgreSQL, daemons on several machines share the sources (leases, not a lock file):
    # whether one runs shows in the schedule they keep, not beside a file.
    shared = app.postgres_url() is not None
    running = not shared and DaemonLock(app.db_path()).held_by_other()
    with app.open_store(sync=False) as store:  # a reader: the daemon may be writing
        rows = store.status(now, expected=config.sources() if config else [])
        total = store.count_mentions()
        budgets = budget_usage(store, config.networks, now) if config else []
        schedule = {job: next_run for job, next_run, _, _ in store.jobs()} if running or shared else {}
        backlog = store.scoring_backlog()
    render(
        [*COLUMNS, "next_run"],
        [(*_cells(r), schedule.get(f"collect:{r.network}:{r.watch}")) for r in rows],
        fmt,
        fast=True,  # a row per source, thousands of them: tabulate alone took ~0.2 s
        fitted=False,  # rich takes ~1 ms a row: the status of 3,545 sources would wait seconds
    )
    if fmt == "table":
        click.echo(f"\n{total} mentions stored in {app.database_name()}", err=True)
        if not shared:  # on PostgreSQL no lock file tells: next_run is the daemons' own schedule
            click.echo(_daemon_line(running, schedule.get("digest")), err=True)
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


def _daemon_line(running: bool, digest_at: str | None) -> str:
    if not running:
        return "The daemon is not running ('listener run')."
    return "The daemon is running." + (f" Next digest check: {digest_at}." if digest_at else "")


def _cells(row: Any) -> tuple[Any, ...]:
    """A row's fields, shallow: ``astuple`` deep-copies each one, a cost at thousands of sources."""
    return tuple(getattr(row, f.name) for f in fields(row))
