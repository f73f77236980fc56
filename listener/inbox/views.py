"""The inbox's routes: the page (GET), the triage actions (POST), the homepage redirect.

Reads and writes go through listener's ``ListenerStore`` (never SQL here), opened per request
in a worker thread: SQLite connections stay in the thread that made them, and the
event loop keeps serving while a page is read. Datasette's own connections to the
same file are read-only.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Any
from urllib.parse import urlencode

from datasette.utils.asgi import Response

from listener.inbox.page import DEFAULT_LIMIT, MAX_LIMIT, SENTIMENTS, Filters, Page, read_page
from listener.inbox.site import INBOX_PATH, Site, site_of
from storage import Store
from storage.triage import STATES

__all__ = ["home", "inbox", "triage"]

MAX_IDS = 10_000  # a story's members in one form; more is not a form this page wrote


def _site(datasette: Any) -> Site:
    site = site_of(datasette)
    assert site is not None  # the routes exist only on an inbox's Datasette
    return site


def _read(site: Site, filters: Filters) -> Page:
    with Store.open(site.db, create=False) as store:
        return read_page(store, filters, site.clock(), site.zone, site.days, site.rule)


async def home(datasette: Any, request: Any) -> Response:
    return Response.redirect(datasette.urls.path(INBOX_PATH))


async def inbox(datasette: Any, request: Any) -> Response:
    await datasette.ensure_permissions(request.actor, ["view-instance"])
    site = _site(datasette)
    filters = Filters.from_args(request.args)
    page = await asyncio.to_thread(_read, site, filters)
    context = {
        "page": page,
        "sentiments": SENTIMENTS,
        "here": request.full_path,
        "zone": site.zone,
        "database": site.db.stem,
        "toggle_done": _url(datasette, filters, done=not filters.done, limit=None),
        "more": _url(datasette, filters, limit=min(filters.limit * 4, MAX_LIMIT))
        if len(page.cards) >= filters.limit and filters.limit < MAX_LIMIT
        else None,
    }
    return Response.html(await datasette.render_template("listener_inbox.html", context, request=request))


def _url(datasette: Any, filters: Filters, **change: Any) -> str:
    values = {"watch": filters.watch, "network": filters.network, "lang": filters.lang,
              "sentiment": filters.sentiment, "q": filters.q, "done": filters.done,
              "limit": filters.limit if filters.limit != DEFAULT_LIMIT else None} | change  # fmt: skip
    query = {k: ("1" if v is True else v) for k, v in values.items() if v}
    path: str = datasette.urls.path(INBOX_PATH)
    return f"{path}?{urlencode(query)}" if query else path


def _ids(value: str) -> list[int]:
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if not parts or len(parts) > MAX_IDS or not all(p.isdigit() for p in parts):
        raise ValueError("no mentions named")
    return [int(p) for p in parts]


def _back(datasette: Any, value: str) -> str:
    """Where to go after an action: back to the inbox page it came from, never elsewhere."""
    inbox_path: str = datasette.urls.path(INBOX_PATH)
    return value if value == inbox_path or value.startswith(inbox_path + "?") else inbox_path


async def triage(datasette: Any, request: Any) -> Response:
    """Mark a story's members handled, ignored or escalated (with a note), or reopen them."""
    await datasette.ensure_permissions(request.actor, ["view-instance"])
    if request.method != "POST":
        return Response.text("Use the buttons of the inbox page (POST).", status=405)
    form = await request.post_vars()
    # asgi-csrf skips requests that carry no cookie at all (a cross-site form does not):
    # this write needs the token it compared with its cookie, whatever the middleware did.
    cookie, token = request.cookies.get("ds_csrftoken", ""), form.get("csrftoken", "")
    if not cookie or not token or not hmac.compare_digest(cookie, token):
        return Response.text("Refused: the form's CSRF token is missing; reload the inbox.", status=403)
    state = form.get("state", "")
    try:
        ids = _ids(form.get("ids", ""))
        if state not in (*STATES, "open"):
            raise ValueError(f"unknown state {state!r}")
    except ValueError as exc:
        return Response.text(f"Bad request: {exc}.", status=400)
    site = _site(datasette)
    note = (form.get("note") or "").strip()[:2000] or None

    def write() -> int:
        with Store.open(site.db, create=False) as store:
            return store.triage.set(ids, None if state == "open" else state, note, now=site.clock())

    changed = await asyncio.to_thread(write)
    done = "reopened" if state == "open" else f"marked {state}"
    datasette.add_message(request, f"{changed} mention{'s' * (changed != 1)} {done}.", datasette.INFO)
    return Response.redirect(_back(datasette, form.get("back", "")))
