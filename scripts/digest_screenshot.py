"""Make docs/digest.png from a demo run's digest of the crisis day.

    listener demo --dir /tmp/demo
    python scripts/digest_screenshot.py /tmp/demo

Needs a Chromium (Debian: apt install chromium); the page is the .html preview the
demo saved beside the .eml, with its chart inlined, rendered as a mail client would.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("demo_dir", type=Path)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "digest.png"
    )
    parser.add_argument("--height", type=int, default=1900)
    args = parser.parse_args()
    digests = sorted((args.demo_dir / "mail").glob("*daily-digest*.html"))
    if not digests:
        sys.exit(
            f"no digest preview in {args.demo_dir / 'mail'}; run 'listener demo --dir {args.demo_dir}' first"
        )
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        sys.exit("no Chromium found; install it (Debian: apt install chromium)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(  # noqa: S603 (a local browser on a local file)
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--screenshot={args.out}",
         f"--window-size=760,{args.height}", digests[-1].resolve().as_uri()],
        check=True, capture_output=True,
    )  # fmt: skip
    print(f"{digests[-1].name} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
