"""Make the README's screenshots from a real demo run, in Debian's Chromium driven by Playwright.

    python scripts/screenshots.py                 # runs the demo in a temporary folder first
    python scripts/screenshots.py --dir /tmp/demo # a finished 'listener demo --dir /tmp/demo'

Writes docs/inbox.png (the inbox, served by 'listener serve' on the demo's database,
1000 px wide), docs/digest-390.png and docs/digest-1000.png (the demo's last digest
as a phone and a laptop show it) and docs/alert.png (the own-account alert email).
Needs Chromium at /usr/bin/chromium (Debian: apt-get install chromium); never
downloads a browser.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("LISTENER_CHROMIUM", "/usr/bin/chromium"))
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip


def run_demo(folder: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTENER_")}
    subprocess.run([sys.executable, "-m", "listener.cli", "demo", "--dir", str(folder)],  # noqa: S603
                   cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)  # fmt: skip


@contextmanager
def serving(config: Path) -> Iterator[str]:
    """``listener serve`` on the demo's database, on a free port, until the block ends."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTENER_")}
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-m", "listener.cli", "--config", str(config), "serve", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                sys.exit(f"listener serve exited with status {process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit("listener serve did not start listening in 60 s")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def shoot(browser: Browser, url: str, out: Path, width: int, height: int, full: bool) -> None:
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.goto(url)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=out, full_page=full)
        print(f"{url} -> {out}")
    finally:
        context.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, help="a finished demo's folder [default: run the demo first]")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    if not CHROMIUM.is_file():
        sys.exit(f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.dir or Path(scratch) / "demo"
        if args.dir is None:
            run_demo(folder)
        mail = sorted((folder / "mail").glob("*.html"))
        digests = [p for p in mail if "daily-digest" in p.name]
        alerts = [p for p in mail if "own-account" in p.name]
        if not digests or not alerts:
            sys.exit(
                f"no digest or own-account alert in {folder / 'mail'}; run 'listener demo --dir {folder}'"
            )
        args.out.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright, serving(folder / "listener.toml") as inbox:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(FLAGS))
            shoot(browser, f"{inbox}/-/inbox", args.out / "inbox.png", 1000, 1300, full=False)
            for width in (390, 1000):
                shoot(browser, digests[-1].as_uri(), args.out / f"digest-{width}.png", width, 900, full=True)
            shoot(browser, alerts[-1].as_uri(), args.out / "alert.png", 760, 900, full=True)
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
