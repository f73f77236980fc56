"""The inbox in a real headless Chromium, served by ``listener serve`` on a copy of the demo's database.

What a person at a phone or a laptop does: open the inbox, search, filter by
sentiment, mark a story handled and find it in the done view; a login when a
password hash is set; no page wider than a 390 px phone, the digest included.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from datasette_auth_passwords.utils import hash_password
from playwright.sync_api import Browser, Page, expect

from tests.browser import serve
from tests.material import Demo

PHONE = {"width": 390, "height": 844}
PASSWORD = "correct-horse-battery"


def copy_demo(demo: Demo, folder: Path) -> Path:
    """The demo's config and a copy of its database (SQLite's backup: the WAL included)."""
    assert demo.returncode == 0, demo.stderr[-3000:]
    folder.mkdir()
    shutil.copy(demo.folder / "listener.toml", folder / "listener.toml")
    with sqlite3.connect(demo.folder / "demo.db") as source, sqlite3.connect(folder / "demo.db") as target:
        source.backup(target)
    source.close()
    target.close()
    return folder / "listener.toml"


def _env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("LISTENER_")}, **extra}


@pytest.fixture
def inbox(demo: Demo, tmp_path: Path) -> Iterator[str]:
    yield from serve(copy_demo(demo, tmp_path / "demo"), _env())


@pytest.fixture
def locked_inbox(demo: Demo, tmp_path: Path) -> Iterator[str]:
    """Bound to every address (reachable from other machines): the case that needs the login."""
    env = _env(LISTENER_PASSWORD_HASH=hash_password(PASSWORD))
    yield from serve(copy_demo(demo, tmp_path / "demo"), env, host="0.0.0.0")


def stories(page: Page) -> list[str]:
    return page.locator("article.story").all_inner_texts()


def wide(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def crisis_day(config: Path) -> str:
    """The local day (the demo's zone) most of the marked mentions were posted on."""
    with sqlite3.connect(config.parent / "demo.db") as db:
        times = [row[0] for row in db.execute(
            "SELECT m.created_at FROM triage t JOIN mentions m ON m.id = t.mention_id")]  # fmt: skip
    db.close()
    zone = ZoneInfo("Europe/Rome")
    days = Counter(datetime.fromisoformat(t).astimezone(zone).date().isoformat() for t in times)
    return days.most_common(1)[0][0]


def digest_of(config: Path, day: str, folder: Path) -> Path:
    """``listener digest --date day --preview``, as a person would run it: the HTML file."""
    out = folder / f"digest-{day}.html"
    done = subprocess.run(
        [sys.executable, "-m", "listener.cli", "--config", str(config), "digest", "--date", day, "--preview", str(out)],
        env=_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_search_filter_and_handle_a_story(browser_page: Page, inbox: str, tmp_path: Path) -> None:
    page = browser_page
    page.goto(f"{inbox}/")
    assert page.url == f"{inbox}/-/inbox"
    expect(page.locator("h1")).to_have_text("What to answer first")
    everything = stories(page)
    assert len(everything) == 50 and "customer: answer" in everything[0]
    assert not any("troll" in s and ("marta_l" in s or "fede_92" in s) for s in everything)

    page.get_by_label("Search").fill("rimborso")
    page.get_by_label("Search").press("Enter")
    page.wait_for_url("**q=rimborso**")
    found = stories(page)
    assert found and all("rimborso" in s.lower() for s in found)

    page.get_by_label("Sentiment").select_option("negative")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**sentiment=negative**")
    negative = stories(page)
    assert negative and all("\nnegative\n" in f"\n{s}\n" for s in negative)  # the reason every one shows

    first = page.locator("article.story").first
    key = first.get_attribute("id")
    text = " ".join(first.locator("p.text").inner_text().split())[:60]
    assert len(text) >= 20, text
    first.get_by_label("Note").fill("refunded, DM sent")
    first.get_by_role("button", name="Handled").click()
    page.wait_for_load_state()
    expect(page.locator(".message-info")).to_contain_text("marked handled")
    assert "q=rimborso" in page.url  # back where it was, filters kept
    assert page.locator(f"#{key}").count() == 0

    # The digest of the day, from the same database: the story is dealt with, not to answer.
    config = tmp_path / "demo" / "listener.toml"
    page.goto(digest_of(config, crisis_day(config), tmp_path).resolve().as_uri())
    body = " ".join(page.locator("body").inner_text().split())
    titles = [body.index(t) for t in ("Answer first", "Dealt with in the inbox", "Alerts of the day")]
    assert titles == sorted(titles)
    assert text not in body[titles[0] : titles[1]]
    dealt = body[titles[1] : titles[2]]
    assert text in dealt and "handled: refunded, DM sent" in dealt

    page.goto(f"{inbox}/-/inbox?q=rimborso&sentiment=negative")
    page.get_by_role("link", name="Done stories").click()
    done = page.locator(f"#{key}")
    expect(done).to_contain_text("handled: refunded, DM sent")
    done.get_by_role("button", name="Reopen").click()
    page.wait_for_load_state()
    page.goto(f"{inbox}/-/inbox?q=rimborso&sentiment=negative")
    assert page.locator(f"#{key}").count() == 1


def test_a_post_without_the_csrf_token_is_refused(browser_page: Page, inbox: str) -> None:
    page = browser_page
    page.goto(f"{inbox}/-/inbox")
    ids = page.locator("article.story input[name=ids]").first.get_attribute("value")
    status = page.evaluate(
        """async (ids) => (await fetch('/-/inbox/triage', {method: 'POST',
             headers: {'content-type': 'application/x-www-form-urlencoded'},
             body: new URLSearchParams({ids, state: 'handled'})})).status""",
        ids,
    )
    assert status == 403
    page.reload()
    assert page.locator(f"article.story input[name=ids][value='{ids}']").count() == 1


def test_a_password_hash_makes_every_page_ask_for_a_login(browser_page: Page, locked_inbox: str) -> None:
    page = browser_page
    for path in ("/-/inbox", "/demo/mentions", "/demo/negative_today"):
        page.goto(locked_inbox + path)
        assert page.url == f"{locked_inbox}/-/login", path
        assert "What to answer first" not in page.content()
    page.locator("input[name=username]").fill("admin")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_url(f"{locked_inbox}/-/inbox")
    assert len(stories(page)) == 50


def test_the_inbox_fits_a_phone(browser: Browser, inbox: str) -> None:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        for path in ("/-/inbox", "/-/inbox?done=1", "/-/inbox?q=%28oops"):
            page.goto(inbox + path)
            assert wide(page) <= PHONE["width"], path
        page.goto(inbox + "/-/inbox")
        card = page.locator("article.story").first.bounding_box()
        assert card is not None and card["width"] <= PHONE["width"]
    finally:
        context.close()


@pytest.mark.parametrize("width", [390, 1000])
def test_the_digest_fits_the_screen(browser: Browser, demo: Demo, width: int) -> None:
    digest = sorted((demo.folder / "mail").glob("*daily-digest*.html"))[-1]
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        page.goto(digest.resolve().as_uri())
        assert wide(page) <= width
    finally:
        context.close()
