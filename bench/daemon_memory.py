"""The daemon's resident memory over many cycles against the local wire-format servers.

Starts the local X and Reddit servers (which keep receiving new posts), runs
``listener run`` as a real process with a short interval, and samples its
resident set size (VmRSS) as cycles complete. A cycle is one run of every
source. Prints RSS at a few points and the growth over the second half, where a
leak would show. Targets: under 200 MB, no growth.

    python bench/daemon_memory.py --cycles 1000
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from listener.demo import script
from listener.demo.__main__ import DEMO_ENV
from listener.demo.redditserver import RedditServer
from listener.demo.xserver import XServer
from listener.records import utcnow

CONFIG = """[database]
path = "bench.db"

[[watches]]
name = "brand"
query = '"Caffè Aurora" OR #caffeaurora'

[networks.x]
api_base_url = "{x}"
retry_backoff_seconds = 0.2

[networks.reddit]
oauth_url = "{reddit}"
reddit_url = "{reddit}"
retry_backoff_seconds = 0.2
"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between runs of each source")
    parser.add_argument("--limit", type=float, default=200.0, help="MB; exit 1 above, or on growth > 10%%")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    running = threading.Event()
    running.set()
    with XServer(token=DEMO_ENV["X_BEARER_TOKEN"]) as x, RedditServer(
        DEMO_ENV["REDDIT_CLIENT_ID"], DEMO_ENV["REDDIT_CLIENT_SECRET"],
        username=script.REDDIT_ACCOUNT, password=DEMO_ENV["REDDIT_PASSWORD"],
    ) as reddit:  # fmt: skip
        script.load(x, reddit, utcnow() - timedelta(hours=48))
        config = folder / "listener.toml"
        config.write_text(CONFIG.format(x=x.url, reddit=reddit.url), encoding="utf-8")

        def produce() -> None:
            rng = random.Random(3)
            while running.is_set():
                with x.lock:
                    x.add_post(f"fan{rng.randint(1, 99)}", f"Caffè Aurora {rng.random():.6f}", utcnow())
                time.sleep(0.5)

        threading.Thread(target=produce, daemon=True).start()
        command = [
            sys.executable,
            "-m",
            "listener.cli",
            "--config",
            str(config),
            "run",
            "--interval",
            str(args.interval),
        ]
        daemon = subprocess.Popen(command, env={**os.environ, **DEMO_ENV}, stderr=subprocess.DEVNULL)
        samples: dict[int, float] = {}
        sources = 0
        try:
            began = time.monotonic()
            cycles = 0
            while cycles < args.cycles and daemon.poll() is None:
                time.sleep(2)
                try:
                    with sqlite3.connect(folder / "bench.db") as conn:
                        sources = (
                            sources
                            or conn.execute("SELECT count(DISTINCT network || watch) FROM runs").fetchone()[0]
                        )
                        runs = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
                except sqlite3.Error:
                    continue
                cycles = runs // max(sources, 1)
                samples[cycles] = rss_mb(daemon.pid)
                print(f"\rcycle {cycles:>5}  rss {samples[cycles]:6.1f} MB  ({time.monotonic() - began:.0f} s)",
                      end="", file=sys.stderr)  # fmt: skip
        finally:
            running.clear()
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)
    print(file=sys.stderr)
    points = sorted(samples)
    half = [samples[c] for c in points if c >= points[-1] / 2]
    growth = (half[-1] - half[0]) / half[0]
    for c in sorted({points[0], points[len(points) // 4], points[len(points) // 2], points[-1]}):
        print(f"after {c:>5} cycles   rss {samples[c]:7.1f} MB")
    print(f"peak rss           {max(samples.values()):7.1f} MB   (target < {args.limit:g} MB)")
    print(f"growth, 2nd half   {growth:+7.1%}")
    return 0 if max(samples.values()) < args.limit and growth < 0.10 else 1


if __name__ == "__main__":
    sys.exit(main())
