"""The incremental negative-share scorer equals a fresh ``score_negative`` after every update.

Random watches (quiet, busy, with surges, tone shifts and empty buckets) go through random
sequences of what the alert evaluation does to its frame between polls: append a few
buckets, rewrite the buckets from some position on (late or rescored mentions), cut the
frame back (at the first bucket with unscored mentions) and grow it again, move its
start. After each update every field must be bit-identical to scoring the frame afresh.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from listener.analysis.detectors.base import Scores
from listener.analysis.detectors.negative import LATE_ROOM, NegativeScorer, score_negative
from listener.analysis.findings import DetectorSettings

DAY = 288  # five-minute buckets
START = pd.Timestamp("2025-03-01 00:00", tz="UTC")


def draw_counts(rng: np.random.Generator, n: int, style: str) -> tuple[np.ndarray, np.ndarray]:
    """``n`` buckets of mentions and negatives of one watch style."""
    t = np.arange(n)
    mean = {"quiet": 0.3, "sparse": 3.0, "busy": 60.0, "huge": 800.0}[style]
    rate = mean * (1 + 0.6 * np.sin(2 * np.pi * t / DAY))
    share = np.full(n, rng.choice([0.03, 0.12, 0.4]))
    for _ in range(int(rng.integers(0, 4))):  # volume surges and tone shifts
        at, length = int(rng.integers(0, max(n, 1))), int(rng.integers(3, 80))
        rate[at : at + length] *= rng.choice([3.0, 10.0, 30.0])
        share[at : at + length] = min(0.95, share[0] * rng.choice([2.0, 3.0, 6.0]))
    volume = rng.poisson(rate)
    if rng.random() < 0.4:  # scattered empty buckets and a dead stretch
        volume[rng.random(n) < 0.3] = 0
        at = int(rng.integers(0, max(n, 1)))
        volume[at : at + int(rng.integers(1, 3 * DAY))] = 0
    return volume, rng.binomial(volume, share)


class Watch:
    """The full history of one watch; a frame is a slice of it, and later parts can change."""

    def __init__(self, rng: np.random.Generator, length: int) -> None:
        self.rng = rng
        self.style = str(rng.choice(["quiet", "sparse", "busy", "huge"]))
        self.volume, self.negative = draw_counts(rng, length, self.style)

    def redraw(self, start: int) -> None:
        """New counts from ``start`` on (same style): rescored or late mentions."""
        volume, negative = draw_counts(self.rng, len(self.volume) - start, self.style)
        self.volume[start:], self.negative[start:] = volume, negative

    def frame(self, first: int, end: int, bucket: timedelta) -> pd.DataFrame:
        index = pd.date_range(START + first * bucket, periods=end - first, freq=bucket, name="bucket")
        return pd.DataFrame(
            {"volume": self.volume[first:end], "negative": self.negative[first:end]}, index=index
        )


def assert_same(got: Scores, frame: pd.DataFrame, settings: DetectorSettings) -> None:
    want = score_negative(frame, settings)
    for field in fields(Scores):
        a, b = getattr(got, field.name), getattr(want, field.name)
        assert a.dtype == b.dtype and a.shape == b.shape == (len(frame),), field.name
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), field.name


def next_step(rng: np.random.Generator, watch: Watch, first: int, end: int) -> tuple[int, int, int]:
    """One change the evaluation makes between polls: (first, end, changed_from)."""
    total = len(watch.volume)
    move = rng.choice(["append", "rewrite", "truncate", "move start", "same"], p=[0.4, 0.2, 0.2, 0.1, 0.1])
    if move == "append":
        end = min(total, end + int(rng.choice([1, 1, 2, 3, 12, 300])))
        return first, end, end - int(rng.integers(1, 4))  # the last buckets may have changed too
    if move == "rewrite":
        at = int(rng.integers(first, end))
        watch.redraw(at)
        return first, end, at - first
    if move == "truncate":
        end = int(rng.integers(first, end)) if end > first + 1 else end
        return first, end, int(rng.integers(0, end - first + 1))
    if move == "move start":
        first = max(0, min(end - 1, first + int(rng.integers(-50, 50))))
        return first, end, end - first  # says nothing changed: the new start must override it
    return first, end, end - first


@pytest.mark.parametrize("seed", range(24))
def test_updates_equal_a_fresh_scoring(seed: int) -> None:
    rng = np.random.default_rng(seed)
    bucket = timedelta(hours=1) if seed % 6 == 5 else timedelta(minutes=5)
    settings = DetectorSettings(bucket=bucket)
    total = int(rng.choice([40, 700, 2500, 5000]))
    watch = Watch(rng, total)
    first, end = 0, int(rng.integers(1, total + 1))
    scorer = NegativeScorer(settings)
    frame = watch.frame(first, end, bucket)
    assert_same(scorer.update(frame), frame, settings)
    for _ in range(7):
        first, end, changed_from = next_step(rng, watch, first, end)
        frame = watch.frame(first, end, bucket)
        assert_same(scorer.update(frame, changed_from), frame, settings)


def test_a_long_run_of_single_bucket_polls() -> None:
    """A daemon's life: one new bucket per poll, the last two rewritten, a cut now and then."""
    rng = np.random.default_rng(99)
    settings = DetectorSettings()
    watch = Watch(rng, 3 * DAY)
    watch.style = "busy"
    watch.redraw(0)
    scorer = NegativeScorer(settings)
    end = 2 * DAY
    scorer.update(watch.frame(0, end, settings.bucket))
    for poll in range(60):
        end = end - 3 if poll % 15 == 14 else end + 1
        watch.redraw(end - 2)
        frame = watch.frame(0, end, settings.bucket)
        got = scorer.update(frame, end - 2)
    assert_same(got, frame, settings)


def test_returned_scores_are_valid_until_the_next_update() -> None:
    """The documented contract: the arrays are the scores as returned; a caller that keeps
    them past the next update copies them, and its copies stay the old frame's scores."""
    rng = np.random.default_rng(5)
    settings = DetectorSettings()
    watch = Watch(rng, 4 * DAY)
    scorer = NegativeScorer(settings)
    old = watch.frame(0, 3 * DAY, settings.bucket)
    got = scorer.update(old)
    assert_same(got, old, settings)
    kept = Scores(*(getattr(got, f.name).copy() for f in fields(Scores)))
    watch.redraw(DAY)
    new = watch.frame(0, 4 * DAY, settings.bucket)
    assert_same(scorer.update(new, DAY), new, settings)
    assert_same(kept, old, settings)


def poison_below_kept(scorer: NegativeScorer) -> None:
    """Put back one NaN sum before each kept horizon: a read beyond ``reach`` shows up."""
    for sums in scorer._sums:
        kept = sums._buffer
        data = np.full((*kept._data.shape[:-1], kept._data.shape[-1] + 1), np.nan)
        data[..., 1:] = kept._data
        kept._data, kept._end = data, kept._end + 1
        sums.offset -= 1
        sums.reach += 1  # ``holds`` as before


def test_the_kept_reach_is_what_the_windows_read() -> None:
    """Worked out from the windows: the daily rhythm's oldest (12 hours before the same time
    ``seasonal_days`` back), the level's (``seasonal_days`` before an end an hour back), the
    dispersion's (``seasonal_days``), the negative windows' (the longest, to the bucket)."""
    settings = DetectorSettings()
    week = settings.seasonal_days * DAY
    scorer = NegativeScorer(settings)
    reach = [sums.reach for sums in scorer._sums]
    windows = max(settings.negative_scales) - 1  # the evidence and the counts
    assert reach == [week + 12 * 12 - 1, week + 12 - 1, week, windows, windows]


@pytest.mark.parametrize("style", ["busy", "sparse", "quiet"])
@pytest.mark.parametrize("inside", [True, False])
def test_a_change_at_the_edge_of_the_kept_sums(
    inside: bool, style: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change just inside what is kept is scored from there, reading nothing older than
    what is kept; one just outside from the first bucket; both give what scoring the whole
    frame does."""
    rng = np.random.default_rng(11)
    settings = DetectorSettings()
    watch = Watch(rng, 25 * DAY)
    watch.style = style
    watch.redraw(0)
    end = 24 * DAY
    edge = end - settings.buckets(LATE_ROOM)  # the oldest change the scorer can take
    # Every window at the edge counts: mentions in its bucket, all negative for 5 hours.
    shift = slice(edge - 60, edge + 1)
    watch.volume[shift] = np.maximum(watch.volume[shift], 3)
    watch.negative[shift] = watch.volume[shift]
    scorer = NegativeScorer(settings)
    scorer.update(watch.frame(0, end, settings.bucket))
    for _ in range(5):  # the daemon's steady state: a bucket at a time
        end += 1
        scorer.update(watch.frame(0, end, settings.bucket), end - 1)
    # Each kept sum is cut where its own reach ends, so all are at their edge at once.
    assert {sums.offset + sums.reach for sums in scorer._sums} == {edge}
    changed = edge if inside else edge - 1
    if inside:
        poison_below_kept(scorer)
    starts: list[int] = []
    resume_at = NegativeScorer._resume_at

    def spy(self: NegativeScorer, *args: object) -> int:
        start = resume_at(self, *args)  # type: ignore[arg-type]
        if self is scorer:  # not the whole-frame scoring it is compared with
            starts.append(start)
        return start

    monkeypatch.setattr(NegativeScorer, "_resume_at", spy)
    watch.redraw(changed)
    watch.volume[changed] = watch.negative[changed] = max(3, watch.volume[changed])
    end += 1
    frame = watch.frame(0, end, settings.bucket)
    assert_same(scorer.update(frame, changed), frame, settings)
    assert starts == [changed if inside else 0]
    end += 1  # and it goes on from there
    frame = watch.frame(0, end, settings.bucket)
    assert_same(scorer.update(frame, end - 1), frame, settings)


@pytest.mark.parametrize("seed", range(6))
def test_late_changes_in_a_long_history(seed: int) -> None:
    """Histories longer than the kept sums; changes a few buckets, days, or over a week late."""
    rng = np.random.default_rng(100 + seed)
    settings = DetectorSettings()
    watch = Watch(rng, 30 * DAY)
    end = int(rng.integers(16 * DAY, 22 * DAY))
    scorer = NegativeScorer(settings)
    frame = watch.frame(0, end, settings.bucket)
    assert_same(scorer.update(frame), frame, settings)
    for _ in range(6):
        end += int(rng.choice([1, 1, 3, 40]))
        late = int(rng.choice([2, DAY, 6 * DAY, 7 * DAY + 200, 9 * DAY]) + rng.integers(0, 50))
        changed = max(0, end - late)
        watch.redraw(changed)
        frame = watch.frame(0, end, settings.bucket)
        assert_same(scorer.update(frame, changed), frame, settings)


def test_an_empty_frame_and_back() -> None:
    settings = DetectorSettings()
    watch = Watch(np.random.default_rng(3), DAY)
    scorer = NegativeScorer(settings)
    empty = watch.frame(0, 0, settings.bucket)
    assert len(scorer.update(empty).fire) == 0
    frame = watch.frame(0, DAY, settings.bucket)
    assert_same(scorer.update(frame, 5), frame, settings)
