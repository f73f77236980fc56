"""The volume scorer kept between passes scores exactly as scoring the whole frame again.

The daemon updates each watch's ``VolumeScorer`` with the buckets that changed since its
last pass (new ones, late mentions in old ones, a shorter frame); every update must give
bit for bit what ``score_volume`` gives on the same frame, every field of ``Scores``.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from listener.analysis.detectors.volume import VolumeScorer, score_volume
from listener.analysis.findings import DetectorSettings

# The defaults, and windows short enough for a few days of buckets to slide through every one
# of them (the record, the hourly quantiles, the seasonal lags, a young watch's record).
SETTINGS = {
    "defaults": DetectorSettings(),
    "short windows": DetectorSettings(
        warmup=timedelta(days=1),
        seasonal_days=2,
        record_window=timedelta(days=4),
        record_min_history=timedelta(days=1),
        record_young=timedelta(days=2),
    ),
}


def frame(volume: np.ndarray, start: str = "2025-03-01 00:35") -> pd.DataFrame:
    index = pd.date_range(pd.Timestamp(start, tz="UTC"), periods=len(volume), freq="5min", name="bucket")
    return pd.DataFrame({"volume": volume, "negative": np.zeros(len(volume), dtype=np.int64)}, index=index)


def series(rng: np.random.Generator, n: int) -> np.ndarray:
    """A daily rhythm at a random level, with surges and (sometimes) long silences."""
    t = np.arange(n)
    level = rng.choice([0.05, 0.8, 6.0, 60.0])
    lam = level * (1 + 0.7 * np.sin(2 * np.pi * t / 288))
    for _ in range(int(rng.integers(0, 4))):
        at = int(rng.integers(0, n))
        lam[at : at + int(rng.integers(2, 80))] *= rng.choice([3.0, 8.0, 40.0])
    volume = rng.poisson(lam)
    if rng.random() < 0.2:
        volume[int(rng.integers(0, n)) :] = 0
    return volume


def assert_same(got: object, want: object) -> None:
    for f in fields(want):  # type: ignore[arg-type]
        a, b = np.asarray(getattr(got, f.name)), np.asarray(getattr(want, f.name))
        assert a.shape == b.shape, f.name
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), f.name


@pytest.mark.parametrize("name", SETTINGS)
@pytest.mark.parametrize("seed", range(8))
def test_updates_score_as_the_whole_frame_does(seed: int, name: str) -> None:
    rng = np.random.default_rng(seed)
    settings = SETTINGS[name]
    full = series(rng, int(rng.integers(600, 4000)))
    n = int(rng.integers(1, 500))
    scorer = VolumeScorer(settings)
    assert_same(scorer.update(frame(full[:n])), score_volume(frame(full[:n]), settings))
    for _ in range(25):
        step = rng.random()
        if step < 0.6:  # new buckets, the newest few late
            grow = int(rng.integers(1, 40))
            changed = max(0, n - int(rng.integers(0, 4)))
            n = min(len(full), n + grow)
        elif step < 0.8:  # late mentions in an old bucket
            changed = int(rng.integers(0, n))
            full[changed] += int(rng.integers(1, 30))
        else:  # a shorter frame
            changed = n = int(rng.integers(1, n + 1))
        got = scorer.update(frame(full[:n]), changed)
        assert_same(got, score_volume(frame(full[:n]), settings))


def test_a_frame_that_starts_elsewhere_is_scored_from_scratch() -> None:
    rng = np.random.default_rng(99)
    settings = DetectorSettings()
    volume = series(rng, 1500)
    scorer = VolumeScorer(settings)
    scorer.update(frame(volume[:1000]))
    moved = frame(volume[288:1288], start="2025-03-02 00:35")
    assert_same(scorer.update(moved, changed_from=700), score_volume(moved, settings))


def test_volumes_that_stop_being_counts_are_scored_from_scratch() -> None:
    rng = np.random.default_rng(5)
    settings = DetectorSettings()
    volume = series(rng, 1200).astype(np.float64)
    scorer = VolumeScorer(settings)
    scorer.update(frame(volume))
    volume[-1] += 0.5
    assert_same(scorer.update(frame(volume), changed_from=1199), score_volume(frame(volume), settings))


def test_buckets_before_the_change_are_not_read_again() -> None:
    """The contract's other side: what came before ``changed_from`` is taken from the kept state."""
    rng = np.random.default_rng(3)
    settings = SETTINGS["short windows"]
    volume = series(rng, 2000)
    scorer = VolumeScorer(settings)
    before = scorer.update(frame(volume)).expected.copy()
    volume[:1000] *= 5  # not announced: the scorer keeps its baselines from the old counts
    kept = scorer.update(frame(volume), changed_from=1990).expected
    assert np.array_equal(kept[:1990], before[:1990], equal_nan=True)
    assert not np.array_equal(kept, score_volume(frame(volume), settings).expected, equal_nan=True)
