"""Leave-one-series-out: choose the volume detector's settings on some series, score on another.

Every candidate of a small grid (a structural choice and three thresholds) replays every
series of NAB realTweets and nab_dev in-process, through the same ``load_series`` and
``run`` as ``listener backtest``, and is scored by ``../shared/tools/nab_eval.py``'s own
functions. Then, for each series in turn, the candidate with the best pooled NAB
standard score on all the *other* series is chosen and scored on the one left out. The
pooled scores of the left-out series are the out-of-sample figures; the best candidate
on all series gives the in-sample ones; the gap between them is what tuning learnt by
heart. NAB's published detectors are scored on the same series for an anchor.

    python bench/loso.py                     # grid, LOSO, anchors (about a minute)
    python bench/loso.py --json
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(SHARED / "tools"))

import nab_eval  # noqa: E402

from listener.analysis import DetectorSettings, run, sent  # noqa: E402
from listener.analysis.series import load_series  # noqa: E402

DATA = {"realTweets": SHARED / "data" / "nab_realtweets", "nab_dev": SHARED / "data" / "nab_dev"}
ANCHORS = ("ARTime", "numenta", "contextOSE")
DAY = timedelta(days=1)
# The grid: few knobs, each with a reason to exist (see DetectorSettings).
GRID = {
    "volume_dispersion": (False, True),
    "volume_min_ratio": (1.5, 2.0, 3.0),
    "record_window": (14 * DAY, 28 * DAY),
    "volume_prior": (1.0, 4.0),
}
# The defaults before this selection (issue #6), for comparison.
BEFORE = {"volume_dispersion": False, "volume_min_ratio": 1.5, "record_window": 28 * DAY, "volume_prior": 1.0}
OBJECTIVES = ("f1", "nab_standard")


@dataclass(frozen=True)
class Case:
    group: str
    series: nab_eval.Series
    path: Path


def candidates() -> list[dict[str, object]]:
    keys = list(GRID)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*GRID.values())]


def label(candidate: dict[str, object]) -> str:
    def show(value: object) -> str:
        return (
            f"{value.days}d"
            if isinstance(value, timedelta)
            else f"{value:g}"
            if isinstance(value, float)
            else str(value)
        )

    return " ".join(f"{key.removeprefix('volume_')}={show(value)}" for key, value in candidate.items())


def load_cases() -> list[Case]:
    cases = []
    for group, folder in DATA.items():
        for series in nab_eval.load_dataset(folder):
            cases.append(Case(group, series, folder / f"{series.name}.csv"))
    return cases


def alerts(case: Case, candidate: dict[str, object], frames: dict[Path, tuple]) -> list:
    frame, bucket = frames[case.path]
    settings = replace(DetectorSettings(bucket=bucket), **candidate)
    found = run(frame, settings, ("volume",))
    return [f.at.astimezone(nab_eval.UTC).replace(tzinfo=None) for f in sent(found)]


def pooled(results: Iterable[nab_eval.SeriesResult]) -> dict:
    return nab_eval.overall(list(results))


def summary(total: dict) -> str:
    return (
        f"F1 {total['f1']:.3f}  FA/week {total['false_alarms_per_week']:.2f}  "
        f"NAB {total['nab_standard']:5.1f}  (recall {total['recall']:.2f}, precision {total['precision'] or 0:.2f})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--objective",
        choices=OBJECTIVES,
        default="f1",
        help="what the choice maximises, pooled over the training series",
    )
    args = parser.parse_args(argv)
    cases = load_cases()
    frames = {case.path: load_series(case.path) for case in cases}
    grid = candidates()
    # scores[c][i]: candidate c on series i.
    scores = [
        [nab_eval.evaluate_series(case.series, alerts(case, cand, frames)) for case in cases] for cand in grid
    ]
    names = [case.series.name for case in cases]

    def best(excluding: int | None) -> int:
        keep = [i for i in range(len(cases)) if i != excluding]
        return max(range(len(grid)), key=lambda c: pooled(scores[c][i] for i in keep)[args.objective])

    in_sample = best(None)
    chosen = [best(i) for i in range(len(cases))]
    report: dict[str, dict] = {}
    for group in (*DATA, "all"):
        members = [i for i, case in enumerate(cases) if group in ("all", case.group)]
        report[group] = {
            "in_sample": pooled(scores[in_sample][i] for i in members),
            "out_of_sample": pooled(scores[chosen[i]][i] for i in members),
            "shipped": pooled(scores[grid.index(default_candidate())][i] for i in members),
            "before (#6)": pooled(scores[grid.index(BEFORE)][i] for i in members),
        }
        for anchor in ANCHORS:
            results = [
                nab_eval.evaluate_series(
                    cases[i].series,
                    nab_eval.alerts_from_dir(DATA[cases[i].group] / "published" / anchor, cases[i].series),
                )
                for i in members
            ]
            report[group][anchor] = pooled(results)
    folds = {names[i]: label(grid[chosen[i]]) for i in range(len(cases))}
    if args.json:
        print(
            json.dumps(
                {"in_sample_choice": label(grid[in_sample]), "folds": folds, "report": report}, indent=1
            )
        )
        return 0
    print(f"{len(grid)} candidates x {len(cases)} series; in-sample choice: {label(grid[in_sample])}")
    distinct = sorted(set(folds.values()))
    print(
        f"choices over the {len(cases)} folds: "
        + "; ".join(f"{c} ({list(folds.values()).count(c)})" for c in distinct)
    )
    for group, rows in report.items():
        print(f"\n{group}")
        for name, total in rows.items():
            print(f"  {name:<16}{summary(total)}")
        gap = rows["in_sample"]["nab_standard"] - rows["out_of_sample"]["nab_standard"]
        print(f"  gap in-sample - out-of-sample: {gap:.1f} NAB points")
    return 0


def default_candidate() -> dict[str, object]:
    defaults = DetectorSettings()
    return {key: getattr(defaults, key) for key in GRID}


if __name__ == "__main__":
    sys.exit(main())
