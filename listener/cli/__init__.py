"""The ``listener`` command line: one click group, one verb per command, one module per verb.

The group knows its verbs by name only (``COMMANDS``) and imports a verb's
module when that verb is run or asked for its help, the way click's docs load
subcommands lazily: ``listener --version`` and ``listener sql`` start in a
tenth of a second instead of waiting for pandas and scipy, which only the
commands that analyse import.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

import click

from listener import __version__
from listener.cli.app import App, ListenerGroup
from listener.records import clock_from_env, use_clock

__all__ = ["COMMANDS", "App", "cli", "main"]

COMMANDS: Mapping[str, str] = {
    "alerts": "listener.cli.alerts:alerts",
    "authors": "listener.cli.authors:authors",
    "backtest": "listener.cli.backtest:backtest",
    "collect": "listener.cli.collect:collect",
    "demo": "listener.cli.demo:demo",
    "digest": "listener.cli.digest:digest",
    "export-series": "listener.cli.export_series:export_series",
    "forget": "listener.cli.forget:forget",
    "init": "listener.cli.init:init",
    "migrate": "listener.cli.migrate:migrate",
    "rescore": "listener.cli.rescore:rescore",
    "run": "listener.cli.run:run",
    "search": "listener.cli.search:search",
    "sentiment": "listener.cli.sentiment:sentiment",
    "serve": "listener.cli.serve:serve",
    "sql": "listener.cli.sql:sql",
    "status": "listener.cli.status:status",
    "watches": "listener.cli.watches:watches",
}


def _load(name: str, target: str) -> click.Command:
    module, _, attr = target.partition(":")
    command = getattr(importlib.import_module(module), attr)
    if not isinstance(command, click.Command):  # pragma: no cover (a wrong table entry)
        raise TypeError(f"{target} is not a click command (listener {name})")
    return command


class LazyCommands(MutableMapping[str, click.Command]):
    """``Group.commands`` that imports a verb the first time it is looked up.

    Names and ``len`` come from the table, so ``listener --help`` lists every verb
    and ``set(cli.commands)`` needs no import; ``cli.commands[name]`` loads one.
    """

    def __init__(self, table: Mapping[str, str]) -> None:
        self.table = dict(table)
        self.loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self.loaded:
            self.loaded[name] = _load(name, self.table[name])  # KeyError: no such verb
        return self.loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:  # add_command, plug-ins
        self.loaded[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self.table.pop(name, None)
        self.loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted({*self.table, *self.loaded}))

    def __len__(self) -> int:
        return len({*self.table, *self.loaded})


class LazyGroup(ListenerGroup):
    """A ``ListenerGroup`` whose subcommands are imported when invoked (``COMMANDS``)."""

    def __init__(self, name: str | None = None, *, lazy_commands: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(name, LazyCommands(lazy_commands), **kwargs)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self.commands.get(cmd_name)


@click.group(cls=LazyGroup, lazy_commands=COMMANDS)
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


def main() -> None:
    """The console script: ``listener``."""
    if value := os.environ.get("LISTENER_CLOCK"):  # the demo's story clock; see records.clock_from_env
        use_clock(clock_from_env(value))
    cli(prog_name="listener")
