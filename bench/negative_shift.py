"""Synthetic negative-share shifts on real volume series, scored through `listener backtest`.

Each bucket of a real mention-volume series (NAB realTweets by default) gets a negative
count drawn Binomial(volume, p(t)), where the normal share p(t) follows a daily rhythm
(10% on average, +/-3 points over the day). At random times after the warm-up, the share
jumps to 40% for two hours (`--shifts` per series, at least a day apart). The resulting
`timestamp,value,negative` CSVs go through `listener backtest --kind negative`, and the
alerts are scored:

- caught: an alert inside the shift (its first bucket .. its last bucket);
- delay: buckets from the shift's first bucket to the first alert (0 = that bucket);
- false alarms: alerts outside every shift (and the hour after it), merged within 1 h,
  per week of scored time (after the warm-up).

It also checks that two negative posts out of three in a quiet hour fire nothing.

    python bench/negative_shift.py                  # all series in ../shared/data/nab_realtweets
    python bench/negative_shift.py --shifts 20 --seed 7 --json
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "nab_realtweets"
DEFAULT_CMD = f"{shlex.quote(sys.executable)} -m listener.backtest_cli"
WARMUP_DAYS = 4  # detectors are silent for 2 days; leave room for a baseline
SHIFT_BUCKETS = 24  # two hours of 5-minute buckets
GRACE_BUCKETS = 12  # alerts in the hour after a shift belong to it
# A shift with fewer mentions than this in its two hours cannot be told from chance at the
# detector's 1e-6 level with 95% power (10% -> 40% of 40 mentions is 4 -> 16 negatives).
DETECTABLE = 40


@dataclass
class SeriesResult:
    series: str
    shifts: int
    caught: int
    delays: list[int]
    false_alarms: int
    weeks: float
    median_volume: float
    detectable: int = 0
    detectable_caught: int = 0


def normal_share(index: pd.DatetimeIndex, base: float, swing: float) -> np.ndarray:
    """Share of negatives by time of day: lowest in the morning, highest in the evening."""
    hours = index.hour + index.minute / 60.0
    return np.asarray(base + swing * np.sin(2 * np.pi * (hours - 12.0) / 24.0), dtype=np.float64)


def make_series(
    path: Path, rng: np.random.Generator, n_shifts: int, base: float, swing: float, high: float, spread: float
) -> tuple[pd.DataFrame, list[int]]:
    """The series with a negative column, and the shift start rows.

    ``spread`` > 0 makes the normal share itself wander from bucket to bucket (a beta
    with that coefficient of variation), as real tone does beyond binomial noise.
    """
    frame = pd.read_csv(path, parse_dates=["timestamp"])
    index = pd.DatetimeIndex(frame["timestamp"])
    volume = frame["value"].to_numpy()
    share = normal_share(index, base, swing)
    per_day = 288
    first = WARMUP_DAYS * per_day
    starts: list[int] = []
    candidates = rng.permutation(np.arange(first, len(frame) - SHIFT_BUCKETS - GRACE_BUCKETS))
    for c in candidates:
        if all(abs(int(c) - s) >= per_day for s in starts):
            starts.append(int(c))
        if len(starts) == n_shifts:
            break
    starts.sort()
    for s in starts:
        share[s : s + SHIFT_BUCKETS] = high
    if spread > 0:
        concentration = (1 - share) / (spread**2 * share) - 1  # beta with mean share, CV spread
        share = rng.beta(share * concentration, (1 - share) * concentration)
    frame["negative"] = rng.binomial(volume, share)
    return frame, starts


def run_backtest(cmd: str, csv_path: Path) -> list[pd.Timestamp]:
    full = f"{cmd} {shlex.quote(str(csv_path))} --kind negative"
    proc = subprocess.run(full, shell=True, capture_output=True, text=True, check=False, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"backtest failed ({proc.returncode}): {full}\n{proc.stderr[-2000:]}")
    return [pd.Timestamp(line.strip()).tz_convert(None) for line in proc.stdout.splitlines() if line.strip()]


def score(
    frame: pd.DataFrame, starts: list[int], alerts: list[pd.Timestamp]
) -> tuple[int, list[int], int, float]:
    times = pd.DatetimeIndex(frame["timestamp"])
    rows = sorted({int(times.searchsorted(a, side="right")) - 1 for a in alerts})
    delays: list[int] = []
    caught = 0
    for s in starts:
        inside = [r - s for r in rows if s <= r < s + SHIFT_BUCKETS]
        if inside:
            caught += 1
            delays.append(min(inside))
    first = WARMUP_DAYS * 288
    false_rows = [
        r for r in rows if r >= first and not any(s <= r < s + SHIFT_BUCKETS + GRACE_BUCKETS for s in starts)
    ]
    merged = sum(1 for j, r in enumerate(false_rows) if j == 0 or r - false_rows[j - 1] > 12)
    weeks = (len(frame) - first) / (288 * 7)
    return caught, delays, merged, weeks


def quiet_hour_check(cmd: str, tmp: Path) -> bool:
    """Eight days at 3 mentions an hour (10% negative), then an hour with 2 negatives of 3."""
    index = pd.date_range("2024-01-01", periods=288 * 8, freq="5min")
    volume = np.zeros(len(index), dtype=int)
    volume[::20] = 1  # 3 mentions an hour
    negative = np.zeros(len(index), dtype=int)
    negative[::200] = volume[::200]  # the odd negative post
    last_hour = slice(len(index) - 12, len(index))
    volume[last_hour] = 0
    volume[len(index) - 12 :: 4] = 1
    negative[last_hour] = 0
    negative[len(index) - 12] = negative[len(index) - 8] = 1
    frame = pd.DataFrame(
        {"timestamp": index.strftime("%Y-%m-%d %H:%M:%S"), "value": volume, "negative": negative}
    )
    path = tmp / "quiet.csv"
    frame.to_csv(path, index=False)
    alerts = run_backtest(cmd, path)
    return not [a for a in alerts if a >= index[-12]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument(
        "--cmd", default=DEFAULT_CMD, help="backtest command [default: this python -m listener.backtest_cli]"
    )
    parser.add_argument("--shifts", type=int, default=12, help="shifts per series")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--base", type=float, default=0.10, help="mean normal share")
    parser.add_argument("--swing", type=float, default=0.03, help="daily swing of the normal share")
    parser.add_argument("--high", type=float, default=0.40, help="share during a shift")
    parser.add_argument("--spread", type=float, default=0.0, help="extra-binomial CV of the normal share")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    results: list[SeriesResult] = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for path in sorted(args.data_dir.glob("*.csv")):
            frame, starts = make_series(path, rng, args.shifts, args.base, args.swing, args.high, args.spread)
            out = tmp / path.name
            frame.to_csv(out, index=False, date_format="%Y-%m-%d %H:%M:%S")
            alerts = run_backtest(args.cmd, out)
            caught, delays, fa, weeks = score(frame, starts, alerts)
            result = SeriesResult(
                path.stem, len(starts), caught, delays, fa, weeks, float(frame["value"].median())
            )
            volume = frame["value"].to_numpy()
            big = [s for s in starts if volume[s : s + SHIFT_BUCKETS].sum() >= DETECTABLE]
            result.detectable = len(big)
            result.detectable_caught = score(frame, big, alerts)[0]
            results.append(result)
        quiet_ok = quiet_hour_check(args.cmd, tmp)
    shifts = sum(r.shifts for r in results)
    caught = sum(r.caught for r in results)
    delays = [d for r in results for d in r.delays]
    weeks = sum(r.weeks for r in results)
    fa = sum(r.false_alarms for r in results)
    detectable = sum(r.detectable for r in results)
    detectable_caught = sum(r.detectable_caught for r in results)
    total = {
        "detectable_shifts": detectable,
        "detectable_caught": detectable_caught,
        "detectable_rate": detectable_caught / detectable if detectable else 0.0,
        "shifts": shifts,
        "caught": caught,
        "detection_rate": caught / shifts if shifts else 0.0,
        "median_delay_buckets": statistics.median(delays) if delays else None,
        "false_alarms": fa,
        "false_alarms_per_week": fa / weeks if weeks else 0.0,
        "quiet_hour_two_of_three_silent": quiet_ok,
    }
    if args.json:
        print(json.dumps({"series": [asdict(r) for r in results], "overall": total}, indent=2))
        return 0
    print(
        f"{'series':<22}{'median vol':>11}{'shifts':>8}{'caught':>8}{'median delay':>14}{'FA':>5}{'FA/week':>9}"
    )
    for r in results:
        med = statistics.median(r.delays) if r.delays else float("nan")
        print(
            f"{r.series:<22}{r.median_volume:>11.0f}{r.shifts:>8}{r.caught:>8}{med:>14.1f}"
            f"{r.false_alarms:>5}{r.false_alarms / r.weeks:>9.2f}"
        )
    med_all = total["median_delay_buckets"]
    print(
        f"{'ALL':<22}{'':>11}{shifts:>8}{caught:>8}{med_all if med_all is not None else float('nan'):>14.1f}"
        f"{fa:>5}{total['false_alarms_per_week']:>9.2f}"
    )
    print(
        f"\ndetection rate {total['detection_rate']:.1%} of all shifts, "
        f"{total['detectable_rate']:.1%} of the {detectable} with >= {DETECTABLE} mentions in their 2 h; median delay {med_all} buckets, "
        f"{total['false_alarms_per_week']:.2f} false alarms/week; "
        f"2 negative of 3 in a quiet hour: {'silent' if quiet_ok else 'ALERTED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
