"""``listener init``: a commented starter config and an empty database (a SQLite file, or a server's schema)."""

from __future__ import annotations

import json
import os
from importlib.resources import files
from pathlib import Path

import click

from listener.cli.app import App
from listener.errors import ConfigError

__all__ = ["init"]


_SQLITE = '# Relative paths are relative to this file.\npath = "listener.db"\n'


@click.command()
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@click.option("--url", help="A PostgreSQL server instead of a SQLite file: postgresql://user@host/database.")
@click.option("--password-env", help="With --url: the environment variable holding the server's password.")
@click.pass_obj
def init(app: App, force: bool, url: str | None, password_env: str | None) -> None:
    """Write a commented starter config and create the database.

    With --url, the config names a PostgreSQL server (its password stays in the
    environment variable --password-env names) and the schema is created there.

    \b
    Example:
        listener init
        listener --config ~/brand/listener.toml init
        listener init --url postgresql://listener@db.example.org/listener --password-env LISTENER_PG_PASSWORD
    """
    path = app.config_file
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; edit it, or pass --force to overwrite it")
    starter = _starter(path, url, password_env)
    try:  # private: it names the variables that hold the tokens, and where the data lives
        path.parent.mkdir(parents=True, exist_ok=True)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
            out.write(starter)
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot write the config ({exc.strerror}); free space or pick a writable folder"
        ) from None
    with app.open_store():
        click.echo(f"Wrote {path}")
        created = "the schema on " if url else ""
        click.echo(f"Created {created}{app.database_name()} ({len(app.load_config().watches)} watches)")
    click.echo("Next: edit the watches and networks in the config, then run 'listener status'.")


def _starter(path: Path, url: str | None, password_env: str | None) -> bytes:
    """The starter config; with ``url``, its ``[database]`` names the server, checked before it is written."""
    from listener.config import parse_config

    text = files("listener").joinpath("starter.toml").read_text(encoding="utf-8")
    if url is None:
        if password_env is not None:
            raise click.UsageError("--password-env goes with --url")
        return text.encode("utf-8")
    server = f"# A PostgreSQL server (docs/deployment.md); its password is never in this file.\nurl = {json.dumps(url)}\n"
    if password_env is not None:
        server += f"password_env = {json.dumps(password_env)}\n"
    text = text.replace(_SQLITE, server, 1)
    parse_config(text, path)  # a URL holding a password is refused here, never written
    return text.encode("utf-8")
