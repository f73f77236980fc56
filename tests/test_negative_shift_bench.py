"""The negative-share benchmark's generator and scoring (``bench/negative_shift.py``)."""

from __future__ import annotations

import importlib.util
import shlex
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from listener.analysis import DetectorSettings

ROOT = Path(__file__).resolve().parents[1]


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("negative_shift", ROOT / "bench" / "negative_shift.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["negative_shift"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


ns = load_bench()
DAY = 288


@pytest.fixture
def volumes(tmp_path: Path) -> Path:
    """Sixteen days of Poisson volumes with a daily rhythm, NAB style (naive, :02:53)."""
    rng = np.random.default_rng(0)
    index = pd.date_range("2015-02-26 21:42:53", periods=16 * DAY, freq="5min")
    hours = index.hour + index.minute / 60
    volume = rng.poisson(20 * (1 + 0.8 * np.sin(2 * np.pi * (hours - 9) / 24)))
    path = tmp_path / "Twitter_volume_TEST.csv"
    pd.DataFrame({"timestamp": index.strftime("%Y-%m-%d %H:%M:%S"), "value": volume}).to_csv(
        path, index=False
    )
    return path


def test_same_seed_same_data(volumes: Path) -> None:
    one, two = ns.make_scenario(volumes, 7, 6, 2), ns.make_scenario(volumes, 7, 6, 2)
    pd.testing.assert_frame_equal(one.frame, two.frame)
    assert one.shifts == two.shifts and one.hard == two.hard
    np.testing.assert_array_equal(one.normal, two.normal)
    other = ns.make_scenario(volumes, 8, 6, 2)
    assert not one.frame["negative"].equals(other.frame["negative"])
    assert one.shifts != other.shifts


def test_a_series_does_not_depend_on_the_others(volumes: Path) -> None:
    """Scenarios are seeded by (seed, file name): the same volumes under another name differ."""
    other = volumes.with_name("Twitter_volume_OTHER.csv")
    other.write_bytes(volumes.read_bytes())
    alone = ns.make_scenario(volumes, 3, 6, 2)
    renamed = ns.make_scenario(other, 3, 6, 2)
    again = ns.make_scenario(volumes, 3, 6, 2)
    pd.testing.assert_frame_equal(alone.frame, again.frame)
    assert not alone.frame["negative"].equals(renamed.frame["negative"])


def test_events_follow_the_issue(volumes: Path) -> None:
    scenario = ns.make_scenario(volumes, 11, 6, 2)
    assert len(scenario.shifts) >= 4 and len(scenario.hard) >= 3
    starts = sorted([s.start for s in scenario.shifts] + [h.start for h in scenario.hard])
    assert starts[0] >= ns.EVENTS_FROM
    assert min(np.diff(starts)) >= ns.SPACING
    for s in scenario.shifts:
        assert 2.0 <= s.factor <= 4.0
        assert 12 <= s.length <= 72 and 3 <= s.ramp <= 6  # 1-6 h, ramp 15-30 min
        if s.visible:
            assert 0 <= s.oracle_delay < s.length
    frame = scenario.frame
    for h in scenario.hard:
        rows = frame.iloc[h.start : h.start + h.length]
        if h.kind == "quiet_negatives":
            odd = rows[rows["negative"] == rows["value"]]
            assert h.length == 12 and 1 <= h.size <= 9
            assert odd["value"].between(1, 3).sum() >= 1 and odd["value"].sum() >= h.size
        else:
            assert 3.0 <= h.size <= 8.0 and 1 <= h.length <= 12


def test_normal_share_has_a_daily_rhythm_and_a_bounded_drift(volumes: Path) -> None:
    scenario = ns.make_scenario(volumes, 5, 6, 2)
    relative = scenario.normal / scenario.base
    # x0.7..x1.3 of rhythm times x0.8..x1.3 of drift.
    assert relative.min() >= 0.7 * 0.8 and relative.max() <= 1.3 * 1.3
    by_hour = pd.Series(relative).groupby(np.arange(len(relative)) // 12 % 24).mean()
    assert by_hour.max() / by_hour.min() > 1.5  # the rhythm shows over a day
    # Beta-binomial noise: the bucket share varies more than binomially where volume is big.
    frame = scenario.frame
    normal_rows = np.ones(len(frame), dtype=bool)
    for s in scenario.shifts:
        normal_rows[s.start : s.start + s.length] = False
    for h in scenario.hard:
        normal_rows[h.start : h.start + h.length] = False
    n = frame["value"].to_numpy()[normal_rows]
    k = frame["negative"].to_numpy()[normal_rows]
    p = scenario.normal[normal_rows]
    big = n >= 20
    ratio = np.mean((k[big] - n[big] * p[big]) ** 2) / np.mean(n[big] * p[big] * (1 - p[big]))
    assert ratio > 1.3


def test_snr_counts_the_expected_excess() -> None:
    volume = np.full(12, 100.0)
    normal = np.full(12, 0.1)
    snr, oracle = ns.shift_snr(volume, normal, normal * 2)
    sd = np.sqrt(12 * 100 * 0.1 * 0.9 * (1 + 99 / (ns.CONCENTRATION + 1)))
    assert snr == pytest.approx(12 * 10 / sd)
    assert 0 <= oracle < 12
    assert ns.shift_snr(np.zeros(3), np.full(3, 0.1), np.full(3, 0.2)) == (0.0, -1)


def test_scoring_sorts_alerts_into_catches_hard_negatives_and_false_alarms(volumes: Path) -> None:
    scenario = ns.make_scenario(volumes, 2, 6, 2)
    visible = [s for s in scenario.shifts if s.visible]
    assert visible
    shift, hard = visible[0], scenario.hard[0]
    quiet = next(
        r
        for r in range(ns.SCORED_FROM, len(scenario.frame))
        if all(not (e.start - 20 <= r < e.start + e.length + 20) for e in [*scenario.shifts, *scenario.hard])
    )
    result = ns.score(scenario, [shift.start + 2, shift.start + 5, hard.start, quiet, 3])
    assert result.visible_caught == 1 and result.delays == [2]
    assert result.hard_alarmed == 1
    assert result.false_alarms == 1  # row 3 is in the warm-up, not scored
    overall = ns.totals([result])
    assert overall["visible_caught"] == 1 and overall["hard_negatives_alarmed"] == 1


def test_in_process_and_command_agree(shared_dir: Path, tmp_path: Path) -> None:
    """``--cmd`` scores the `listener backtest` contract; the fast path gives the same alerts."""
    path = shared_dir / "data" / "nab_realtweets" / "Twitter_volume_FB.csv"
    scenario = ns.make_scenario(path, 1)
    here = ns.alerts_in_process(scenario, DetectorSettings())
    cmd = f"{shlex.quote(sys.executable)} -m listener.cli.backtest"
    assert here == ns.alerts_from_command(scenario, cmd, tmp_path)
    assert here  # the shifts are found at all


def test_ramp_evidence_follows_the_shape_of_a_shift() -> None:
    """A window aligned with a ramped x3 shift gathers evidence; the usual share loses it."""
    n = 40
    volume = np.full(n, 200.0)
    p0 = np.full(n, 0.1)
    rho = np.full(n, 1.0 / (ns.CONCENTRATION + 1.0))
    usual = np.round(volume * p0)
    shifted = usual.copy()
    shifted[30:] = np.round(volume[30:] * p0[30:] * np.minimum(3.0, 1 + 2 * np.arange(1, 11) / 4))
    spans = (1, 4, 10)
    calm = ns.ramp_evidence(usual, volume, p0, rho, spans)
    wave = ns.ramp_evidence(shifted, volume, p0, rho, spans)
    assert calm.shape == (3, n) and (calm[:, 10:] < 0).all()
    assert wave[2, -1] > wave[1, -1] > np.log(1e4) > calm[:, -1].max()


def test_the_ideal_reference_catches_what_it_sees(volumes: Path) -> None:
    scenario = ns.make_scenario(volumes, 2, 6, 2)
    rows = ns.ideal_alerts(scenario, 1e-4, DetectorSettings())
    assert rows == ns.ideal_alerts(scenario, 1e-4, DetectorSettings())
    result = ns.score(scenario, rows)
    assert result.visible_caught >= result.visible - 1 and result.false_alarms <= 1
