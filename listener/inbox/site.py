"""One inbox: which database, which clock and zone, and whether a login is required.

``make_datasette`` builds the Datasette that ``listener serve`` runs and the tests
drive. Datasette's plugin manager is global to the process, so our hooks find the
inbox they serve through ``site_of(datasette)``; a Datasette made any other way
gets nothing from them. The site is set before Datasette's constructor runs,
because the constructor already asks the plugins for their routes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from datasette.app import Datasette

from listener.inbox.metadata import metadata
from listener.records import utcnow
from listener.stories import TrollRule

__all__ = ["ACCOUNT", "InboxDatasette", "Site", "make_datasette", "site_of"]

# Importing Datasette turns SQLite's callback tracebacks on for the whole process; our SQL
# functions refuse work by raising (storage.readonly), and the error says why: no traceback.
sqlite3.enable_callback_tracebacks(False)

ACCOUNT = "admin"  # the one login name; its password hash is in the environment
INBOX_PATH = "/-/inbox"


@dataclass(frozen=True)
class Site:
    """What the inbox's pages need besides the request."""

    db: Path
    zone: str = "UTC"
    days: int = 7  # the inbox shows the stories of this many days back
    rule: TrollRule = field(default_factory=TrollRule)
    password_hash_env: str | None = None  # set: every page requires a login
    clock: Callable[[], datetime] = utcnow
    # Signs the login cookie ($DATASETTE_SECRET, as Datasette's own CLI reads it): with it a
    # restart keeps everyone logged in; without it each start makes a new one.
    secret: str | None = field(default=None, repr=False)


class InboxDatasette(Datasette):  # type: ignore[misc]  # Datasette is untyped
    def __init__(self, site: Site, **kwargs: Any) -> None:
        self.listener_site = site
        super().__init__(**kwargs)


def site_of(datasette: Any) -> Site | None:
    """The inbox this Datasette serves, or None for a Datasette our hooks should leave alone."""
    return datasette.listener_site if isinstance(datasette, InboxDatasette) else None


def _metadata(site: Site) -> dict[str, Any]:
    data = metadata(site.db.stem, INBOX_PATH)
    if site.password_hash_env:
        data["allow"] = {"id": "*"}  # anonymous visitors may not view the instance: the login page only
        data["plugins"] = {
            "datasette-auth-passwords": {f"{ACCOUNT}_password_hash": {"$env": site.password_hash_env}}
        }
    return data


def make_datasette(site: Site) -> InboxDatasette:
    """A Datasette on ``site.db`` (mutable, read-only connections) with the inbox plugin."""
    from datasette.plugins import pm

    import listener.inbox as plugin

    if not pm.is_registered(plugin):
        pm.register(plugin, name="listener-inbox")
    return InboxDatasette(
        site,
        files=[str(site.db)],
        metadata=_metadata(site),
        secret=site.secret,
        settings={"sql_time_limit_ms": 5000, "default_page_size": 50},
    )
