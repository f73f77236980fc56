"""Negative-share shifts: a larger part of the mentions is negative than usual.

Per bucket ``t`` and window of ``k`` buckets ending at ``t``:

- expected share ``p0``: for each of the last ``seasonal_days`` days, the share of
  negatives around the same time of day, shrunk towards the long-run share with
  ``share_prior`` pseudo-mentions (a day with 3 mentions cannot set it alone); then the
  median over days, robust to one past incident. This follows a daily rhythm of tone.
- the window's ``K`` negatives of ``N`` mentions are tested against
  ``Binomial(N, p0)`` (``p0`` weighted by each bucket's volume): the exact tail, so small
  counts need no normal approximation. Real tone varies more than binomially, the more so
  in big windows, so ``K`` and ``N`` are first divided by a beta-binomial dispersion
  factor estimated from the past week (``dispersion``); it is 1 for binomial counts;
- the lower Wilson bound of that share must exceed ``negative_lift * p0``, and ``K`` must
  reach ``negative_floor``: the share is read as an interval, never as a raw ratio.

Severity from the lower bound, so a small noisy window cannot look critical: info below
+10 points over the expected share, warning from +10, critical from +25 points and twice
the expected share.
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
    rolling_sum,
    seasonal_lags,
    warm_mask,
    wilson,
)
from listener.analysis.findings import DetectorSettings

__all__ = ["score_negative", "seasonal_share"]

LOG10 = np.log(10.0)


def seasonal_share(volume: np.ndarray, negative: np.ndarray, settings: DetectorSettings) -> np.ndarray:
    """Expected negative share at each bucket from past days (NaN until there is history)."""
    window = settings.seasonal_days * settings.per_day
    past_neg = pd.Series(negative).shift(1).rolling(window, min_periods=1).sum().to_numpy()
    past_vol = pd.Series(volume).shift(1).rolling(window, min_periods=1).sum().to_numpy()
    with np.errstate(all="ignore"):
        long_run = np.where(past_vol > 0, past_neg / past_vol, np.nan)
        lag_vol = seasonal_lags(volume, settings)
        lag_neg = seasonal_lags(negative, settings)
        m = settings.share_prior
        shares = (lag_neg + m * long_run) / (lag_vol + m)
        seasonal = nan_median(shares)
    expected = np.where(np.isnan(seasonal), long_run, seasonal)
    return expected


def dispersion(
    k: np.ndarray, n: np.ndarray, p: np.ndarray, index: pd.DatetimeIndex, settings: DetectorSettings
) -> np.ndarray:
    """How much more each window's negatives vary than binomial counts would (>= 1).

    Rows of the arrays are window sizes. Real tone wanders with the conversation, and the
    expected share is an estimate, so counts are over-dispersed, more so in big windows:
    with a share that varies between windows, ``Var K = N p (1 - p) (1 + (N - 1) rho)``
    (beta-binomial). ``rho`` is read from the past ``seasonal_days``: the squared robust
    spread of Pearson residuals (median absolute residual / 0.6745, which a past incident
    cannot inflate) at the typical (median) window size. Tests then use ``K / phi``
    negatives of ``N / phi`` mentions (quasi-binomial), exact for small counts at 1.
    """
    with np.errstate(all="ignore"):
        var = n * p * (1 - p)
        size = np.where(var > 0, np.abs(k - n * p) / np.sqrt(var), np.nan)
    span = settings.seasonal_days * timedelta(days=1)
    both = clock_sampled_quantile(np.vstack([size, np.where(var > 0, n, np.nan)]), index, settings, span, 0.5)
    spread, typical = both[: len(k)], both[len(k) :]
    with np.errstate(all="ignore"):
        rho = np.fmax((spread / 0.6745) ** 2 - 1.0, 0.0) / np.fmax(typical - 1.0, 1.0)
    return np.asarray(np.fmax(1.0 + (n - 1.0) * np.nan_to_num(rho), 1.0), dtype=np.float64)


def score_negative(frame: pd.DataFrame, settings: DetectorSettings) -> Scores:
    """Score every bucket of ``frame`` (``volume``, ``negative``) for negative-share shifts."""
    volume = frame["volume"].to_numpy(dtype=np.float64)
    negative = np.minimum(frame["negative"].to_numpy(dtype=np.float64), volume)
    n = len(volume)
    p0 = seasonal_share(volume, negative, settings)
    warm = warm_mask(n, settings) & ~np.isnan(p0)
    scales = settings.negative_scales
    shape = (len(scales), n)
    logp_all = np.zeros(shape)
    k_all = np.zeros(shape)
    n_all = np.zeros(shape)
    e_all = np.full(shape, np.nan)
    for i, k in enumerate(scales):
        n_all[i] = np.nan_to_num(rolling_sum(volume, k, counts=True))
        k_all[i] = np.nan_to_num(rolling_sum(negative, k, counts=True))
        expected_neg = rolling_sum(volume * np.nan_to_num(p0), k)
        with np.errstate(all="ignore"):
            e_all[i] = np.clip(np.where(n_all[i] > 0, expected_neg / n_all[i], np.nan), 1e-6, 1 - 1e-6)
    phi = dispersion(k_all, n_all, e_all, pd.DatetimeIndex(frame.index), settings)
    eff_k, eff_n = k_all / phi, n_all / phi
    low_all, high_all = wilson(eff_k, eff_n, settings.share_confidence)
    # The exact tail is the costly part: only where the share is surely above normal.
    todo = (k_all >= settings.negative_floor) & (np.nan_to_num(low_all) > np.nan_to_num(e_all, nan=1.0))
    with np.errstate(all="ignore"):
        # P(X >= K) for X ~ Binomial(N, p) is I_p(K, N - K + 1), defined for real K, N.
        tail = special.betainc(eff_k[todo], eff_n[todo] - eff_k[todo] + 1.0, e_all[todo])
        logp_all[todo] = np.nan_to_num(np.log(np.fmax(tail, 1e-300)))
    lifted = np.nan_to_num(low_all) > settings.negative_lift * np.nan_to_num(e_all, nan=1.0)
    floor = k_all >= settings.negative_floor
    passes = (logp_all <= np.log(settings.negative_alpha)) & lifted & floor
    fire = passes.any(axis=0) & warm
    above = np.nan_to_num(low_all) > np.nan_to_num(e_all, nan=1.0)
    calm_pass = (logp_all <= np.log(settings.calm_alpha)) & above & floor
    active = calm_pass.any(axis=0) & warm
    ranking = np.where(passes, -logp_all + 1e6, -logp_all)
    best = np.argmax(ranking, axis=0)
    cols = np.arange(n)
    obs_k, obs_n, exp_p = k_all[best, cols], n_all[best, cols], e_all[best, cols]
    with np.errstate(all="ignore"):
        share = np.where(obs_n > 0, obs_k / obs_n, np.nan)
    low, high = low_all[best, cols], high_all[best, cols]
    # Severity by the lower bound, so a noisy small window cannot look critical.
    severity = np.where(
        (low >= 2 * exp_p) & (low - exp_p >= 0.25), 2, np.where(low - exp_p >= 0.10, 1, 0)
    ).astype(np.int8)
    return Scores(
        fire=fire,
        active=active | fire,
        observed=obs_k,
        expected=obs_n * exp_p,
        score=-logp_all[best, cols] / LOG10,
        window=np.asarray(scales)[best],
        severity=severity,
        observed_share=share,
        expected_share=exp_p,
        share_low=low,
        share_high=high,
    )
