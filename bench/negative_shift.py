"""Negative-share shifts as hard as real tone, on real volumes, scored like `listener backtest`.

For each seed and each realTweets volume series (5-minute buckets), a negative count is
drawn per bucket from what real tone looks like (issue #15):

- the normal share is ``base x rhythm x drift``: a base of 5-20% per series, a daily
  rhythm of +/-30% around it (its peak at a random hour), and a slow random drift between
  x0.8 and x1.3 (a smooth random process with a correlation time of days);
- beta-binomial noise: each bucket's share is ``Beta`` with that mean and concentration
  50, then its negatives are ``Binomial(volume, share)``;
- shifts multiply the share by x2-x4 for 1-6 hours, ramping up over the first 15-30
  minutes; a third of them start in the series' quiet hours, a third in its busy hours,
  a third at any hour;
- hard negatives, which must never alert: volume spikes of x3-x8 for 5-60 minutes at an
  unchanged share, and quiet hours in which 1-3 buckets hold 1-3 mentions each, all
  negative.

Events are at least 20 hours apart and start after four days (two of detector warm-up,
two of baseline). Each shift gets its visibility to an oracle that knows the true share:
``snr``, the expected excess of negatives over the whole shift in beta-binomial standard
deviations of the normal count. ``snr >= 5`` is "visible": the detector must catch it.
The oracle's delay is the bucket at which that excess so far first reaches 4 SDs: about
the evidence any detector that tests every bucket needs (the overall line gives its
median beside the detector's).

Scoring, per series: a shift is caught by an alert from its first ramp bucket to its last
bucket; the delay counts buckets from the first ramp bucket (0 = that bucket). An alert
within an hour after a shift belongs to it. An alert from a hard negative's first bucket
to an hour after its last marks it as alarmed. Any other alert after the detector's
two-day warm-up is a false alarm, counted per week of that time.

The alerts come from the detectors in this process (fast), or from ``--cmd``, any
command that takes ``SERIES.csv --kind negative`` and prints one ISO timestamp per alert
(the ``listener backtest`` contract), to score another detector the same way.

``--ideal ALPHA...`` scores, instead, a reference no real detector can match: the same
beta-binomial likelihood-ratio scan, but against the *true* normal share and the true
concentration, with alternatives shaped like the generator's shifts (x2-x4, ramping up
over 3-6 buckets), one line per threshold ``1/ALPHA``. It shows what the bench allows:
how much delay a given false-alarm rate buys when nothing has to be estimated.

    python bench/negative_shift.py --seeds 1 2 3 4 5        # tuning seeds
    python bench/negative_shift.py --seeds 101 102 103      # held out
    python bench/negative_shift.py --seeds 101 --cmd "listener backtest" --json
    python bench/negative_shift.py --seeds 1 2 3 4 5 --ideal 1e-4 1e-3 5e-3
"""

from __future__ import annotations

import argparse
import functools
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from listener.analysis import DetectorSettings, run, sent  # noqa: E402
from listener.analysis.detectors import Scores  # noqa: E402
from listener.analysis.detectors.negative import bucket_evidence, exact, window_sums  # noqa: E402
from listener.analysis.incidents import incidents  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "nab_realtweets"
PER_DAY = 288  # five-minute buckets
PER_HOUR = 12
SCORED_FROM = 2 * PER_DAY  # the detectors' warm-up: alerts before it are not scored
EVENTS_FROM = 4 * PER_DAY  # two more days of baseline before the first event
SPACING = 20 * PER_HOUR  # between event starts: no event falls in another's cool-down
GRACE = PER_HOUR  # alerts in the hour after an event belong to it
CONCENTRATION = 50.0  # of the per-bucket beta share
VISIBLE = 5.0  # snr from which a shift must be caught
# The oracle's delay: buckets until the expected excess so far reaches this many SDs, about
# the evidence a detector that tests every bucket needs to stay under 0.1 false alarms a week.
ORACLE_Z = 4.0

# The ideal reference (``--ideal``): the shifts the generator draws, on a grid, and every
# window length up to an hour, then the detector's longer ones.
IDEAL_LIFTS = (2.0, 3.0, 4.0)
IDEAL_RAMPS = (3, 4, 5, 6)
IDEAL_SPANS = (*range(1, PER_HOUR + 1), 18, 24, 36, 48, 72)

HourClass = Literal["quiet", "busy", "any"]
HardKind = Literal["volume_spike", "quiet_negatives"]


@dataclass(frozen=True, slots=True)
class Shift:
    """A rise of the negative share: rows ``start .. start + length - 1``, ramp included."""

    start: int
    length: int
    ramp: int
    factor: float
    hours: HourClass
    snr: float = 0.0
    oracle_delay: int = -1  # -1: even the oracle never reaches ORACLE_Z

    @property
    def visible(self) -> bool:
        return self.snr >= VISIBLE


@dataclass(frozen=True, slots=True)
class HardNegative:
    """An event that must not alert: rows ``start .. start + length - 1``."""

    kind: HardKind
    start: int
    length: int
    size: float  # volume factor (spike), or mentions in the quiet hour that are all negative


@dataclass(slots=True)
class Scenario:
    """One series of one seed: the CSV rows, the true normal share, and the events in it."""

    name: str
    seed: int
    frame: pd.DataFrame  # timestamp, value, negative
    normal: np.ndarray  # the true normal share per bucket (what the oracle knows)
    base: float
    shifts: list[Shift]
    hard: list[HardNegative]


@dataclass(slots=True)
class SeriesResult:
    """What one scenario's alerts scored."""

    series: str
    seed: int
    base: float
    median_volume: float
    visible: int
    visible_caught: int
    faint: int  # snr < 5: reported, not required
    faint_caught: int
    delays: list[int]  # of the caught visible shifts
    oracle_delays: list[int]  # of every visible shift
    false_alarms: int
    weeks: float
    hard: int
    hard_alarmed: int
    missed: list[dict[str, float | int | str]] = field(default_factory=list)


def series_rng(seed: int, name: str) -> np.random.Generator:
    """One generator per (seed, series): a series' data does not depend on the others."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def slow_drift(n: int, rng: np.random.Generator, days: float = 3.0) -> np.ndarray:
    """A smooth random factor between x0.8 and x1.3 (correlation time ``days``).

    An Ornstein-Uhlenbeck process on an hourly grid (stationary standard normal),
    interpolated to buckets and mapped through the normal CDF onto [0.8, 1.3].
    """
    hours = n // PER_HOUR + 2
    keep = np.exp(-1.0 / (days * 24.0))
    noise = rng.standard_normal(hours) * np.sqrt(1 - keep**2)
    walk = np.empty(hours)
    walk[0] = rng.standard_normal()
    for i in range(1, hours):
        walk[i] = keep * walk[i - 1] + noise[i]
    smooth = np.interp(np.arange(n) / PER_HOUR, np.arange(hours), walk)
    return np.asarray(0.8 + 0.5 * special.ndtr(smooth), dtype=np.float64)


def normal_share(index: pd.DatetimeIndex, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """The true normal share per bucket (base x daily rhythm x drift), and its base."""
    base = float(rng.uniform(0.05, 0.20))
    peak = rng.uniform(0.0, 24.0)
    hours = np.asarray(index.hour + index.minute / 60.0, dtype=np.float64)
    rhythm = 1.0 + 0.3 * np.cos(2 * np.pi * (hours - peak) / 24.0)
    return base * rhythm * slow_drift(len(index), rng), base


def hour_classes(index: pd.DatetimeIndex, volume: np.ndarray) -> dict[HourClass, np.ndarray]:
    """Hours of the day by mean volume: the six quietest, the six busiest, and all."""
    by_hour = pd.Series(volume, dtype=float).groupby(np.asarray(index.hour)).mean()
    ranked = by_hour.sort_values(kind="stable").index.to_numpy()
    return {"quiet": ranked[:6], "busy": ranked[-6:], "any": np.arange(24)}


def place(
    rng: np.random.Generator, hours: np.ndarray, allowed: np.ndarray, taken: list[int], span: int
) -> int | None:
    """A random start row in one of the ``allowed`` hours, ``SPACING`` from every ``taken``."""
    last = len(hours) - span - GRACE
    candidates = np.flatnonzero(np.isin(hours[EVENTS_FROM:last], allowed)) + EVENTS_FROM
    for row in rng.permutation(candidates)[:2000]:
        if all(abs(int(row) - t) >= SPACING for t in taken):
            return int(row)
    return None


def shift_snr(volume: np.ndarray, normal: np.ndarray, shifted: np.ndarray) -> tuple[float, int]:
    """Expected excess negatives over the shift, in beta-binomial SDs of the normal count.

    Also the oracle's delay: the first bucket at which the excess so far reaches ORACLE_Z
    SDs (-1 if it never does), what a detector that knew the true share could do.
    """
    excess = np.cumsum(volume * (shifted - normal))
    var = np.cumsum(volume * normal * (1 - normal) * (1 + (volume - 1) / (CONCENTRATION + 1)))
    with np.errstate(all="ignore"):
        z = np.where(var > 0, excess / np.sqrt(var), 0.0)
    reached = np.flatnonzero(z >= ORACLE_Z)
    return float(z[-1]), int(reached[0]) if len(reached) else -1


def make_scenario(path: Path, seed: int, n_shifts: int = 12, n_hard: int = 6) -> Scenario:
    """The series at ``path`` with a seeded negative column, shifts and hard negatives.

    Same ``(seed, file name)``, same scenario: the generator depends on nothing else.
    """
    rng = series_rng(seed, path.name)
    frame = pd.read_csv(path)
    index = pd.DatetimeIndex(pd.to_datetime(frame["timestamp"]))
    volume = frame["value"].to_numpy(dtype=np.int64).copy()
    normal, base = normal_share(index, rng)
    share = normal.copy()
    classes = hour_classes(index, volume)
    hours = np.asarray(index.hour)
    taken: list[int] = []
    shifts: list[Shift] = []
    for i in range(n_shifts):
        cls: HourClass = ("quiet", "busy", "any")[i % 3]
        length = int(rng.integers(PER_HOUR, 6 * PER_HOUR + 1))
        ramp = int(rng.integers(3, 7))
        factor = float(rng.uniform(2.0, 4.0))
        start = place(rng, hours, classes[cls], taken, length)
        if start is None:
            continue
        taken.append(start)
        rows = slice(start, start + length)
        profile = 1.0 + (factor - 1.0) * np.minimum(1.0, np.arange(1, length + 1) / ramp)
        share[rows] = np.minimum(normal[rows] * profile, 0.95)
        snr, oracle = shift_snr(volume[rows], normal[rows], share[rows])
        shifts.append(Shift(start, length, ramp, round(factor, 3), cls, round(snr, 2), oracle))
    hard: list[HardNegative] = []
    all_negative: list[int] = []  # rows whose mentions are all negative
    for i in range(2 * n_hard):
        kind: HardKind = ("volume_spike", "quiet_negatives")[i % 2]
        length = int(rng.integers(1, PER_HOUR + 1)) if kind == "volume_spike" else PER_HOUR
        start = place(rng, hours, classes["any" if kind == "volume_spike" else "quiet"], taken, length)
        if start is None:
            continue
        taken.append(start)
        rows = slice(start, start + length)
        if kind == "volume_spike":
            size = float(rng.uniform(3.0, 8.0))
            volume[rows] = np.round(np.maximum(volume[rows], 1) * size).astype(np.int64)
        else:
            # 1-3 buckets of the quiet hour hold 1-3 mentions each, every one negative.
            picked = start + rng.choice(PER_HOUR, size=int(rng.integers(1, 4)), replace=False)
            volume[picked] = rng.integers(1, 4, size=len(picked))
            all_negative.extend(int(r) for r in picked)
            size = float(volume[picked].sum())
        hard.append(HardNegative(kind, start, length, round(size, 3)))
    drawn = rng.beta(share * CONCENTRATION, (1 - share) * CONCENTRATION)
    negative = rng.binomial(volume, drawn)
    negative[all_negative] = volume[all_negative]
    out = pd.DataFrame({"timestamp": frame["timestamp"], "value": volume, "negative": negative})
    shifts.sort(key=lambda s: s.start)
    hard.sort(key=lambda h: h.start)
    return Scenario(path.stem, seed, out, normal, base, shifts, hard)


def bucket_frame(scenario: Scenario) -> pd.DataFrame:
    """The scenario as the detectors read it (what ``listener backtest`` builds from the CSV)."""
    index = pd.DatetimeIndex(pd.to_datetime(scenario.frame["timestamp"]), name="bucket").tz_localize("UTC")
    frame = pd.DataFrame(
        {"volume": scenario.frame["value"].to_numpy(), "negative": scenario.frame["negative"].to_numpy()},
        index=index,
    )
    frame.attrs["has_negative"] = True
    return frame


def alerts_in_process(scenario: Scenario, settings: DetectorSettings) -> list[int]:
    """Rows of the negative alerts the detectors of this checkout send."""
    frame = bucket_frame(scenario)
    times = [f.at for f in sent(run(frame, settings, ("negative",)))]
    return sorted({int(frame.index.get_loc(pd.Timestamp(t))) for t in times})


def ramp_evidence(
    negative: np.ndarray, volume: np.ndarray, p0: np.ndarray, rho: np.ndarray, spans: tuple[int, ...]
) -> np.ndarray:
    """Per span and bucket: log of the mean likelihood ratio of shift shapes over the window.

    Each shape (lift ``f``, ramp ``r``) is aligned with the window's first bucket: its
    ``i``-th bucket is tested at ``1 + (f - 1) min(1, (i + 1) / r)`` times ``p0``.
    """
    n = len(volume)
    rows: dict[float, np.ndarray] = {}

    def llr(lift: float) -> np.ndarray:
        if lift not in rows:
            rows[lift] = exact(bucket_evidence(negative, volume, p0, rho, (lift,))[0])
        return rows[lift]

    shapes = []
    for factor in IDEAL_LIFTS:
        for ramp in IDEAL_RAMPS:
            out = np.zeros((len(spans), n))
            for j, span in enumerate(spans):
                head = min(span, ramp)
                for i in range(head):
                    row = llr(1.0 + (factor - 1.0) * (i + 1) / ramp)
                    lag = span - 1 - i  # bucket i of the window is ``lag`` buckets before its end
                    out[j, lag:] += row[: n - lag]
                if span > head:
                    out[j] += window_sums(llr(factor), (span - head,))[0]
            shapes.append(out)
    return functools.reduce(np.logaddexp, shapes) - np.log(len(shapes))


def ideal_alerts(scenario: Scenario, alpha: float, settings: DetectorSettings) -> list[int]:
    """Rows of the alerts of the ideal reference (see the module docstring).

    It fires where some window's evidence reaches ``log(1 / alpha)`` with at least
    ``negative_floor`` negatives in it, and goes through the detectors' own incident
    logic (hysteresis at ``calm_alpha`` over windows up to an hour, cool-down).
    """
    frame = bucket_frame(scenario)
    volume = frame["volume"].to_numpy(dtype=np.float64)
    negative = frame["negative"].to_numpy(dtype=np.float64)
    n = len(volume)
    rho = np.full(n, 1.0 / (CONCENTRATION + 1.0))
    evidence = ramp_evidence(negative, volume, scenario.normal, rho, IDEAL_SPANS)
    floor = window_sums(negative, IDEAL_SPANS) >= settings.negative_floor
    warm = np.arange(n) >= SCORED_FROM
    fire = ((evidence >= -np.log(alpha)) & floor).any(axis=0) & warm
    short = np.asarray(IDEAL_SPANS)[:, None] <= PER_HOUR
    active = ((evidence >= -np.log(settings.calm_alpha)) & floor & short).any(axis=0) & warm
    blank = np.full(n, np.nan)
    scores = Scores(
        fire=fire,
        active=active | fire,
        observed=blank,
        expected=blank,
        score=evidence.max(axis=0),
        window=np.ones(n, dtype=np.int64),
        severity=np.ones(n, dtype=np.int8),
        observed_share=blank,
        expected_share=blank,
        share_low=blank,
        share_high=blank,
    )
    found = sent(incidents("negative", scores, pd.DatetimeIndex(frame.index), settings))
    return sorted({int(frame.index.get_loc(pd.Timestamp(f.at))) for f in found})


def alerts_from_command(scenario: Scenario, cmd: str, tmp: Path) -> list[int]:
    """Rows of the alerts ``cmd SERIES.csv --kind negative`` prints (one ISO time a line)."""
    path = tmp / f"{scenario.name}_{scenario.seed}.csv"
    scenario.frame.to_csv(path, index=False)
    full = f"{cmd} {shlex.quote(str(path))} --kind negative"
    proc = subprocess.run(full, shell=True, capture_output=True, text=True, check=False, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"backtest failed ({proc.returncode}): {full}\n{proc.stderr[-2000:]}")
    times = pd.DatetimeIndex(pd.to_datetime(scenario.frame["timestamp"]))
    stamps = [pd.Timestamp(line.strip()) for line in proc.stdout.splitlines() if line.strip()]
    naive = [t.tz_convert("UTC").tz_localize(None) if t.tzinfo else t for t in stamps]
    return sorted({int(times.searchsorted(t, side="right")) - 1 for t in naive})


def score(scenario: Scenario, alert_rows: list[int]) -> SeriesResult:
    """Match alerts to shifts, hard negatives and false alarms (see the module docstring)."""
    rows = np.asarray(alert_rows, dtype=np.int64)
    claimed = np.zeros(len(rows), dtype=bool)
    result = SeriesResult(
        series=scenario.name,
        seed=scenario.seed,
        base=round(scenario.base, 4),
        median_volume=float(scenario.frame["value"].median()),
        visible=0,
        visible_caught=0,
        faint=0,
        faint_caught=0,
        delays=[],
        oracle_delays=[],
        false_alarms=0,
        weeks=(len(scenario.frame) - SCORED_FROM) / (7 * PER_DAY),
        hard=len(scenario.hard),
        hard_alarmed=0,
    )
    for s in scenario.shifts:
        inside = rows[(rows >= s.start) & (rows < s.start + s.length)]
        claimed |= (rows >= s.start) & (rows < s.start + s.length + GRACE)
        caught = len(inside) > 0
        if s.visible:
            result.visible += 1
            result.oracle_delays.append(s.oracle_delay)
            result.visible_caught += caught
            if caught:
                result.delays.append(int(inside[0] - s.start))
            else:
                result.missed.append(asdict(s))
        else:
            result.faint += 1
            result.faint_caught += caught
    for h in scenario.hard:
        near = (rows >= h.start) & (rows < h.start + h.length + GRACE)
        result.hard_alarmed += bool(near.any())
        claimed |= near
    result.false_alarms = int(np.sum(~claimed & (rows >= SCORED_FROM)))
    return result


def totals(results: list[SeriesResult]) -> dict[str, float | int | None]:
    """The overall line: pooled over every series and seed given."""
    visible = sum(r.visible for r in results)
    caught = sum(r.visible_caught for r in results)
    delays = [d for r in results for d in r.delays]
    oracle = [d for r in results for d in r.oracle_delays]
    weeks = sum(r.weeks for r in results)
    false_alarms = sum(r.false_alarms for r in results)
    return {
        "visible_shifts": visible,
        "visible_caught": caught,
        "visible_caught_rate": caught / visible if visible else None,
        "median_delay_buckets": float(statistics.median(delays)) if delays else None,
        "oracle_median_delay_buckets": float(statistics.median(oracle)) if oracle else None,
        "false_alarms": false_alarms,
        "weeks": round(weeks, 2),
        "false_alarms_per_week": false_alarms / weeks if weeks else None,
        "hard_negatives": sum(r.hard for r in results),
        "hard_negatives_alarmed": sum(r.hard_alarmed for r in results),
        "faint_shifts": sum(r.faint for r in results),
        "faint_caught": sum(r.faint_caught for r in results),
    }


def print_table(results: list[SeriesResult], overall: dict[str, float | int | None]) -> None:
    """A per-series table and the overall line, for people."""
    head = f"{'series':<22}{'seed':>5}{'base':>6}{'med vol':>8}{'visible':>9}{'caught':>7}"
    print(head + f"{'med delay':>10}{'FA':>4}{'FA/wk':>7}{'hard':>6}{'alarmed':>8}{'snr<5':>6}{'caught':>7}")
    for r in results:
        med = statistics.median(r.delays) if r.delays else float("nan")
        print(
            f"{r.series:<22}{r.seed:>5}{r.base:>6.2f}{r.median_volume:>8.0f}{r.visible:>9}{r.visible_caught:>7}"
            f"{med:>10.1f}{r.false_alarms:>4}{r.false_alarms / r.weeks:>7.2f}{r.hard:>6}{r.hard_alarmed:>8}"
            f"{r.faint:>6}{r.faint_caught:>7}"
        )
    print()
    print_overall(overall)


def print_overall(overall: dict[str, float | int | None]) -> None:
    """The overall line."""
    rate = overall["visible_caught_rate"]
    print(
        f"visible shifts (snr >= {VISIBLE:g}) caught: {overall['visible_caught']}/{overall['visible_shifts']}"
        f" ({(rate or 0):.1%}); median delay {overall['median_delay_buckets']} buckets"
        f" (oracle at {ORACLE_Z:g} SDs: {overall['oracle_median_delay_buckets']});"
        f" false alarms {overall['false_alarms']} in {overall['weeks']} weeks"
        f" ({(overall['false_alarms_per_week'] or 0):.3f}/week);"
        f" hard negatives alarmed {overall['hard_negatives_alarmed']}/{overall['hard_negatives']};"
        f" snr < {VISIBLE:g} caught {overall['faint_caught']}/{overall['faint_shifts']}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DATA, help="volume CSVs (timestamp,value)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[101, 102, 103])
    parser.add_argument("--shifts", type=int, default=12, help="shifts per series and seed")
    parser.add_argument("--hard", type=int, default=6, help="hard negatives of each kind per series")
    parser.add_argument(
        "--cmd", default=None, help="score this backtest command instead of the in-process detectors"
    )
    parser.add_argument(
        "--ideal",
        type=float,
        nargs="+",
        metavar="ALPHA",
        help="score the ideal reference (true share) at these thresholds 1/ALPHA instead",
    )
    parser.add_argument("--missed", action="store_true", help="also list the visible shifts missed")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    paths = sorted(args.data_dir.glob("*.csv"))
    if not paths:
        raise SystemExit(f"no CSV in {args.data_dir}")
    settings = DetectorSettings()
    if args.ideal:
        scenarios = [
            make_scenario(path, seed, args.shifts, args.hard) for seed in args.seeds for path in paths
        ]
        lines = {}
        for alpha in args.ideal:
            overall = totals([score(sc, ideal_alerts(sc, alpha, settings)) for sc in scenarios])
            lines[f"{alpha:g}"] = overall
            if not args.json:
                print(f"ideal, alpha {alpha:g}: ", end="")
                print_overall(overall)
        if args.json:
            print(json.dumps({"ideal": lines}, indent=2))
        return 0
    results: list[SeriesResult] = []
    with tempfile.TemporaryDirectory() as tmpdir:
        for seed in args.seeds:
            for path in paths:
                scenario = make_scenario(path, seed, args.shifts, args.hard)
                rows = (
                    alerts_from_command(scenario, args.cmd, Path(tmpdir))
                    if args.cmd
                    else alerts_in_process(scenario, settings)
                )
                results.append(score(scenario, rows))
    overall = totals(results)
    if args.json:
        print(json.dumps({"series": [asdict(r) for r in results], "overall": overall}, indent=2))
        return 0
    print_table(results, overall)
    if args.missed:
        for r in results:
            for m in r.missed:
                print(f"missed {r.series} seed {r.seed}: {m}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
