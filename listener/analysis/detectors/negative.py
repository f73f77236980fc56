"""Negative-share shifts: a larger part of the mentions is negative than usual.

Per bucket ``t``:

- expected share ``p0`` = recent level x daily rhythm. The rhythm: how the share around
  this time of day compared with its whole day's share, the median over the last
  ``seasonal_days`` days (one past incident cannot set it). The level: the share of the
  most recent few thousand mentions with the rhythm taken out, ending an hour before
  ``t``, so the baseline follows tone that drifts over days (see ``seasonal_share``).
- over-dispersion ``rho``: real tone varies more than binomially; a bucket's share is
  modelled as a beta draw around ``p0``, so its ``K`` negatives of ``N`` mentions are
  beta-binomial, ``Var K = N p0 (1 - p0) (1 + (N - 1) rho)``. ``rho`` is read from the
  past week, with residuals capped so a past incident barely inflates it (``dispersion``).
- evidence: the log likelihood ratio of the bucket's count under a shifted share
  (``negative_lifts``, x2 and x3 of ``p0``, mixed) against the usual ``p0``, both
  beta-binomial. Summed over a window it is a CUSUM-like statistic: each bucket adds
  evidence when it looks shifted and takes some away when it looks normal, so a shift
  that ramps up over half an hour accumulates from its first bucket, and a big bucket
  with an ordinary share (a volume spike) adds nothing, however many mentions it holds.
- a window of ``negative_windows`` (5 minutes to 6 hours: short for a sudden wave, long
  for a quiet watch where a shift shows only over hours) fires when its likelihood ratio
  exceeds ``1 / negative_alpha`` and it holds at least ``negative_floor`` negatives
  (1-3 negative posts in a quiet hour are never a crisis).

Why a likelihood ratio: under the usual share, the chance that it ever exceeds ``1/a``
is at most ``a`` (Ville's inequality), whatever the volume, so one threshold suits a
watch with 2 mentions a bucket and one with 2,000. The score reported is the ratio's
log10, so it reads like ``-log10`` of a p-value.

Severity from the lower Wilson bound of the window's share (counts divided by the
dispersion factor), so a small noisy window cannot look critical: info below +10 points
over the expected share, warning from +10, critical from +25 points and twice the
expected share.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pandas as pd
from scipy import special  # type: ignore[import-untyped]

from listener.analysis.detectors.base import (
    Scores,
    nan_median,
    seasonal_lags,
    warm_mask,
    wilson,
)
from listener.analysis.findings import DetectorSettings

__all__ = ["bucket_evidence", "dispersion", "score_negative", "seasonal_share"]

LOG10 = np.log(10.0)
# Log likelihood ratios are rounded to steps of 2**-20 and summed as whole numbers, so a
# window's sum is exact: the daemon's shorter history gives the same sums as a backtest.
STEP = 2.0**20

# Baseline. The daily rhythm is read within 2 hours either side of the same time on past
# days (tone changes over hours; a wider window averages out more noise); the level from
# the most recent 4,000 mentions (weighted, see ``seasonal_share``): ~400 negatives at a
# 10% share, a 5% error, from a few hours on a busy watch, days on a quiet one (at most
# ``seasonal_days``), ending an hour before the bucket so a new shift cannot raise its
# own baseline before it is caught.
RHYTHM_HALFWIDTH = timedelta(hours=2)
LEVEL_MENTIONS = 4000.0
LEVEL_GAP = timedelta(hours=1)

# Dispersion. Candidates 1e-4 .. 0.5, x1.7 apart; the estimate interpolates between them.
RHO_GRID = np.geomspace(1e-4, 0.5, 17)
# A bucket informs the estimate when its binomial variance is at least 5 (its residual is
# then close to normal); a squared standard normal capped at its 95th percentile has mean
# 0.913; at least 100 informative buckets in the past week make an estimate.
INFORMATIVE_VARIANCE = 5.0
CHI2_CAP = 3.8414588
CAPPED_MEAN = 0.9129725
MIN_INFORMATIVE = 100
# Otherwise (a quiet watch) the concentration of 50 that the share of real tone shows
# (issue #15). It matters only when such a watch suddenly gets big buckets (a volume
# spike); it also weighs buckets in the baseline.
PRIOR_RHO = 1.0 / 51.0


def daily_rhythm(volume: np.ndarray, negative: np.ndarray, settings: DetectorSettings) -> np.ndarray:
    """How the share at this time of day compares with its day's share: median over past days.

    For each of the last ``seasonal_days`` days: the share around the same time (within
    ``RHYTHM_HALFWIDTH``, shrunk towards that day's share with ``share_prior``
    pseudo-mentions, so 3 mentions cannot set it alone) over the share of the 24 hours
    centred on it. A ratio, so a day when tone was worse all day still gives its shape;
    the median, so one past incident does not. 1 where there is no history.
    """
    day = replace(settings, seasonal_halfwidth=timedelta(hours=12) - settings.bucket)
    with np.errstate(all="ignore"):
        day_share = seasonal_lags(negative, day) / seasonal_lags(volume, day)
        near = replace(settings, seasonal_halfwidth=RHYTHM_HALFWIDTH)
        local = (seasonal_lags(negative, near) + settings.share_prior * day_share) / (
            seasonal_lags(volume, near) + settings.share_prior
        )
        ratio = nan_median(np.where(day_share > 0, local / day_share, np.nan))
    return np.where(np.isnan(ratio), 1.0, ratio)


def recent_level(
    volume: np.ndarray, negative: np.ndarray, rhythm: np.ndarray, settings: DetectorSettings
) -> np.ndarray:
    """The share of the recent past with the daily rhythm taken out (NaN without history).

    Tone drifts over days, so last week's share at this hour can be 30% off today's. The
    level is read from the most recent span holding ``LEVEL_MENTIONS`` mentions (hours on a
    busy watch, days on a quiet one, at most ``seasonal_days``), ending ``LEVEL_GAP``
    before the bucket: a shift that began within the gap cannot raise its own baseline.
    """
    n = len(volume)
    gap = max(1, settings.buckets(LEVEL_GAP))
    longest = settings.seasonal_days * settings.per_day
    # Whole numbers of STEP, so every span's sum is exact whatever the history before it.
    c_vol, c_neg, c_exp = (
        np.concatenate(([0.0], np.cumsum(np.round(values * STEP)))) / STEP
        for values in (volume, negative, volume * rhythm)
    )
    end = np.arange(n) - gap + 1  # exclusive end of the span, as a prefix length
    valid = end > 0
    end = np.clip(end, 0, n)
    # The latest start whose span still holds LEVEL_MENTIONS mentions, within a week.
    start = np.searchsorted(c_vol, c_vol[end] - LEVEL_MENTIONS, side="right") - 1
    start = np.clip(start, np.maximum(end - longest, 0), None)
    with np.errstate(all="ignore"):
        level = (c_neg[end] - c_neg[start]) / (c_exp[end] - c_exp[start])
    return np.where(valid & (c_vol[end] - c_vol[start] > 0), level, np.nan)


def seasonal_share(volume: np.ndarray, negative: np.ndarray, settings: DetectorSettings) -> np.ndarray:
    """Expected negative share at each bucket: the recent level times the daily rhythm.

    Buckets are weighted ``1 / (1 + (N - 1) PRIOR_RHO)``: a bucket's share is one draw of
    the tone, so a bucket of 1,500 mentions (a volume spike) counts as ~50 mentions and
    one of 50 as ~25; a spike cannot set the baseline alone.
    """
    weight = 1.0 / (1.0 + np.fmax(volume - 1.0, 0.0) * PRIOR_RHO)
    # Whole multiples of 1 / STEP: sums over any span are exact (see ``window_sums``).
    volume, negative = exact(volume * weight), exact(negative * weight)
    rhythm = daily_rhythm(volume, negative, settings)
    level = recent_level(volume, negative, rhythm, settings)
    return np.asarray(np.clip(level * rhythm, 0.0, 1.0), dtype=np.float64)


def window_sums(values: np.ndarray, spans: Sequence[int], *, before: bool = False) -> np.ndarray:
    """Per span and bucket, the sum of ``values`` over the trailing window of that span.

    ``values`` is one row (the result is ``[len(spans), n]``) or several (``[len(spans),
    rows, n]``). The window ends at the bucket, or just before it with ``before``; one
    that runs off the start of the history sums what there is. ``values`` are whole
    numbers (counts, or multiples of ``1 / STEP``), so one cumulative sum gives exact
    sums: the same bucket gets the same sum however long the history before it.
    """
    rows = np.atleast_2d(values)
    n = rows.shape[1]
    csum = np.zeros((len(rows), n + 1))
    np.cumsum(rows, axis=1, out=csum[:, 1:])
    top = csum[:, :-1] if before else csum[:, 1:]
    out = np.empty((len(spans), len(rows), n))
    for i, span in enumerate(spans):
        out[i] = top
        if span < n:
            out[i, :, span:] -= top[:, : n - span]
    return out[:, 0] if np.ndim(values) == 1 else out


def exact(values: np.ndarray) -> np.ndarray:
    """``values`` rounded to multiples of ``1 / STEP``, so that sums of them are exact."""
    return np.asarray(np.round(values * STEP) / STEP, dtype=np.float64)


def dispersion(k: np.ndarray, n: np.ndarray, p: np.ndarray, settings: DetectorSettings) -> np.ndarray:
    """Beta-binomial intra-bucket correlation ``rho`` at each bucket, from the past week.

    Under the model, a bucket's squared residual ``(K - N p)^2 / (N p (1 - p))`` divided
    by ``1 + (N - 1) rho`` is about a squared standard normal. Capped at its 95th
    percentile (3.84), its mean is 0.913. The estimate is the ``rho`` at which the capped
    mean over the past ``seasonal_days`` (informative buckets only) falls to that,
    interpolated between the values of ``RHO_GRID``: the cap keeps a past incident from
    inflating it much. With fewer than ``MIN_INFORMATIVE`` informative buckets in the past
    week (a quiet watch), the prior ``PRIOR_RHO``.
    """
    with np.errstate(all="ignore"):
        var = n * p * (1 - p)
        informative = var >= INFORMATIVE_VARIANCE
        squared = np.where(informative, (k - n * p) ** 2 / np.where(informative, var, 1.0), 0.0)
    span = (settings.seasonal_days * settings.per_day,)
    count = window_sums(informative.astype(np.float64), span, before=True)[0]
    with np.errstate(all="ignore"):
        scaled = squared[None, :] / (1.0 + (n[None, :] - 1.0) * RHO_GRID[:, None])
        capped = np.where(informative, np.minimum(scaled, CHI2_CAP), 0.0)
        means = window_sums(exact(capped), span, before=True)[0] / count
    # The capped mean falls as rho grows: find the first grid value at or below the
    # target and interpolate (in log rho) from the one before.
    fits = means <= CAPPED_MEAN
    first = np.argmax(fits, axis=0)
    cols = np.arange(len(n))
    above = np.maximum(first - 1, 0)
    with np.errstate(all="ignore"):
        part = np.clip((means[above, cols] - CAPPED_MEAN) / (means[above, cols] - means[first, cols]), 0, 1)
    log_grid = np.log(RHO_GRID)
    rho = np.exp(log_grid[above] + part * (log_grid[first] - log_grid[above]))
    rho = np.where(first == 0, RHO_GRID[0], rho)
    rho = np.where(fits.any(axis=0), rho, RHO_GRID[-1])
    return np.asarray(np.where(count >= MIN_INFORMATIVE, rho, PRIOR_RHO), dtype=np.float64)


def log_rising(x: np.ndarray, count: np.ndarray) -> np.ndarray:
    """``log(x (x + 1) ... (x + count - 1))``: what a beta-binomial's likelihood is made of."""
    return np.asarray(special.gammaln(x + count) - special.gammaln(x), dtype=np.float64)


def bucket_evidence(
    k: np.ndarray, n: np.ndarray, p0: np.ndarray, rho: np.ndarray, lifts: Sequence[float]
) -> np.ndarray:
    """Rows per lift: log of how much likelier each bucket's negatives are shifted than usual.

    The shifted share is ``lift x p0``, but never more than halfway from ``p0`` to 1
    (a usual share of 60% cannot double). Zero where the bucket is empty or ``p0`` unknown.
    """
    out = np.zeros((len(lifts), len(n)))
    some = np.flatnonzero((n > 0) & ~np.isnan(p0))
    k, n, rho = k[some], n[some], rho[some]
    usual = np.clip(p0[some], 1e-4, 1 - 1e-4)
    concentration = 1.0 / rho - 1.0
    # P(K | N, p) = C(N, K) B(K + a, N - K + b) / B(a, b) with a = c p, b = c (1 - p): in a
    # ratio at the same concentration c, all but the rising factorials of a and b cancel.
    with np.errstate(all="ignore"):
        null = log_rising(concentration * usual, k) + log_rising(concentration * (1 - usual), n - k)
        for i, lift in enumerate(lifts):
            shifted = np.minimum(lift * usual, (1 + usual) / 2)
            alt = log_rising(concentration * shifted, k) + log_rising(concentration * (1 - shifted), n - k)
            out[i, some] = alt - null
    return out


def score_negative(frame: pd.DataFrame, settings: DetectorSettings) -> Scores:
    """Score every bucket of ``frame`` (``volume``, ``negative``) for negative-share shifts."""
    volume = frame["volume"].to_numpy(dtype=np.float64)
    negative = np.minimum(frame["negative"].to_numpy(dtype=np.float64), volume)
    n = len(volume)
    p0 = seasonal_share(volume, negative, settings)
    warm = warm_mask(n, settings) & ~np.isnan(p0)
    rho = dispersion(negative, volume, np.nan_to_num(p0), settings)
    scales = settings.negative_scales
    llr = bucket_evidence(negative, volume, p0, rho, settings.negative_lifts)
    # A mixture over the shift sizes looked for: the mean of their likelihood ratios.
    per_lift = np.stack([window_sums(exact(row), scales) for row in llr])
    evidence = functools.reduce(np.logaddexp, per_lift) - np.log(len(llr))
    n_all = window_sums(volume, scales)
    k_all = window_sums(negative, scales)
    e_all = window_sums(exact(volume * np.nan_to_num(p0)), scales)
    # Each window's dispersion factor at its mean bucket size, for the share interval.
    mean_size = n_all / np.asarray(scales, dtype=np.float64)[:, None]
    phi_all = 1.0 + np.fmax(mean_size - 1.0, 0.0) * rho
    floor = k_all >= settings.negative_floor
    passes = (evidence >= -np.log(settings.negative_alpha)) & floor
    fire = passes.any(axis=0) & warm
    # Back to normal once no window of up to an hour still favours the shift this much.
    recent = np.asarray(scales)[:, None] <= max(1, settings.buckets(timedelta(hours=1)))
    calm_pass = (evidence >= -np.log(settings.calm_alpha)) & floor & recent
    active = calm_pass.any(axis=0) & warm
    best = np.argmax(np.where(passes, evidence + 1e6, evidence), axis=0)
    cols = np.arange(n)
    obs_k, obs_n, exp_k, phi = k_all[best, cols], n_all[best, cols], e_all[best, cols], phi_all[best, cols]
    with np.errstate(all="ignore"):
        share = np.where(obs_n > 0, obs_k / obs_n, np.nan)
        exp_p = np.where(obs_n > 0, exp_k / obs_n, np.nan)
    low, high = wilson(obs_k / phi, obs_n / phi, settings.share_confidence)
    # Severity by the lower bound, so a noisy small window cannot look critical.
    severity = np.where(
        (low >= 2 * exp_p) & (low - exp_p >= 0.25), 2, np.where(low - exp_p >= 0.10, 1, 0)
    ).astype(np.int8)
    return Scores(
        fire=fire,
        active=active | fire,
        observed=obs_k,
        expected=exp_k,
        score=evidence[best, cols] / LOG10,
        window=np.asarray(scales)[best],
        severity=severity,
        observed_share=share,
        expected_share=exp_p,
        share_low=low,
        share_high=high,
    )
