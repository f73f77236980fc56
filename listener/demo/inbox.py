"""The demo's last act: the inbox's first stories in the terminal, and how to open it in a browser.

The list is the one ``listener serve`` shows (``listener.stories.answer_first``):
the double-charged customers on top, tagged to answer; the troll, negative day
after day, at the bottom with "do not feed".
"""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta
from pathlib import Path

import click
from tabulate import tabulate

from listener.output import inert
from listener.stories import AUTHOR_TAGS, RankedStory, answer_first
from storage import Store

__all__ = ["show_inbox"]


def _row(rank: int, ranked: RankedStory) -> tuple[object, ...]:
    lead = ranked.story.lead
    who = inert(lead.author_handle or lead.author_name or "?", one_line=True)
    tag = AUTHOR_TAGS.get(ranked.author or "", "")
    networks = ranked.story.networks
    spread = ", ".join(f"{network} {n}" for network, n in networks[:2])
    spread += f" +{len(networks) - 2}" if len(networks) > 2 else ""
    text = textwrap.shorten(inert(lead.text, one_line=True), 46, placeholder="…")
    return rank, f"{who}\n{tag}".strip(), spread, text


def show_inbox(database: Path, config: Path, zone: str, now: datetime, count: int = 5) -> None:
    """The first ``count`` stories of the last week's inbox, then the trolls found further down."""
    with Store.open(database, create=False) as store:
        own = store.authors.own_accounts()
        ranked = answer_first(store, own, now - timedelta(days=7), now, now, zone, limit=200)
    rows = [_row(i, r) for i, r in enumerate(ranked[:count], 1)]
    click.echo(tabulate(rows, headers=("#", "author", "networks", "what they wrote"), tablefmt="simple"))
    trolls = sorted({r.story.lead.author_handle or "?" for r in ranked if r.author == "troll"})
    if trolls:
        last = max(i for i, r in enumerate(ranked, 1) if r.author == "troll")
        click.echo(
            f"Do not feed: {', '.join(inert(t, one_line=True) for t in trolls)}, negative on many days "
            f"(ranked down to #{last} of {len(ranked)})."
        )
    click.echo(f"Open the inbox in a browser: listener --config {config} serve")
    click.echo("  then http://127.0.0.1:8001/-/inbox (Ctrl-C stops it)")
