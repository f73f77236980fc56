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
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.browser import CHROMIUM, FLAGS, serve  # noqa: E402 (the browser tests' Chromium and launcher)

serving = contextmanager(serve)


def _env() -> dict[str, str]:
    """This environment without LISTENER_* settings: the demo's own config and database apply."""
    return {k: v for k, v in os.environ.items() if not k.startswith("LISTENER_")}


def run_demo(folder: Path) -> None:
    subprocess.run([sys.executable, "-m", "listener.cli", "demo", "--dir", str(folder)],  # noqa: S603
                   cwd=ROOT, env=_env(), check=True, stdout=subprocess.DEVNULL)  # fmt: skip


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
        with sync_playwright() as playwright, serving(folder / "listener.toml", _env()) as inbox:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(FLAGS))
            shoot(browser, f"{inbox}/-/inbox", args.out / "inbox.png", 1000, 1300, full=False)
            for width in (390, 1000):
                shoot(browser, digests[-1].as_uri(), args.out / f"digest-{width}.png", width, 900, full=True)
            shoot(browser, alerts[-1].as_uri(), args.out / "alert.png", 760, 900, full=True)
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
