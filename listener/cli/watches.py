"""``listener watches``: the named queries and how much each has found; ``--prune`` retires old ones."""

from __future__ import annotations

from dataclasses import astuple
from typing import TYPE_CHECKING

import click

from listener.cli.app import App
from listener.output import output_options, render

if TYPE_CHECKING:
    from storage.interfaces import ListenerStore

__all__ = ["watches"]


@click.command()
@click.option(
    "--prune", is_flag=True, help="Delete the retired watches (gone from the config); keeps the mentions."
)
@click.option("--yes", is_flag=True, help="With --prune: do not ask for confirmation.")
@output_options
@click.pass_obj
def watches(app: App, prune: bool, yes: bool, fmt: str) -> None:
    """The watches (named queries) with their mention counts.

    A watch renamed or removed in the config stays in the database, "retired":
    its mentions are still searchable. --prune deletes the retired watches, their
    links to mentions and their counts; the mentions themselves stay.

    \b
    Example:
        listener watches
        listener watches --prune --yes
    """
    configured = app.config_file.exists()
    if prune and not configured:
        raise click.UsageError(
            f"--prune keeps the watches the config names, and there is no {app.config_file}"
        )
    active = {w.name for w in app.load_config().watches} if configured else None
    with app.open_store() as store:
        if prune:
            _prune(store, active or set(), yes)
            return
        rows = store.watches()
    state = ["" if active is None else "active" if r.name in active else "retired" for r in rows]
    render(
        ["name", "query", "mentions", "last_24h", "state"],
        [(*astuple(r), s) for r, s in zip(rows, state, strict=True)],
        fmt,
    )


def _prune(store: ListenerStore, active: set[str], yes: bool) -> None:
    """Delete the retired watches after a confirmation, and say what went."""
    retired = [r for r in store.watches() if r.name not in active]
    if not retired:
        click.echo("No retired watches: every watch in the database is in the config.", err=True)
        return
    names = ", ".join(f"{r.name} ({r.mentions} mentions)" for r in retired)
    if not yes:
        click.confirm(f"Delete the retired watches {names}? Their mentions stay", abort=True)
    for name, links in store.prune_watches(sorted(active)):
        click.echo(f"Removed watch {name} and its links to {links} mentions (the mentions stay).")
