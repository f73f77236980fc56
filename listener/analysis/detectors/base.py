"""Pieces shared by the scorers: per-bucket evidence, range maxima, hourly quantiles, Wilson intervals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd

from listener.analysis.findings import DetectorSettings

__all__ = [
    "HourlyQuantile",
    "Scores",
    "first_instant",
    "hour_phase",
    "nan_median",
    "range_max",
    "wilson",
]

FloatArray = np.ndarray
HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Scores:
    """Per-bucket evidence of one detector, arrays aligned with the bucket index.

    ``fire``: the bucket is anomalous enough to open an incident. ``active``: it is not
    back to normal yet (the lower, hysteresis threshold). ``observed``/``expected``,
    ``score``, ``window`` and ``severity`` (0 info, 1 warning, 2 critical) describe the
    strongest window at that bucket; the share arrays are NaN for volume.
    """

    fire: np.ndarray
    active: np.ndarray
    observed: FloatArray
    expected: FloatArray
    score: FloatArray
    window: np.ndarray
    severity: np.ndarray
    observed_share: FloatArray
    expected_share: FloatArray
    share_low: FloatArray
    share_high: FloatArray


def range_max(values: FloatArray, lo: np.ndarray, hi: np.ndarray) -> FloatArray:
    """``max(values[lo:hi])`` for each pair of bounds, NaN ignored (NaN if all are NaN).

    A sparse table: level ``j`` holds the maxima of every run of ``2**j`` values, and a
    range is covered by two runs of the largest level that fits in it. The table costs
    ``n log n`` vectorised maxima; each range, two lookups. Every range must be non-empty.
    """
    values = np.asarray(values, dtype=np.float64)
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.asarray(hi, dtype=np.int64)
    out = np.full(len(lo), np.nan)
    if not len(lo):
        return out
    level = np.frexp((hi - lo).astype(np.float64))[1] - 1  # floor(log2(length)), exactly
    table = values
    for j in range(int(level.max()) + 1):
        if j:
            half = 1 << (j - 1)
            table = np.fmax(table[:-half], table[half:])
        chosen = level == j
        if chosen.any():
            out[chosen] = np.fmax(table[lo[chosen]], table[hi[chosen] - (1 << j)])
    return out


def nan_median(matrix: FloatArray) -> FloatArray:
    """Median down the columns ignoring NaN; NaN for an all-NaN column.

    Sorting puts NaN last, so the median is read at the middle of each column's valid
    count (``np.nanmedian`` does the same, column by column, much more slowly).
    """
    ordered = np.sort(matrix, axis=0)
    valid = (~np.isnan(matrix)).sum(axis=0)
    low = np.clip((valid - 1) // 2, 0, None)
    high = np.clip(valid // 2, 0, len(matrix) - 1)
    cols = np.arange(matrix.shape[1])
    out = (ordered[low, cols] + ordered[high, cols]) / 2.0
    return np.where(valid > 0, out, np.nan)


def first_instant(index: pd.Index) -> int | None:
    """The first bucket's time in nanoseconds (None if empty): how an update recognises its history.

    An integer, read without building a Timestamp or a new index on every update.
    """
    if not len(index):
        return None
    times = index if isinstance(index, pd.DatetimeIndex) else pd.DatetimeIndex(index[:1])
    return int(times.asi8[0])


def hour_phase(index: pd.DatetimeIndex, settings: DetectorSettings) -> int:
    """How many buckets the history starts after the top of its first hour (mod an hour)."""
    step = max(1, settings.buckets(HOUR))
    first = index[0]
    return int((first - first.floor("h")) // pd.Timedelta(settings.bucket)) % step


class HourlyQuantile:
    """Per row, the ``q`` quantile over the previous ``span``, from one sample per clock hour, kept.

    One value per clock hour (336 over two weeks) is enough for a percentile at 1/12 of
    the cost of a per-bucket rolling quantile, and which buckets are sampled depends on
    the clock, not on where the history starts, so the daemon and a backtest agree.
    Each bucket uses the samples taken before its hour; NaN until a day of samples
    exists. Each hour's quantile is computed once, as the history grows.

    Hour ``h`` samples the bucket at its top (``h * step - phase``) and its quantile reads
    the ``window`` samples before it, so a change at bucket ``r`` only moves the hours
    after the first sample at or past ``r``. Those few are read from their own windows
    (the same linear interpolation between order statistics as pandas' rolling quantile,
    bit for bit); many at once go through pandas on the slice that holds their windows.
    """

    def __init__(self, settings: DetectorSettings, span: timedelta, q: float, phase: int) -> None:
        per_sample = max(HOUR, settings.bucket)
        self.step = max(1, settings.buckets(HOUR))
        self.window = max(1, int(span // per_sample))
        self.least = max(1, int(timedelta(days=1) // per_sample))
        self.q, self.phase = q, phase
        self.hourly = np.empty((0, 0))
        self.samples = np.empty((0, 0))

    def update(self, rows: Callable[[np.ndarray], FloatArray], m: int, n: int, changed_from: int) -> None:
        """Take ``m`` rows of ``n`` buckets, unchanged before bucket ``changed_from``; recompute what moved.

        ``rows(at)`` gives the rows' values at the buckets ``at`` (``[m, len(at)]``): only the
        hours' samples are read, so a caller computes them only there.
        """
        step, phase = self.step, self.phase
        hours = (n + phase + step - 1) // step
        at = np.arange(hours) * step - phase
        first_moved = (changed_from + phase + step - 1) // step  # the first sample at or past it
        known = self.hourly.shape[1] if self.hourly.shape[0] == m else 0
        lo = min(first_moved + 1, known, hours) if changed_from > 0 else 0
        if lo == hours == known and first_moved >= hours:
            return  # no sample moved and no hour is new
        samples = np.full((m, hours), np.nan)
        keep = min(first_moved, self.samples.shape[1], hours) if lo else 0
        if keep:
            samples[:, :keep] = self.samples[:, :keep]
        samples[:, keep:] = np.where(at[keep:] >= 0, rows(np.clip(at[keep:], 0, max(n - 1, 0))), np.nan)
        hourly = np.full((m, hours), np.nan)
        if lo:
            hourly[:, :lo] = self.hourly[:, :lo]
        if hours - lo > 8:
            s0 = max(0, lo - self.window)
            roll = pd.DataFrame(samples[:, s0:].T).shift(1).rolling(self.window, min_periods=self.least)
            hourly[:, lo:] = roll.quantile(self.q).to_numpy().T[:, lo - s0 :]
        else:
            for h in range(lo, hours):
                hourly[:, h] = self._before(samples, h)
        self.samples, self.hourly = samples, hourly

    def _before(self, samples: FloatArray, h: int) -> FloatArray:
        """The quantile of each row's samples in ``[h - window, h)``, as pandas interpolates it."""
        ordered = np.sort(samples[:, max(0, h - self.window) : h], axis=1)  # NaN last
        nobs = (~np.isnan(ordered)).sum(axis=1)
        out = np.full(len(samples), np.nan)
        for r in np.flatnonzero(nobs >= self.least):
            count = int(nobs[r])
            if count == 1:
                out[r] = ordered[r, 0]
                continue
            f = self.q * (count - 1)
            i = int(f)
            low = ordered[r, i]
            out[r] = low if i == f else low + (ordered[r, i + 1] - low) * (f - i)
        return out

    def at(self, n: int, start: int) -> FloatArray:
        """The quantile each bucket from ``start`` to ``n`` reads (its hour's)."""
        where = (np.arange(start, n) + self.phase) // self.step
        return np.asarray(self.hourly[:, where], dtype=np.float64)


def wilson(k: FloatArray, n: FloatArray, z: float) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval of the proportion ``k / n`` (NaN where ``n == 0``).

    Unlike the raw ratio it stays honest for small counts: 2 of 3 is [0.21, 0.94].
    """
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1.0 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return low, high
