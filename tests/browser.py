"""A real headless Chromium for the browser tests: Debian's ``chromium``, driven by Playwright.

Playwright's own browser download is never used (``playwright install`` fetches a
build from the internet): the tests launch the system's Chromium, which ``.ci/run``
installs with apt. Where it or Playwright is missing the browser tests are
skipped with the reason, and under CI they fail (``tests.material.unavailable``).

Fixtures: ``browser`` (one Chromium per session) and ``browser_page`` (a page in
a fresh context, so no cookie leaks from one test to the next, 1000x800).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.material import unavailable

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

__all__ = ["CHROMIUM", "FLAGS", "browser", "browser_page", "free_port", "launch", "serve"]

CHROMIUM = Path(os.environ.get("LISTENER_CHROMIUM", "/usr/bin/chromium"))

# Headless and offline: without the background-networking flags Chromium opens
# connections of its own (updates, sync, QUIC probes), which this sandbox refuses.
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip


def launch() -> Iterator[Browser]:
    """Chromium under Playwright (a new, empty profile each launch), or skip/fail saying what is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[test]')")
    if not CHROMIUM.is_file():
        unavailable(f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(FLAGS))
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    yield from launch()


@pytest.fixture
def browser_page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    try:
        yield context.new_page()
    finally:
        context.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(config: Path, env: Mapping[str, str], host: str = "127.0.0.1") -> Iterator[str]:
    """``listener serve`` on a free port until the test ends; its base URL (on loopback) once it answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "listener.cli", "--config", str(config), "serve", "--host", host, "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    drain: threading.Thread | None = None
    try:
        # It prints its address once its socket listens: wait for that line, not for a clock.
        assert process.stdout is not None
        printed = []
        for line in process.stdout:
            printed.append(line)
            if line.startswith("The inbox: "):
                break
        else:
            raise AssertionError(f"listener serve stopped before listening: {''.join(printed)}")
        # Keep reading what it logs, so that a full pipe never blocks it.
        drain = threading.Thread(target=process.stdout.read, daemon=True)
        drain.start()
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait()
        if process.stdout is not None:
            if drain is not None:
                drain.join()
            process.stdout.close()
