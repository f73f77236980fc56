"""``listener search``: full-text search of stored mentions."""

from __future__ import annotations

from dataclasses import astuple, fields
from datetime import datetime
from typing import Any

import click

from listener.cli.app import App
from listener.output import output_options, render
from listener.records import utcnow
from listener.timeparse import parse_moment

__all__ = ["search"]


def _rows(items: list[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Dataclass records as columns and rows for ``render``."""
    if not items:
        return [], []
    return [f.name for f in fields(items[0])], [astuple(item) for item in items]


def _since(value: str | None, now: datetime) -> datetime | None:
    return parse_moment(value, now) if value else None


@click.command()
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
    from listener.cli.names import check_network, check_watch
    from listener.query import parse
    from storage import SearchFilters

    now = utcnow()
    with app.open_store() as store:
        network, watch = check_network(app, store, network), check_watch(app, store, watch)
        filters = SearchFilters(_since(since, now), _since(until, now), network, lang, watch)
        if collapse:
            stories = store.clusters.search(parse(query) if query else None, filters, limit)
            _print(stories, STORY_COLUMNS, fmt, ["id", "created_at", "network", "copies", "networks", "text"])
            return
        hits = store.search(parse(query) if query else None, filters, limit)
    _print(hits, HIT_COLUMNS, fmt, ["id", "created_at", "network", "author_handle", "text"])


# What a person reads of a hit, in the terminal's width: the machine formats carry every field.
HIT_COLUMNS = {"id": "id", "created_at": "created_at", "network": "network", "author_handle": "author",
               "language": "lang", "sentiment_label": "sentiment", "text": "text", "url": "url"}  # fmt: skip
STORY_COLUMNS = {"id": "id", "latest": "latest", "copies": "copies", "networks": "networks",
                 "author_handle": "author", "sentiment_label": "sentiment", "text": "text", "url": "url"}  # fmt: skip


def _print(items: list[Any], people: dict[str, str], fmt: str, empty: list[str]) -> None:
    """Every field for machines (``empty``'s header when nothing matched); ``people``'s for people."""
    if fmt != "table":
        render(*_rows(items) if items else (empty, []), fmt)
        return
    render(list(people.values()), [[getattr(item, name) for name in people] for item in items], fmt)
