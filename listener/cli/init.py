"""``listener init``: a commented starter config and an empty database."""

from __future__ import annotations

import os
from importlib.resources import files

import click

from listener.cli.app import App
from listener.errors import ConfigError

__all__ = ["init"]


@click.command()
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@click.pass_obj
def init(app: App, force: bool) -> None:
    """Write a commented starter config and create the database.

    \b
    Example:
        listener init
        listener --config ~/brand/listener.toml init
    """
    path = app.config_file
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; edit it, or pass --force to overwrite it")
    starter = files("listener").joinpath("starter.toml").read_bytes()
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
        click.echo(f"Created {app.db_path()} ({len(app.load_config().watches)} watches)")
    click.echo("Next: edit the watches and networks in the config, then run 'listener status'.")
