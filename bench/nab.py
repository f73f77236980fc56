"""NAB realTweets: score `listener backtest` with the shared evaluator and time it per series.

Runs `../shared/tools/nab_eval.py --cmd "<python> -m listener.cli.backtest"` (event F1,
false alarms per week, NAB standard score) and, before that, each backtest once on its
own to report the runtime per series. Same settings for every series: the defaults.

    python bench/nab.py
    python bench/nab.py --data-dir /path/to/other/realTweets --targets
    python bench/nab.py --data-dir ../shared/data/nab_dev     # NAB's other 48 series
    python bench/nab.py --daemon      # also: one daemon poll, 50 watches, 1,000,000 mentions
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
EVAL = SHARED / "tools" / "nab_eval.py"
DATA = SHARED / "data" / "nab_realtweets"
CMD = f"{shlex.quote(sys.executable)} -m listener.cli.backtest"


def daemon_poll(watches: int = 50, mentions: int = 1_000_000, seed: int = 0) -> None:
    """Time what the daemon does per poll: bucket each watch's history, then ``detect``."""
    import numpy as np
    import pandas as pd

    sys.path.insert(0, str(ROOT))
    from listener.analysis import DetectorSettings, build_buckets, detect, history_needed

    settings = DetectorSettings()
    rng = np.random.default_rng(seed)
    now = pd.Timestamp("2024-03-01", tz="UTC")
    span = pd.Timedelta(history_needed(settings))
    per_watch = mentions // watches
    rows = []
    for _ in range(watches):
        # Mentions spread over the span with a daily rhythm (more by day).
        offsets = rng.uniform(0, span.total_seconds(), per_watch * 2)
        hours = ((now - span) + pd.to_timedelta(offsets, unit="s")).hour
        keep = rng.random(len(offsets)) < 0.5 * (1 + np.sin(2 * np.pi * (hours - 9) / 24))
        created = (now - span) + pd.to_timedelta(np.sort(offsets[keep][:per_watch]), unit="s")
        rows.append(pd.DataFrame({"created_at": created, "is_negative": rng.random(len(created)) < 0.1}))
    detect(build_buckets(rows[0], settings.bucket, end=now), now.to_pydatetime(), settings)  # imports
    start = time.perf_counter()
    found = 0
    for frame in rows:
        buckets = build_buckets(frame, settings.bucket, start=(now - span).floor("D"), end=now)
        found += len(detect(buckets, now.to_pydatetime(), settings))
    elapsed = time.perf_counter() - start
    print(
        f"daemon poll: {watches} watches, {sum(len(r) for r in rows):,} mentions, "
        f"{span.days} days of history each: {elapsed:.2f} s ({elapsed / watches * 1000:.1f} ms a watch), "
        f"{found} findings"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument(
        "--cmd", default=CMD, help="backtest command [default: this python -m listener.cli.backtest]"
    )
    parser.add_argument(
        "--targets", action="store_true", help="fail unless F1 >= .80, FA/week <= .2, NAB >= 78"
    )
    parser.add_argument(
        "--daemon", action="store_true", help="also time one daemon poll (50 watches, 1M mentions)"
    )
    args = parser.parse_args(argv)
    if args.daemon:
        daemon_poll()
    print(f"{'series':<24}{'rows':>7}{'alerts':>8}{'seconds':>9}")
    for path in sorted(args.data_dir.glob("*.csv")):
        start = time.perf_counter()
        proc = subprocess.run(
            [*shlex.split(args.cmd), str(path)], capture_output=True, text=True, check=True, cwd=ROOT
        )
        elapsed = time.perf_counter() - start
        rows = sum(1 for _ in path.open()) - 1
        print(f"{path.stem:<24}{rows:>7}{len(proc.stdout.split()):>8}{elapsed:>9.2f}")
    print()
    command = [sys.executable, str(EVAL), "--cmd", args.cmd, "--data-dir", str(args.data_dir)]
    if args.targets:
        command += ["--min-f1", "0.8", "--max-fa-per-week", "0.2", "--min-nab", "78"]
    print("$ " + shlex.join(command), flush=True)
    return subprocess.run(command, cwd=ROOT, check=False, stderr=subprocess.DEVNULL).returncode


if __name__ == "__main__":
    sys.exit(main())
