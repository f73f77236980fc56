"""``listener authors``: who writes about the brand, and who keeps writing badly of it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from listener.cli.app import App
from listener.output import output_options, render

if TYPE_CHECKING:
    from storage.authors import AuthorRow

__all__ = ["authors"]

COLUMNS = [
    "network", "handle", "names", "mentions", "negative", "neutral", "positive", "unscored",
    "replies_received", "first_seen", "last_seen", "author_key",
]  # fmt: skip


def _row(a: AuthorRow, fmt: str) -> tuple[object, ...]:
    names: object = ", ".join(a.names) if fmt in ("table", "csv", "tsv") else list(a.names)
    return (a.network, a.handle, names, a.mentions, a.negative, a.neutral, a.positive, a.unscored,
            a.replies_received, a.first_seen, a.last_seen, a.author_key)  # fmt: skip


PEOPLE = ["network", "handle", "names", "mentions", "neg", "neu", "pos", "replies", "first_seen", "last_seen"]


def _person(a: AuthorRow) -> tuple[object, ...]:
    """A row for people: sentiment counts short, first and last seen as days (UTC)."""
    return (a.network, a.handle, ", ".join(a.names), a.mentions, a.negative, a.neutral, a.positive,
            a.replies_received, a.first_seen[:10], a.last_seen[:10])  # fmt: skip


@click.command()
@click.option("--negative", is_flag=True, help="Repeat-negative authors: ordered by negative mentions.")
@click.option("--network", help="Only this network.")
@click.option("--min", "at_least", default=None, type=int,
              help="At least this many mentions (negative ones with --negative). [default: 2 with --negative, else 1]")  # fmt: skip
@click.option("--limit", default=50, show_default=True, help="At most this many rows.")
@output_options
@click.pass_obj
def authors(
    app: App, negative: bool, network: str | None, at_least: int | None, limit: int, fmt: str
) -> None:
    """Authors per network with their mentions by sentiment, own accounts left out.

    "replies_received" counts the replies our own accounts (the config's) posted to them.

    \b
    Example:
        listener authors --negative
        listener authors --network x --min 5 --json
    """
    at_least = at_least if at_least is not None else (2 if negative else 1)
    from listener.cli.names import check_network

    with app.open_store(sync=False) as store:
        network = check_network(app, store, network)
        rows = store.authors.top(negative=negative, network=network, at_least=at_least, limit=limit)
    if fmt == "table":  # what a person compares, in the terminal's width
        render(PEOPLE, [_person(a) for a in rows], fmt)
    else:
        render(COLUMNS, [_row(a, fmt) for a in rows], fmt)
    if fmt == "table" and not rows:
        what = "repeat-negative authors" if negative else "authors"
        click.echo(f"No {what} with at least {at_least} mentions yet.", err=True)
