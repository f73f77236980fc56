"""``listener alerts``: list alerts, and acknowledge one."""

from __future__ import annotations

import click

from listener.cli.app import App
from listener.output import output_options, render
from listener.records import utcnow
from listener.timeparse import parse_moment

__all__ = ["alerts"]

COLUMNS = ["id", "severity", "state", "kind", "watch", "network", "started_at", "updated_at", "summary"]


@click.group(invoke_without_command=True)
@click.option("--since", help="Only alerts updated since: ISO date/time or an age like 24h, 7d.")
@click.option(
    "--state", type=click.Choice(["open", "updated", "resolved", "acknowledged"]), help="Only this state."
)
@click.option("--limit", default=50, show_default=True, help="At most this many rows.")
@output_options
@click.pass_context
def alerts(ctx: click.Context, since: str | None, state: str | None, limit: int, fmt: str) -> None:
    """Alerts, newest first: one row per incident.

    \b
    Example:
        listener alerts --since 7d
        listener alerts ack 12
    """
    if ctx.invoked_subcommand is not None:
        return
    app: App = ctx.obj
    with app.open_store() as store:
        rows = store.alerts.list(
            since=parse_moment(since, utcnow()) if since else None, state=state, limit=limit
        )
    render(COLUMNS, [[getattr(row, c) for c in COLUMNS] for row in rows], fmt)


@alerts.command()
@click.argument("alert_id", type=int)
@click.pass_obj
def ack(app: App, alert_id: int) -> None:
    """Acknowledge an alert: it stays quiet unless its severity rises.

    \b
    Example:
        listener alerts ack 12
    """
    with app.open_store() as store:
        if not store.alerts.acknowledge(alert_id):
            raise click.ClickException(f"no open alert with id {alert_id}; see 'listener alerts'")
    click.echo(f"Alert {alert_id} acknowledged.")
