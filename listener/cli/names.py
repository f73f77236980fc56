"""Watch and network names given on the command line: a typo is an error, not an empty answer.

``listener search --watch nope`` used to print nothing and exit 0, as if nobody
had talked about the brand. A name is known when the config or the database
knows it (a database read without a config knows only its own); a network's
alias (``twitter`` for ``x``) is accepted as the config suggests it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING, Any

import click

from listener.cli.app import App

if TYPE_CHECKING:
    from storage.interfaces import ListenerStore

__all__ = ["UnknownName", "check_network", "check_watch", "known_networks", "known_watches", "resolve"]


_PLURAL = {"watch": "watches", "network": "networks"}


class UnknownName(click.UsageError):
    """A usage error (exit 2) printed as one line, without click's usage block."""

    def show(self, file: IO[Any] | None = None) -> None:
        from listener.output import inert

        click.secho(f"Error: {inert(self.format_message(), one_line=True)}", fg="red", err=True)


def resolve(kind: str, value: str, known: Iterable[str]) -> str:
    """``value`` if it is one of ``known`` (a network's alias or case mended), else ``UnknownName``."""
    from listener.tokens import undecodable

    names = sorted(set(known))
    if value in names or undecodable(value) is not None:  # not text: the search says so, with the byte
        return value
    aliases = {name: name for name in names}
    if kind == "network":
        from listener.config import _NETWORK_ALIASES  # the config's own aliases

        aliases |= {alias: name for alias, name in _NETWORK_ALIASES.items() if name in names}
    if value.lower() in aliases:
        return aliases[value.lower()]
    close = difflib.get_close_matches(value.lower(), sorted(aliases), n=1, cutoff=0.6)
    hint = f"; did you mean {aliases[close[0]]!r}?" if close else ""
    listed = ", ".join(names) if names else "none yet"
    raise UnknownName(f"unknown {kind} {value!r}{hint} ({_PLURAL[kind]}: {listed})")


def known_watches(app: App, store: ListenerStore) -> set[str]:
    """The config's watches (when there is a config) and the database's."""
    names = {row.name for row in store.watches()}
    if app.config_file.exists():
        names |= {w.name for w in app.load_config().watches}
    return names


def known_networks(app: App, store: ListenerStore) -> set[str]:
    """Every network listener can collect, the config's sections and those with data in the database."""
    import collectors

    names = set(collectors.REGISTRY) | set(store.networks_seen())
    if app.config_file.exists():
        names |= set(app.load_config().networks)
    return names


def check_watch(app: App, store: ListenerStore, value: str | None) -> str | None:
    return None if value is None else resolve("watch", value, known_watches(app, store))


def check_network(app: App, store: ListenerStore, value: str | None) -> str | None:
    return None if value is None else resolve("network", value, known_networks(app, store))
