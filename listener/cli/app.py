"""What every command shares: the ``App`` passed as ``ctx.obj``, the error edge, the exit codes.

Light on purpose: this module is imported by ``listener --version``, so the
config (pydantic), the store and the output
helpers (tabulate) are imported only by the methods that use them.
"""

from __future__ import annotations

import os
import sys
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from listener.errors import ListenerError

if TYPE_CHECKING:
    from listener.config import Config
    from storage.interfaces import ListenerStore

__all__ = ["EXIT_ERROR", "EXIT_PARTIAL", "App", "ListenerGroup"]

EXIT_ERROR, EXIT_PARTIAL = 1, 3  # 0 ok, 1 error, 2 usage (click), 3 partial: some sources or rows


class App:
    """What commands share: where the config and database are, opened on demand."""

    def __init__(self, config: str | None, db: str | None) -> None:
        self.config_option = config
        self.db_override = Path(db) if db else None
        self._config: Config | None = None

    @cached_property
    def config_file(self) -> Path:
        """``--config``, else ``$LISTENER_CONFIG``, else ``./listener.toml``.

        A property so that ``listener --db x.db sql ...`` never imports the config's models.
        """
        from listener.config import config_path

        return config_path(self.config_option)

    def load_config(self) -> Config:
        if self._config is None:
            from listener.config import load_config

            self._config = load_config(self.config_file)
        return self._config

    def db_path(self) -> Path:
        """``--db``/``$LISTENER_DB``, else the config's ``database.path``: the SQLite file.

        Commands that only work on a SQLite file (``serve``, ``sql`` for now) call this; a config
        naming a PostgreSQL server gets one line saying so, never a ``listener.db`` beside it.
        """
        if self.db_override:
            return self.db_override
        config = self.load_config()
        if config.postgres is not None:
            from listener.errors import ConfigError

            context = click.get_current_context(silent=True)
            command = f"'listener {context.info_name}'" if context and context.info_name else "this command"
            raise ConfigError(
                f"{config.path}: database.url: {command} works on a SQLite file only; "
                "give one with --db (or $LISTENER_DB)"
            )
        return config.database

    def database_name(self) -> str:
        """Where the data is, for a message: the SQLite file, or the server and database (never a password)."""
        server = self.postgres_url()
        if server is None:
            return str(self.db_path())
        from storage.pg.failures import url_name

        return url_name(server)

    def postgres_url(self) -> str | None:
        """The config's server URL (no password in it), unless ``--db`` names a SQLite file."""
        if self.db_override:
            return None
        settings = self.load_config().postgres
        return settings.url if settings is not None else None

    def postgres(self) -> tuple[str, str | None] | None:
        """The config's PostgreSQL server as (url, password), unless ``--db`` names a SQLite file."""
        url = self.postgres_url()
        settings = self.load_config().postgres if url is not None else None
        if url is None or settings is None:
            return None
        from listener.database_settings import password

        return url, password(settings, os.environ)

    def open_store(self, sync: bool = True) -> ListenerStore:
        """The store (SQLite, or PostgreSQL when the config names a server); with ``sync``,
        the config's watches and own accounts are written into it first."""
        server = self.postgres()
        if server is not None:
            from storage.pg.store import PgStore

            store: ListenerStore = PgStore.open(*server)
        else:
            from storage import Store

            origin = "" if self.db_override else f"database.path in {self.config_file}"
            store = Store.open(self.db_path(), create=self.db_override is None, origin=origin)
        if sync and (self.config_file.exists() or self.db_override is None):
            config = self.load_config()
            try:
                store.sync_watches([(w.name, w.query) for w in config.watches])
                store.authors.set_own_accounts(config.own_accounts())
            except BaseException:
                store.close()  # the caller never gets it to close
                raise
        return store


class ListenerGroup(click.Group):
    """Prints a ``ListenerError`` as one line on stderr and exits 1: never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ListenerError as exc:
            from listener.output import inert

            click.secho(f"Error: {inert(str(exc), one_line=True)}", fg="red", err=True)
            sys.exit(EXIT_ERROR)
