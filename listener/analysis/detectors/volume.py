"""Volume surges: the biggest rise over the usual volume in four weeks.

Per bucket ``t`` and window of ``k`` buckets ending at ``t`` (5 min, 15 min, 1 h, 3 h, 12 h):

- expected mentions ``mu``: the median, over the last ``seasonal_days`` days, of the
  mentions around the same time of day (a 1-hour neighbourhood), summed over the window.
  A median over a week follows the daily rhythm and ignores one odd day (a past
  incident, a holiday). The weekly rhythm is left to the record: a weekend that is
  always busier is in the four-week record window four times, so it is never a record;
- residual ``r = log((S + c) / (mu + c))`` with ``c = 1 + k * volume_prior * trough``,
  ``trough`` being the lowest usual rate of the last day (``daily_trough``): mention
  counts are multiplicative (a story doubles traffic at any level), so the log scale
  compares quiet and busy hours, but at the trough of the day a handful of accounts
  multiplies the count, so the ratio is taken against at least a trough's worth of
  mentions there (see ``DetectorSettings.volume_prior``);
- the window fires when ``r`` beats every residual of the same window size in the
  previous ``record_window`` (a record), when the Poisson tail ``P(X >= S | mu)`` is
  below ``volume_alpha`` and ``S >= volume_floor`` (a quiet watch going from 0 to 3 is a
  record but not a surge), and when ``S`` is ``volume_min_ratio`` times ``mu`` at least.

Why records rather than a z-score: counts of mentions have heavy, series-specific tails,
so a Gaussian z calls every ordinary news spike of a busy ticker an outlier, and a tail
model fitted on a week of data is too unstable to extrapolate. A record needs no model:
among exchangeable residuals a bucket beats the previous N with probability 1/(N+1), so
"the largest surge in four weeks" is rare by construction on any series, and adapts to
its own variability. With less than ``record_young`` of history the record is raised
to the maximum expected over that span (extreme-value extrapolation, ``past_record``), so
a new watch is not alerted by every small record of its first days.

A bucket stays active while some window is above its usual top (the 99th percentile of
its past residuals) with a Poisson tail below ``calm_alpha`` (hysteresis: no record needed).
Severity by size: info below twice the expected mentions, warning from x2, critical from
x10 (an order of magnitude); severity and ``score`` use the ratio ``(S + 1) / (mu + 1)``.

Counts are first read in units of their own noise (``dispersion``, quasi-Poisson): the
tail test, the floor, the prior and the ratios above use ``S / phi`` and ``mu / phi``;
the findings report mentions.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
from scipy import special  # type: ignore[import-untyped]

from listener.analysis.detectors.base import (
    Scores,
    clock_sampled_quantile,
    nan_median,
    range_max,
    rolling_sum,
    seasonal_lags,
    warm_mask,
)
from listener.analysis.findings import DetectorSettings

__all__ = ["daily_trough", "past_record", "score_volume", "seasonal_rate"]


def seasonal_rate(volume: np.ndarray, settings: DetectorSettings) -> np.ndarray:
    """Mentions per bucket usually seen at this time of day, from past days only (NaN: none)."""
    lags = seasonal_lags(volume, settings)
    width = 2 * settings.buckets(settings.seasonal_halfwidth) + 1
    rate = nan_median(lags) / width
    return rate


def daily_trough(rate: np.ndarray, settings: DetectorSettings) -> np.ndarray:
    """The lowest usual rate of the last day (mentions per bucket, 0 before any baseline).

    The trough of the seasonal profile: what the quietest hour of the day brings.
    """
    day = settings.per_day
    trough = pd.Series(rate).rolling(day, min_periods=1).min().to_numpy()
    return np.asarray(np.nan_to_num(trough), dtype=np.float64)


def past_record(
    residual: np.ndarray, settings: DetectorSettings, span: int = 1, where: np.ndarray | None = None
) -> np.ndarray:
    """The record to beat at each bucket, for windows of ``span`` buckets.

    The largest residual of the previous ``record_window`` (NaN before
    ``record_min_history``). With ``n`` past residuals, fewer than the ``N`` of
    ``record_young`` (a new watch), the record is also raised to
    ``older + scale * ln(N / n)``, the expected maximum of ``N`` residuals: in the Gumbel
    domain the maximum of ``n`` values grows like ``scale * ln(n)``. ``scale`` comes from
    quantiles, not from the maximum (which may be one past incident): for an exponential
    tail ``q99 - q90 = scale * ln(10)``.

    ``older`` is the largest residual of the windows that share no bucket with the
    current one (ending ``span`` buckets ago or earlier). Overlapping windows are the
    same surge seen a few buckets earlier: a surge that builds up over hours raises its
    own plain record at every step, so ``plain record + extra`` would ask each bucket to
    beat the previous one by the whole extrapolation, which a slow rise never does,
    however far it climbs past everything before it.

    ``where`` (default: everywhere) marks the buckets that can fire at all: the record is
    only computed there (NaN elsewhere), with a sparse table of range maxima rather than
    a rolling maximum over the whole history.
    """
    window = settings.buckets(settings.record_window)
    least = max(1, settings.buckets(settings.record_min_history))
    young = min(window, max(least, settings.buckets(settings.record_young)))
    n = len(residual)
    top = np.full(n, np.nan)
    at = np.arange(n) if where is None else np.flatnonzero(where)
    # The past of bucket p: residuals [p - window, p), counted without NaN.
    first = np.maximum(at - window, 0)
    present = np.concatenate(([0], np.cumsum(~np.isnan(residual))))
    count = present[at] - present[first]
    enough = count >= least
    at, first, count = at[enough], first[enough], count[enough]
    top[at] = range_max(residual, first, at)
    # Only a young history is raised, and only where the plain record is beaten: records
    # are rare, so the quantiles are computed at a handful of buckets.
    beaten = (count < young) & (residual[at] > top[at])
    for p, lo, seen in zip(at[beaten], first[beaten], count[beaten], strict=True):
        window_values = residual[lo:p]
        window_values = window_values[~np.isnan(window_values)]
        # Windows ending at p - span or earlier share no bucket with this one.
        older = residual[lo : max(lo, p - span + 1)]
        older = older[~np.isnan(older)]
        if not len(older):  # no window independent of this one yet: nothing to beat
            top[p] = np.inf
            continue
        q99, q90 = np.quantile(window_values, (0.99, 0.90))
        scale = max(q99 - q90, 0.0) / np.log(10.0)
        extra = scale * np.log(young / max(float(seen), 1.0))
        top[p] = max(top[p], float(older.max()) + extra)
    return top


def dispersion(
    volume: np.ndarray, rate: np.ndarray, index: pd.DatetimeIndex, settings: DetectorSettings
) -> np.ndarray:
    """How many units of ``volume`` make one Poisson count (quasi-Poisson ``phi``) per bucket.

    Mention counts vary more than Poisson counts (bots, retweet bursts, the news cycle),
    and a metric in other units (CPU %, bytes, prices) has no count unit at all. Dividing
    by ``phi`` puts both on the Poisson scale the tail test and the floor assume. ``phi``
    is the squared robust spread of the one-bucket Pearson residuals ``(x - rate) /
    sqrt(rate)`` over the past ``seasonal_days`` (median absolute residual / 0.6745,
    which one past incident cannot inflate), carried forward where there is none. Whole
    numbers are counts: their ``phi`` is at least 1, since at low rates most buckets are
    0 and the median residual would call a quiet watch under-dispersed.
    """
    ones = np.ones(len(volume))
    if not settings.volume_dispersion:
        return ones
    with np.errstate(all="ignore"):
        pearson = np.where(rate > 0, np.abs(volume - rate) / np.sqrt(rate), np.nan)
    span = settings.seasonal_days * timedelta(days=1)
    spread = clock_sampled_quantile(pearson[None, :], index, settings, span, 0.5)[0]
    with np.errstate(all="ignore"):
        phi = np.where(spread > 0, (spread / 0.6745) ** 2, np.nan)
    phi = pd.Series(phi).ffill().fillna(1.0).to_numpy()
    counts = not np.any(volume % 1)
    return np.asarray(np.fmax(phi, 1.0) if counts else phi, dtype=np.float64)


def score_volume(frame: pd.DataFrame, settings: DetectorSettings) -> Scores:
    """Score every bucket of ``frame`` (column ``volume``) for volume surges."""
    volume = frame["volume"].to_numpy(dtype=np.float64)
    n = len(volume)
    rate = seasonal_rate(volume, settings)
    warm = warm_mask(n, settings)
    scales = settings.volume_scales
    shape = (len(scales), n)
    fires = np.zeros(shape, dtype=bool)
    actives = np.zeros(shape, dtype=bool)
    sums = np.full(shape, np.nan)  # mentions, for the report
    mus = np.full(shape, np.nan)
    noise_sums = np.full(shape, np.nan)  # the same in units of the series' own noise, for the tests
    noise_mus = np.full(shape, np.nan)
    resids = np.full(shape, np.nan)
    phi = dispersion(volume, rate, pd.DatetimeIndex(frame.index), settings)
    noise_volume, noise_rate = volume / phi, rate / phi
    prior = settings.volume_prior * daily_trough(noise_rate, settings)
    for i, k in enumerate(scales):
        sums[i] = rolling_sum(volume, k, counts=True)
        mus[i] = rolling_sum(rate, k)
        noise_sums[i] = rolling_sum(noise_volume, k)
        noise_mus[i] = rolling_sum(noise_rate, k)
        with np.errstate(all="ignore"):
            resids[i] = np.log((noise_sums[i] + 1.0 + k * prior) / (noise_mus[i] + 1.0 + k * prior))
    usual = clock_sampled_quantile(
        resids, pd.DatetimeIndex(frame.index), settings, settings.record_window, 0.99
    )
    for i, span in enumerate(scales):
        total, mu, resid = noise_sums[i], noise_mus[i], resids[i]
        counted = np.nan_to_num(total) >= settings.volume_floor
        # The Poisson tail is the costly test: only where the cheap ones pass.
        big = counted & (np.nan_to_num(resid, nan=-1.0) >= np.log(settings.volume_min_ratio))
        record_ok = big & (np.nan_to_num(resid - past_record(resid, settings, span, big), nan=-1.0) > 0)
        above = counted & (np.nan_to_num(resid - usual[i], nan=-1.0) > 0)
        logp = np.zeros(n)
        todo = record_ok | above
        # P(X >= S) for X ~ Poisson(mu) is the regularised lower incomplete gamma P(S, mu).
        tail = special.gammainc(np.fmax(total[todo], 1e-9), np.fmax(mu[todo], 1e-9))
        logp[todo] = np.log(np.fmax(tail, 1e-300))
        fires[i] = record_ok & (logp <= np.log(settings.volume_alpha))
        actives[i] = above & (logp <= np.log(settings.calm_alpha))
    fire = fires.any(axis=0) & warm
    active = actives.any(axis=0) & warm
    with np.errstate(all="ignore"):
        log_ratio = np.log2((noise_sums + 1.0) / (noise_mus + 1.0))
    # Report the firing window with the largest ratio (else the largest ratio overall).
    ranking = np.where(fires, 1e6, 0.0) + np.nan_to_num(log_ratio, nan=-1e3)
    best = np.argmax(ranking, axis=0)
    cols = np.arange(n)
    doublings = log_ratio[best, cols]
    # info below x2, warning from x2, critical from x10 (an order of magnitude).
    severity = np.where(doublings >= np.log2(10.0), 2, np.where(doublings >= 1.0, 1, 0)).astype(np.int8)
    nan = np.full(n, np.nan)
    return Scores(
        fire=fire,
        active=active | fire,
        observed=sums[best, cols],
        expected=mus[best, cols],
        score=np.nan_to_num(doublings),
        window=np.asarray(scales)[best],
        severity=severity,
        observed_share=nan,
        expected_share=nan,
        share_low=nan,
        share_high=nan,
    )
