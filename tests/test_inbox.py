"""``listener serve``'s Datasette, through Datasette's own test client: routes, triage, CSRF, login, metadata.

A hand-built day of Caffè Aurora in a real SQLite file: a double-charge complaint on
three networks, a troll negative day after day, a hostile post, a positive one, our
own reply. The browser tests (``test_inbox_browser.py``) drive the same pages in
Chromium on the demo's database.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner
from datasette_auth_passwords.utils import hash_password
from itsdangerous import BadSignature

from listener.cli import cli
from listener.clusters import assign_clusters
from listener.inbox import listener_fts
from listener.inbox.metadata import CANNED_QUERIES
from listener.inbox.site import ACCOUNT, InboxDatasette, Site, make_datasette
from listener.model import Mention, Page
from listener.stories import answer_first
from storage import Store

NOW = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)
COMPLAINT = "Caffè Aurora app charged me twice for one order and nobody answers, I want a refund now"
HOSTILE = '<script>alert("x")</script> Caffè Aurora <img src=x onerror=alert(1)> perché?'


def at(hours_ago: float) -> datetime:
    return NOW - timedelta(hours=hours_ago)


def day() -> list[tuple[Mention, str]]:
    items = [
        (Mention("reddit", "t3_abc1", COMPLAINT, at(10), url="https://www.reddit.com/r/italy/comments/abc1/x/",
                 author_id="t2_marta", author_handle="marta_l", language="en", like_count=30), "negative"),
        (Mention("x", "1001", COMPLAINT + "!!", at(9), url="https://x.com/fede_92/status/1001", author_id="92",
                 author_handle="fede_92", language="en", like_count=8), "negative"),
        (Mention("mastodon", "mastodon.social/2001", COMPLAINT + " #auroradown", at(8),
                 url="https://mastodon.social/@ordini/2001", author_id="mastodon.social/7",
                 author_handle="ordini_falliti@mastodon.social", language="en", like_count=2), "negative"),
        (Mention("x", "1002", "Adoro la nuova miscela di Caffè Aurora, il miglior espresso di Milano", at(7),
                 url="https://x.com/lucia/status/1002", author_id="55", author_handle="lucia", language="it",
                 like_count=4000, repost_count=900), "positive"),
        (Mention("rss", "feed-1", HOSTILE, at(6), url="javascript:alert(1)", author_handle="<b>evil</b>",
                 language="it"), "negative"),
        (Mention("x", "1003", "Sorry, we are refunding everyone today", at(5), author_id="1",
                 author_handle="caffe_aurora", language="en"), "neutral"),
    ]  # fmt: skip
    troll = [
        (Mention("x", f"90{d}", f"Caffè Aurora again: worst coffee in town, day {d}", at(4 + 24 * d),
                 author_id="77", author_handle="gianni_brontolo", language="en"), "negative")
        for d in range(4)
    ]  # fmt: skip
    return items + troll


def seed(store: Store) -> dict[str, int]:
    store.sync_watches([("brand", "aurora"), ("app", "#auroradown")])
    store.authors.set_own_accounts([("x", "caffe_aurora")])
    items = day()
    for network in sorted({m.network for m, _ in items}):
        page = [m for m, _ in items if m.network == network]
        watches = {m.native_id: ("brand", "app") if "#auroradown" in m.text else ("brand",) for m in page}
        store.save_page(Page(network, "brand", page, matches=watches), now=NOW)
    ids = {native: i for i, native in store.conn.execute("SELECT id, native_id FROM mentions")}
    store.set_sentiment([(ids[m.native_id], label, 0.9, "test", None) for m, label in items])
    assign_clusters(store)
    return ids


class Client:
    """Datasette's test client with a cookie jar, one event loop for the whole test."""

    def __init__(self, datasette: InboxDatasette) -> None:
        self.datasette = datasette
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(datasette.invoke_startup())
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        call = getattr(self.datasette.client, method)
        response = self.loop.run_until_complete(call(path, cookies=self.cookies, **kwargs))
        self.cookies.update(response.cookies)
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("get", path, **kwargs)

    def post(self, path: str, data: dict[str, str], **kwargs: Any) -> Any:
        return self.request("post", path, data=data, **kwargs)

    def close(self) -> None:
        self.loop.close()


@pytest.fixture
def site(db_path: Path) -> Site:
    with Store.open(db_path) as store:
        seed(store)
    return Site(db=db_path, zone="Europe/Rome", days=2, clock=lambda: NOW)


@pytest.fixture
def client(site: Site) -> Iterator[Client]:
    opened = Client(make_datasette(site))
    yield opened
    opened.close()


def cards(html: str) -> list[str]:
    return re.findall(r'<article class="story.*?</article>', html, re.S)


def form_of(card: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', card))


def test_the_homepage_is_the_inbox(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302 and response.headers["location"] == "/-/inbox"


def test_the_inbox_ranks_the_complaint_first_and_tags_the_troll_not_the_customers(
    client: Client, site: Site
) -> None:
    response = client.get("/-/inbox")
    assert response.status_code == 200
    assert '<meta name="viewport" content="width=device-width' in response.text
    found = cards(response.text)
    assert "charged me twice" in found[0] and "3 posts: mastodon 1 · reddit 1 · x 1" in found[0]
    assert "customer: answer" in found[0]
    assert 'href="https://www.reddit.com/r/italy/comments/abc1/x/"' in found[0]
    troll = next(c for c in found if "gianni_brontolo" in c)
    assert "troll: do not feed" in troll and "negative on 4 days of the last 30" in troll
    assert not any("troll" in c for c in found if "gianni_brontolo" not in c)
    assert not any("Sorry, we are refunding" in c for c in found)  # our own post is no story
    # the digest links each story to its card here: /-/inbox#story-KEY, KEY the story's key
    with Store.open(site.db, create=False) as store:
        first = answer_first(store, (), NOW - timedelta(days=site.days), NOW, NOW, site.zone)[0]
    assert f'id="story-{first.story.key}"' in found[0]


def test_text_from_the_internet_is_escaped(client: Client) -> None:
    html = client.get("/-/inbox").text
    hostile = next(c for c in cards(html) if "onerror" in c)
    assert "<script>" not in hostile and "&lt;script&gt;" in hostile
    assert "<img" not in hostile and "<b>evil</b>" not in hostile and "&lt;b&gt;evil&lt;/b&gt;" in hostile
    assert "javascript:" not in hostile


@pytest.mark.parametrize(
    ("query", "expected", "absent"),
    [
        ("q=refund", "charged me twice", "Adoro"),
        ("q=PERCHÉ", "onerror", "charged me twice"),  # accents and case do not matter
        ("sentiment=positive", "Adoro", "charged me twice"),
        ("network=mastodon", "charged me twice", "Adoro"),  # the story has a copy there
        ("lang=it", "Adoro", "charged me twice"),
        ("watch=app", "charged me twice", "gianni_brontolo"),
    ],
)
def test_filters_and_search(client: Client, query: str, expected: str, absent: str) -> None:
    name, _, value = query.partition("=")
    found = cards(client.get("/-/inbox?" + urlencode({name: value})).text)
    assert any(expected in c for c in found) and not any(absent in c for c in found)


def test_a_chart_per_watch_with_real_text(client: Client) -> None:
    html = client.get("/-/inbox").text
    assert re.findall(r"<figcaption>(\w+)</figcaption><svg", html) == ["app", "brand"]
    assert "<text" in html or "font-family" in html  # labels are text, not pixels
    one = client.get("/-/inbox?watch=app").text
    assert re.findall(r"<figcaption>(\w+)</figcaption><svg", one) == ["app"]


def test_a_search_syntax_error_is_shown_on_the_page(client: Client) -> None:
    response = client.get("/-/inbox?" + urlencode({"q": "(refund"}))
    assert response.status_code == 200
    assert "unbalanced parenthesis" in response.text and "(refund" in response.text
    assert cards(response.text) == []


def test_marking_a_story_handled_moves_it_to_the_done_view_and_back(client: Client, site: Site) -> None:
    [complaint] = [c for c in cards(client.get("/-/inbox").text) if "charged me twice" in c]
    form = form_of(complaint)
    assert form["csrftoken"] and form["back"] == "/-/inbox"
    done = client.post("/-/inbox/triage", {**form, "state": "handled", "note": "refunded, DM sent"})
    assert done.status_code == 302 and done.headers["location"] == "/-/inbox"
    page = client.get("/-/inbox").text
    assert "3 mentions marked handled." in page
    assert not any("charged me twice" in c for c in cards(page))
    [shown] = [c for c in cards(client.get("/-/inbox?done=1").text) if "charged me twice" in c]
    assert "handled: refunded, DM sent" in shown
    with Store.open(site.db) as store:
        ids = [int(i) for i in form["ids"].split(",")]
        assert {s.state for s in store.triage.states(ids).values()} == {"handled"}
    client.post("/-/inbox/triage", {**form_of(shown), "state": "open"})
    assert any("charged me twice" in c for c in cards(client.get("/-/inbox").text))


def test_the_done_view_shows_a_story_too_quiet_to_be_among_those_read(client: Client) -> None:
    """Marked from a search, a quiet story is not among the few most engaged the inbox reads:
    the done view finds it through what was decided, latest first."""
    [quiet] = [c for c in cards(client.get("/-/inbox?q=worst").text) if "worst coffee" in c]
    client.post("/-/inbox/triage", {**form_of(quiet), "state": "ignored", "note": "troll"})
    shown = cards(client.get("/-/inbox?done=1&limit=1").text)
    assert shown and "worst coffee" in shown[0] and "ignored: troll" in shown[0]


def test_a_post_without_the_csrf_token_is_refused(client: Client, site: Site) -> None:
    form = form_of(cards(client.get("/-/inbox").text)[0])
    assert "ds_csrftoken" in client.cookies
    without = {k: v for k, v in form.items() if k != "csrftoken"}
    assert client.post("/-/inbox/triage", {**without, "state": "handled"}).status_code == 403
    client.cookies.clear()  # a cross-site form carries no cookie: asgi-csrf lets it through, we do not
    assert client.post("/-/inbox/triage", {**form, "state": "handled"}).status_code == 403
    with Store.open(site.db) as store:
        assert store.triage.states([int(i) for i in form["ids"].split(",")]) == {}


def test_a_bad_action_is_a_400_and_back_never_leaves_the_inbox(client: Client) -> None:
    form = form_of(cards(client.get("/-/inbox").text)[0])
    assert client.post("/-/inbox/triage", {**form, "state": "deleted"}).status_code == 400
    assert client.post("/-/inbox/triage", {**form, "ids": "1;DROP", "state": "handled"}).status_code == 400
    away = client.post("/-/inbox/triage", {**form, "state": "ignored", "back": "https://evil.example/"})
    assert away.headers["location"] == "/-/inbox"


def test_with_a_password_hash_every_page_needs_a_login(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INBOX_TEST_HASH", hash_password("s3cret-horse"))
    client = Client(make_datasette(replace(site, password_hash_env="INBOX_TEST_HASH")))
    try:
        for path in ("/-/inbox", f"/{site.db.stem}/mentions", f"/{site.db.stem}", "/-/metadata.json"):
            response = client.get(path)
            assert response.status_code == 302 and response.headers["location"] == "/-/login", path
        client.get("/-/login")
        token = client.cookies["ds_csrftoken"]
        wrong = client.post("/-/login", {"username": ACCOUNT, "password": "guess", "csrftoken": token})
        assert wrong.status_code == 200 and "Invalid username or password" in wrong.text
        right = client.post("/-/login", {"username": ACCOUNT, "password": "s3cret-horse", "csrftoken": token})
        assert right.status_code == 302 and "ds_actor" in client.cookies
        assert client.get("/-/inbox").status_code == 200
    finally:
        client.close()


def test_serve_refuses_a_public_address_without_a_password(db_path: Path) -> None:
    with Store.open(db_path):
        pass
    runner = CliRunner()
    env = {"LISTENER_PASSWORD_HASH": ""}
    result = runner.invoke(cli, ["--db", str(db_path), "serve", "--host", "0.0.0.0"], env=env)
    assert result.exit_code == 1
    [line] = result.output.splitlines()
    assert (
        line.startswith("Error: serve: 0.0.0.0 can be reached from other machines")
        and "--host 127.0.0.1" in line
    )
    env = {"LISTENER_PASSWORD_HASH": "hunter2"}  # a password, not its hash
    result = runner.invoke(cli, ["--db", str(db_path), "serve", "--host", "0.0.0.0"], env=env)
    assert (
        result.exit_code == 1 and "is not a password hash" in result.output and "hunter2" not in result.output
    )


def test_serve_says_in_one_line_that_its_port_is_taken(db_path: Path) -> None:
    with Store.open(db_path), socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        result = CliRunner().invoke(cli, ["--db", str(db_path), "serve", "--port", port])
    assert result.exit_code == 1
    [line] = result.output.splitlines()
    assert line == (
        f"Error: serve: cannot listen on 127.0.0.1:{port} (Address already in use); is another "
        "'listener serve' running there? Stop it, or pick another --port"
    )


# -- the Datasette side: search box, order, metadata, canned queries ---------------------------------


def test_the_mentions_table_has_a_search_box_that_ignores_accents(client: Client, site: Site) -> None:
    table = f"/{site.db.stem}/mentions"
    html = client.get(table).text
    assert 'name="_search"' in html
    for typed in ("Perché", "PERCHE", "perche"):
        found = client.get(f"{table}.json?" + urlencode({"_search": typed, "_shape": "array"})).json()
        assert [m["native_id"] for m in found] == ["feed-1"], typed
    found = client.get(
        f"{table}.json?" + urlencode({"_search": "refund* -auroradown", "_shape": "array"})
    ).json()
    assert sorted(m["native_id"] for m in found) == ["1001", "1003", "t3_abc1"]


def test_listener_fts_speaks_listener_s_query_language() -> None:
    assert listener_fts("Perché") == '"perche"'
    assert listener_fts('"Caffè Aurora" OR rimborso') == '("caffe aurora") OR ("rimborso")'
    assert listener_fts("lang:it aurora") == '"lang" "it" "aurora"'  # not text only: word by word
    assert listener_fts("((") == '""'


def test_tables_open_newest_first(client: Client, site: Site) -> None:
    rows = client.get(f"/{site.db.stem}/mentions.json?_shape=array").json()
    created = [r["created_at"] for r in rows]
    assert created == sorted(created, reverse=True) and len(created) == len(day())


def test_metadata_facets_and_column_descriptions(client: Client, site: Site) -> None:
    html = client.get(f"/{site.db.stem}/mentions").text
    for facet in ("network", "language", "sentiment_label"):
        assert f'data-column="{facet}"' in html
    assert "negative, neutral or positive" in html  # a column description
    assert "The search box finds words without accents" in html


@pytest.mark.parametrize("name", sorted(CANNED_QUERIES))
def test_every_canned_query_runs(client: Client, site: Site, name: str) -> None:
    params = {"handle": "@Gianni_Brontolo", "watch": "app"}
    response = client.get(f"/{site.db.stem}/{name}.json?_shape=array&" + urlencode(params))
    assert response.status_code == 200, response.text
    rows = response.json()
    assert isinstance(rows, list)
    if name == "author_mentions":
        assert len(rows) == 4 and {r["author_handle"] for r in rows} == {"gianni_brontolo"}
    if name == "watch_mentions":
        assert [r["network"] for r in rows] == ["mastodon"]


def test_serve_reads_its_address_and_password_variable_from_the_config(tmp_path: Path) -> None:
    config = tmp_path / "listener.toml"
    config.write_text(
        '[database]\npath = "listener.db"\n\n[serve]\nhost = "0.0.0.0"\npassword_hash_env = "INBOX_HASH"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["--config", str(config), "serve"], env={"INBOX_HASH": ""})
    assert result.exit_code == 1
    assert "0.0.0.0 can be reached from other machines" in result.output and "set INBOX_HASH" in result.output


def test_a_secret_keeps_the_login_across_a_restart(site: Site) -> None:
    """A login cookie signed before a restart is still good after it when $DATASETTE_SECRET is set."""
    kept = replace(site, secret="s3cret-from-the-environment")
    cookie = make_datasette(kept).sign({"a": {"id": ACCOUNT}}, "actor")
    assert make_datasette(kept).unsign(cookie, "actor") == {"a": {"id": ACCOUNT}}
    with pytest.raises(BadSignature):
        make_datasette(site).unsign(cookie, "actor")  # no secret: each start signs with a new one
    assert "s3cret" not in repr(kept)
