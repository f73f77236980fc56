"""The triage inbox: listener's Datasette plugin (``listener serve``).

Registered by ``listener.inbox.site.make_datasette``, never through an entry
point, so a plain ``datasette`` elsewhere in the same environment is left alone.
Every hook first asks ``site_of(datasette)`` whether this Datasette is an inbox.
The page lives in ``listener.inbox.views``, its template in ``templates/``.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pluggy
from datasette.utils.asgi import Response

from listener.errors import QueryError
from listener.inbox.site import INBOX_PATH, site_of
from listener.inbox.views import home, inbox, triage
from listener.query import is_fts, parse, to_fts
from listener.tokens import tokens
from storage.search import register_functions

__all__ = ["forbidden", "menu_links", "prepare_connection", "register_routes"]

hookimpl = pluggy.HookimplMarker("datasette")  # datasette.hookimpl, typed


def listener_fts(search: str) -> str:
    """Datasette's table search in listener's words: the index holds lower-case words without accents.

    A text query of listener's language (``refund OR rimborso``, ``"caffè aurora"``,
    ``-promo``, ``auror*``) keeps its meaning; anything else is searched word by word.
    """
    try:
        node = parse(search)
    except QueryError:
        node = None
    if node is not None and is_fts(node):
        return to_fts(node)
    return " ".join(f'"{word}"' for word in tokens(search)) or '""'


@hookimpl(trylast=True)  # after Datasette's own escape_fts, so that ours is the one registered
def prepare_connection(conn: sqlite3.Connection, database: str, datasette: Any) -> None:
    if site_of(datasette) is None:
        return
    register_functions(conn)  # the index's words come from listener's tokenizer
    conn.create_function("escape_fts", 1, listener_fts, deterministic=True)


@hookimpl
def register_routes(datasette: Any) -> list[tuple[str, Any]]:
    if site_of(datasette) is None:
        return []
    return [(r"^/$", home), (rf"^{INBOX_PATH}$", inbox), (rf"^{INBOX_PATH}/triage$", triage)]


@hookimpl
def forbidden(datasette: Any, request: Any, message: str) -> Any:
    """An anonymous visitor of a password-protected inbox is sent to the login page."""
    site = site_of(datasette)
    if site is None or not site.password_hash_env or request.actor:
        return None
    return Response.redirect(datasette.urls.path("/-/login"))


@hookimpl
def menu_links(datasette: Any, actor: Any) -> list[dict[str, str]]:
    if site_of(datasette) is None:
        return []
    return [{"href": datasette.urls.path(INBOX_PATH), "label": "Inbox"}]
