"""Pieces shared by the scorers: per-bucket evidence, seasonal lags, Wilson intervals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd

from listener.analysis.findings import DetectorSettings

__all__ = [
    "Scores",
    "clock_sampled_quantile",
    "nan_median",
    "range_max",
    "rolling_sum",
    "seasonal_lags",
    "warm_mask",
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


def rolling_sum(values: FloatArray, k: int, *, counts: bool = False) -> FloatArray:
    """Trailing sum of ``k`` buckets ending at each bucket (NaN until ``k`` exist, or on NaN).

    ``counts`` (integers, no NaN) are summed exactly through a cumulative sum. Other
    values are summed window by window (a convolution), so each sum depends only on its
    own window: the daemon's shorter history gives bit-identical sums to a backtest.
    """
    values = np.asarray(values, dtype=np.float64)
    out = np.full(len(values), np.nan)
    if len(values) < k:
        return out
    if counts:
        csum = np.concatenate(([0.0], np.cumsum(values)))
        out[k - 1 :] = csum[k:] - csum[:-k]
        return out
    out[k - 1 :] = np.convolve(values, np.ones(k), mode="valid")
    return out


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


def centred_sum(values: FloatArray, half: int, *, counts: bool = False) -> FloatArray:
    """Sum over ``[i - half, i + half]`` (NaN where that runs off either end)."""
    out = np.full(len(values), np.nan)
    trailing = rolling_sum(values, 2 * half + 1, counts=counts)
    if len(values) > 2 * half:
        out[half : len(values) - half] = trailing[2 * half :]
    return out


def seasonal_lags(values: FloatArray, settings: DetectorSettings, *, counts: bool = True) -> FloatArray:
    """Matrix ``[days, n]``: the centred window sum around the same time 1..days days ago.

    Row ``d-1`` at bucket ``t`` sums buckets ``t - d*day +/- halfwidth``; it is causal
    because the half-width is far less than a day. Missing history is NaN.
    """
    per_day = settings.per_day
    half = settings.buckets(settings.seasonal_halfwidth)
    if half >= per_day:
        raise ValueError("seasonal_halfwidth must be shorter than a day")
    centred = centred_sum(np.asarray(values, dtype=np.float64), half, counts=counts)
    n = len(values)
    lags = np.full((settings.seasonal_days, n), np.nan)
    for d in range(1, settings.seasonal_days + 1):
        shift = d * per_day
        if shift < n:
            lags[d - 1, shift:] = centred[: n - shift]
    return lags


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


def clock_sampled_quantile(
    rows: FloatArray, index: pd.DatetimeIndex, settings: DetectorSettings, span: timedelta, q: float
) -> FloatArray:
    """Per row of ``rows`` (shape ``[m, n]``), the ``q`` quantile over the previous ``span``.

    Estimated from one value per clock hour (336 over two weeks): enough for a percentile
    at 1/12 of the cost of a per-bucket rolling quantile. Which buckets are sampled
    depends on the clock, not on where the history starts, so the daemon's window of
    history and a backtest agree. Each bucket uses the samples taken before its hour;
    NaN until a day of samples exists.
    """
    m, n = rows.shape
    if n == 0:
        return np.full((m, 0), np.nan)
    step = max(1, settings.buckets(HOUR))
    first = index[0]
    pad = int((first - first.floor("h")) // pd.Timedelta(settings.bucket)) % step
    hours = (n + pad + step - 1) // step
    at = np.arange(hours) * step - pad
    samples = np.where(at >= 0, rows[:, np.clip(at, 0, n - 1)], np.nan)
    per_sample = max(HOUR, settings.bucket)
    roll = (
        pd.DataFrame(samples.T)
        .shift(1)
        .rolling(max(1, int(span // per_sample)), min_periods=max(1, int(timedelta(days=1) // per_sample)))
    )
    where = (np.arange(n) + pad) // step
    return np.asarray(roll.quantile(q).to_numpy().T[:, where], dtype=np.float64)


def warm_mask(n: int, settings: DetectorSettings) -> np.ndarray:
    """True from the first bucket after the warm-up period of this history."""
    mask = np.zeros(n, dtype=bool)
    mask[settings.buckets(settings.warmup) :] = True
    return mask


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
