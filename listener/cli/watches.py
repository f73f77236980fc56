"""``listener watches``: the named queries and how much each has found."""

from __future__ import annotations

from dataclasses import astuple

import click

from listener.cli.app import App
from listener.output import output_options, render

__all__ = ["watches"]


@click.command()
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
