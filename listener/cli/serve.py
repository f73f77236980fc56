"""``listener serve``: the triage inbox in the browser, on Datasette.

Datasette and uvicorn are imported when the command runs, never by ``listener --help``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

import click

from listener.cli.app import App
from listener.errors import ConfigError

__all__ = ["serve"]

HASH_PREFIX = "pbkdf2_sha256$"  # what datasette-auth-passwords' hash-password writes


def password_hash_env(host: str, env_name: str, environ: Mapping[str, str]) -> str | None:
    """The variable holding the login's password hash when it is set, else None.

    Anything but a loopback address needs it: the inbox shows and changes the triage
    of every mention. A value that is not a hash (a pasted password) is refused.
    """
    from listener.serve_settings import is_loopback

    value = environ.get(env_name, "") if env_name else ""
    if value and not value.startswith(HASH_PREFIX):
        raise ConfigError(
            f"serve: ${env_name} is not a password hash; make one with '.venv/bin/datasette hash-password' "
            "and put that in it, never the password itself"
        )
    if not value and not is_loopback(host):
        raise ConfigError(
            f"serve: {host} can be reached from other machines, so a password is required: set "
            f"{env_name or 'LISTENER_PASSWORD_HASH'} to a hash made by '.venv/bin/datasette hash-password' "
            "(and password_hash_env in [serve]), or listen on --host 127.0.0.1"
        )
    return env_name if value else None


@click.command()
@click.option("--host", help="Address to listen on [default: [serve] host, else 127.0.0.1].")
@click.option(
    "--port", type=click.IntRange(1, 65535), help="Port to listen on [default: [serve] port, else 8001]."
)
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 90),
              help="The inbox shows the stories of this many days.")  # fmt: skip
@click.pass_obj
def serve(app: App, host: str | None, port: int | None, days: int) -> None:
    """Open the triage inbox (and every table) in the browser, on Datasette.

    Stories ranked by what needs an answer first, with reply links and the
    author's history; mark them handled, ignored or escalated. Anything but
    127.0.0.1 needs a login: set $LISTENER_PASSWORD_HASH (or [serve]
    password_hash_env) to a hash from 'datasette hash-password'; the user
    name is 'admin'. Stop with Ctrl-C.

    \b
    Example:
        listener serve
        listener --db /var/lib/listener/listener.db serve --port 8001
    """
    from listener.serve_settings import ServeSettings

    if app.postgres_url() is not None:
        raise ConfigError(
            f"serve: the inbox runs on Datasette, which reads SQLite files only, and {app.config_file} "
            "names a PostgreSQL server; read it with 'listener sql', 'listener search' or psql"
        )
    config = app.load_config() if app.config_file.exists() or app.db_override is None else None
    settings = config.serve if config is not None else ServeSettings()
    host, port = host or settings.host, port or settings.port
    protected = password_hash_env(host, settings.password_hash_env, os.environ)
    with app.open_store():  # upgrades the schema and writes the config's own accounts first
        pass
    zone = (config.digest.timezone or config.alerts.timezone) if config is not None else "UTC"
    _run(app, host, port, days, zone, protected)


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before Datasette starts: a port in use is one line, not a traceback."""
    try:
        return socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    except OSError as exc:
        raise ConfigError(
            f"serve: cannot listen on {host}:{port} ({os.strerror(exc.errno) if exc.errno else exc}); "
            "is another 'listener serve' "
            "running there? Stop it, or pick another --port"
        ) from None


def _run(app: App, host: str, port: int, days: int, zone: str, protected: str | None) -> None:
    import asyncio

    import uvicorn

    from listener.inbox.site import ACCOUNT, Site, make_datasette

    listening = _listen(host, port)
    site = Site(db=app.db_path().resolve(), zone=zone, days=days, password_hash_env=protected,
                secret=os.environ.get("DATASETTE_SECRET") or None)  # fmt: skip
    datasette = make_datasette(site)
    asyncio.run(datasette.invoke_startup())
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"The inbox: http://{shown}:{port}/-/inbox  (the tables: http://{shown}:{port}/{site.db.stem})"
    )
    click.echo(f"Log in as '{ACCOUNT}'." if protected else "No login: only this machine can connect.")
    uvicorn.Server(uvicorn.Config(datasette.app(), log_level="warning")).run(sockets=[listening])
