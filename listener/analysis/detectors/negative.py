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

Incremental updates (``NegativeScorer``): every step above is causal and made of
per-bucket values and trailing window sums, each read from cumulative sums. The scorer
keeps those cumulative sums (over the last ``LATE_ROOM`` and the longest window before
it) and its per-bucket scores; when only the buckets from ``changed_from`` on are new or
changed (a poll appends a few; a late mention rewrites the last ones), it extends the sums
from there, adding in the same order as a fresh sum, and scores those buckets alone. ``score_negative`` is the same code from the first bucket, so
a daemon's updates and a backtest's one pass give bit-identical scores.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import timedelta

import numpy as np
import pandas as pd
from scipy import special  # type: ignore[import-untyped]

from listener.analysis.detectors.base import Scores, first_instant, nan_median, wilson
from listener.analysis.detectors.negative_state import Buffer, Sums, windows
from listener.analysis.findings import DetectorSettings

__all__ = ["NegativeScorer", "bucket_evidence", "dispersion", "score_negative", "seasonal_share"]

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
LOG_GRID = np.log(RHO_GRID)
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

# Incremental updates: a change up to a day back is scored from there; an older one (a
# mention more than a day late, a rescore) from the first bucket, which costs one whole
# scoring of that watch (~10 ms) and keeps the daemon's memory at ~120 bytes per bucket.
LATE_ROOM = timedelta(days=1)


def window_sums(values: np.ndarray, spans: Sequence[int], *, before: bool = False) -> np.ndarray:
    """Per span and bucket, the sum of ``values`` over the trailing window of that span.

    ``values`` is one row (the result is ``[len(spans), n]``) or several (``[len(spans),
    rows, n]``). The window ends at the bucket, or just before it with ``before``; one
    that runs off the start of the history sums what there is. ``values`` are whole
    numbers (counts, or multiples of ``1 / STEP``), so one cumulative sum gives exact
    sums: the same bucket gets the same sum however long the history before it.
    """
    rows = np.atleast_2d(values)
    sums = Sums((len(rows),), 0).extend(0, rows)
    ends = np.arange(rows.shape[1]) + (0 if before else 1)
    out = np.swapaxes(windows(sums, ends, np.asarray(spans)), 0, 1)
    return out[:, 0] if np.ndim(values) == 1 else out


def exact(values: np.ndarray) -> np.ndarray:
    """``values`` rounded to multiples of ``1 / STEP``, so that sums of them are exact."""
    return np.asarray(np.rint(values * STEP) / STEP, dtype=np.float64)  # rint: round(), faster


def rhythm_windows(settings: DetectorSettings) -> tuple[np.ndarray, np.ndarray]:
    """Where the windows of ``daily_rhythm`` start, back from the bucket, and their lengths.

    ``[2, seasonal_days, 1]``: the 24 hours, then the ``RHYTHM_HALFWIDTH`` either side,
    centred on the same time 1..``seasonal_days`` days before. Causal: both are less
    than a day.
    """
    halves = np.array(
        [settings.buckets(timedelta(hours=12) - settings.bucket), settings.buckets(RHYTHM_HALFWIDTH)]
    )
    if halves.max() >= settings.per_day:
        raise ValueError("the daily rhythm's windows must be shorter than a day")
    days = np.arange(1, settings.seasonal_days + 1) * settings.per_day
    return days[None, :, None] + halves[:, None, None], 2 * halves[:, None, None] + 1


def same_time_sums(
    sums: np.ndarray, positions: np.ndarray, spans: tuple[np.ndarray, np.ndarray], offset: int = 0
) -> np.ndarray:
    """``[rows, 2, days, len(positions)]``: the sums over the ``rhythm_windows`` of each
    position (NaN without that history). ``sums`` as in ``windows``, from ``offset`` on."""
    back, length = spans
    first = positions - back
    at = first - offset
    got = sums.take(at + length, axis=-1, mode="clip") - sums.take(at, axis=-1, mode="clip")
    return np.where(first >= 0, got, np.nan)


class _Baseline:
    """The expected share (``seasonal_share``) over a growing history, from ``start`` on.

    Its methods divide 0 by 0 where there is no history (NaN, by design): callers run them
    under ``np.errstate(all="ignore")``, once for all of them.
    """

    def __init__(self, settings: DetectorSettings) -> None:
        self._rhythm_windows = rhythm_windows(settings)
        self._share_prior = settings.share_prior
        self._gap = max(1, settings.buckets(LEVEL_GAP))
        self._longest = settings.seasonal_days * settings.per_day
        # How far back before a bucket its windows read (see ``negative_state``): the
        # rhythm's oldest window starts 12 hours before the same time ``seasonal_days``
        # days back; the level's oldest span starts ``seasonal_days`` before its end,
        # which is ``LEVEL_GAP`` before the bucket.
        self._weighted = Sums((2,), int(self._rhythm_windows[0].max()))
        self._steps = Sums((3,), self._longest + self._gap - 1)

    def extend(self, start: int, volume: np.ndarray, negative: np.ndarray) -> np.ndarray:
        """Expected shares of the positions from ``start`` on (``volume``, ``negative``)."""
        weight = 1.0 / (1.0 + np.fmax(volume - 1.0, 0.0) * PRIOR_RHO)
        # Whole multiples of 1 / STEP: sums over any span are exact (see ``window_sums``).
        volume, negative = exact(volume * weight), exact(negative * weight)
        positions = np.arange(start, start + len(volume))
        rhythm = self.daily_rhythm(self._weighted.extend(start, np.array((volume, negative))), positions)
        steps = self._steps.extend(start, np.rint(np.array((volume, negative, volume * rhythm)) * STEP))
        level = self.recent_level(steps, positions)
        # Neither is ever -0.0, so maximum/minimum give what np.clip would, faster.
        return np.asarray(np.minimum(np.maximum(level * rhythm, 0.0), 1.0), dtype=np.float64)

    def daily_rhythm(self, sums: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """How the share at this time of day compares with its day's share: median over past days.

        For each of the last ``seasonal_days`` days: the share around the same time (within
        ``RHYTHM_HALFWIDTH``, shrunk towards that day's share with ``share_prior``
        pseudo-mentions, so 3 mentions cannot set it alone) over the share of the 24 hours
        centred on it. A ratio, so a day when tone was worse all day still gives its shape;
        the median, so one past incident does not. 1 where there is no history. ``sums``:
        of the weighted volume and negatives (rows), as in ``windows``.
        """
        (vol_day, vol_near), (neg_day, neg_near) = same_time_sums(
            sums, positions, self._rhythm_windows, self._weighted.offset
        )
        day_share = neg_day / vol_day
        local = (neg_near + self._share_prior * day_share) / (vol_near + self._share_prior)
        ratio = nan_median(np.where(day_share > 0, local / day_share, np.nan))
        return np.where(np.isnan(ratio), 1.0, ratio)

    def recent_level(self, steps: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """The share of the recent past with the daily rhythm taken out (NaN without history).

        Tone drifts over days, so last week's share at this hour can be 30% off today's.
        The level is read from the most recent span holding ``LEVEL_MENTIONS`` mentions
        (hours on a busy watch, days on a quiet one, at most ``seasonal_days``), ending
        ``LEVEL_GAP`` before the bucket: a shift that began within the gap cannot raise its
        own baseline. ``steps``: cumulative sums of the weighted volume, negatives and
        expected negatives in whole steps of ``1 / STEP``, so every span's sum is exact
        whatever came before it (from the kept sums' offset on). The volume is compared in
        steps: scaling by a power of 2 changes no comparison and no rounding.
        """
        c_vol, offset = steps[0], self._steps.offset
        end = positions - self._gap + 1  # exclusive end of the span, as a prefix length
        valid = end > 0
        end = np.minimum(np.maximum(end, 0), offset + len(c_vol) - 1) - offset
        # The latest start whose span still holds LEVEL_MENTIONS mentions, within a week.
        start = np.searchsorted(c_vol, c_vol[end] - LEVEL_MENTIONS * STEP, side="right") - 1
        start = np.maximum(start, np.maximum(end + offset - self._longest, 0) - offset)
        (neg_end, exp_end), (neg_start, exp_start) = (
            steps[1:].take(at, axis=-1) / STEP for at in (end, start)
        )
        level = (neg_end - neg_start) / (exp_end - exp_start)
        return np.where(valid & (c_vol[end] - c_vol[start] > 0), level, np.nan)


def seasonal_share(volume: np.ndarray, negative: np.ndarray, settings: DetectorSettings) -> np.ndarray:
    """Expected negative share at each bucket: the recent level times the daily rhythm.

    Buckets are weighted ``1 / (1 + (N - 1) PRIOR_RHO)``: a bucket's share is one draw of
    the tone, so a bucket of 1,500 mentions (a volume spike) counts as ~50 mentions and
    one of 50 as ~25; a spike cannot set the baseline alone.
    """
    with np.errstate(all="ignore"):  # 0/0 is NaN (no history) by design
        return _Baseline(settings).extend(0, np.asarray(volume, np.float64), np.asarray(negative, np.float64))


class _Dispersion:
    """The dispersion ``rho`` (see ``dispersion``) over a growing history, from ``start`` on.

    Run under ``np.errstate(all="ignore")``, as ``_Baseline``.
    """

    def __init__(self, settings: DetectorSettings) -> None:
        self._span = np.array([settings.seasonal_days * settings.per_day])
        # Informative buckets, capped residuals per rho; a window reads ``span`` back.
        self._sums = Sums((1 + len(RHO_GRID),), int(self._span[0]))

    def extend(self, start: int, k: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
        """``rho`` at the positions from ``start`` on (``k`` negatives of ``n``, share ``p``)."""
        var = n * p * (1 - p)
        informative = var >= INFORMATIVE_VARIANCE
        squared = np.where(informative, (k - n * p) ** 2 / np.where(informative, var, 1.0), 0.0)
        scaled = squared[None, :] / (1.0 + (n[None, :] - 1.0) * RHO_GRID[:, None])
        capped = np.where(informative, np.minimum(scaled, CHI2_CAP), 0.0)
        rows = np.concatenate((informative[None, :].astype(np.float64), exact(capped)))
        positions = np.arange(start, start + len(n))
        sums = windows(self._sums.extend(start, rows), positions - self._sums.offset, self._span)[:, 0]
        count = sums[0]
        rho = fitted_rho(sums[1:] / count)
        return np.asarray(np.where(count >= MIN_INFORMATIVE, rho, PRIOR_RHO), dtype=np.float64)


def fitted_rho(means: np.ndarray) -> np.ndarray:
    """Per column, the ``rho`` at which the capped mean (rows: ``RHO_GRID``) is ``CAPPED_MEAN``.

    The capped mean falls as rho grows: find the first grid value at or below the target
    and interpolate (in log rho) from the one before.
    """
    fits = means <= CAPPED_MEAN
    first = np.argmax(fits, axis=0)
    cols = np.arange(means.shape[1])
    above = np.maximum(first - 1, 0)
    at_above = means[above, cols]
    part = np.clip((at_above - CAPPED_MEAN) / (at_above - means[first, cols]), 0, 1)
    rho = np.exp(LOG_GRID[above] + part * (LOG_GRID[first] - LOG_GRID[above]))
    rho = np.where(first == 0, RHO_GRID[0], rho)
    return np.asarray(np.where(fits.any(axis=0), rho, RHO_GRID[-1]), dtype=np.float64)


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
    with np.errstate(all="ignore"):  # 0/0 is NaN (no history) by design
        return _Dispersion(settings).extend(0, *(np.asarray(a, np.float64) for a in (k, n, p)))


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
    usual = np.minimum(np.maximum(p0[some], 1e-4), 1 - 1e-4)  # np.clip, faster
    concentration = 1.0 / rho - 1.0
    # P(K | N, p) = C(N, K) B(K + a, N - K + b) / B(a, b) with a = c p, b = c (1 - p): in a
    # ratio at the same concentration c, all but the rising factorials of a and b cancel.
    with np.errstate(all="ignore"):
        null = log_rising(concentration * usual, k) + log_rising(concentration * (1 - usual), n - k)
        shifted = np.minimum(np.asarray(lifts, dtype=np.float64)[:, None] * usual, (1 + usual) / 2)
        alt = log_rising(concentration * shifted, k) + log_rising(concentration * (1 - shifted), n - k)
        out[:, some] = alt - null
    return out


class NegativeScorer:
    """Negative-share scores over a growing history, recomputed only from the first changed bucket.

    ``update`` takes the whole current frame (``volume``, ``negative``) and the first
    position that may differ from the previous call's frame (earlier ones must be the
    same buckets with the same values); the frame may have grown or shrunk. It keeps the
    scores of every bucket, and the cumulative sums the windows read over the last
    ``LATE_ROOM`` and the longest window before it (``negative_state``), so a poll that
    adds a few buckets costs a few buckets' work; a change older than ``LATE_ROOM``, or a
    new first bucket, is scored from the first bucket again. It returns the scores of the
    whole frame, bit-identical to ``score_negative`` on it; the arrays are valid until
    the next update (views of the kept scores: copy them to keep them longer).
    """

    def __init__(self, settings: DetectorSettings) -> None:
        self._settings = settings
        self._scales = np.asarray(settings.negative_scales)
        self._sizes = self._scales.astype(np.float64)[:, None]
        self._fires_at, self._calm_at = -np.log(settings.negative_alpha), -np.log(settings.calm_alpha)
        # Back to normal once no window of up to an hour still favours the shift this much.
        self._recent = self._scales[:, None] <= max(1, settings.buckets(timedelta(hours=1)))
        self._warm_from = settings.buckets(settings.warmup)
        self._baseline = _Baseline(settings)
        self._dispersion = _Dispersion(settings)
        # Windows of up to the longest scale end at the bucket.
        reach = int(self._scales.max()) - 1
        self._evidence = Sums((len(settings.negative_lifts),), reach)
        self._counts = Sums((3,), reach)  # mentions, negatives, expected negatives
        self._sums = (
            self._baseline._weighted,
            self._baseline._steps,
            self._dispersion._sums,
            self._evidence,
            self._counts,
        )
        self._room, self._step = settings.buckets(LATE_ROOM), max(1, settings.per_day)
        # The scores by type: fire and active, window (the index of its scale), severity,
        # then VALUES.
        self._kept = (
            Buffer((2,), bool),
            Buffer((), np.int8 if len(self._scales) <= 127 else np.int16),
            Buffer((), np.int8),
            Buffer((len(VALUES),)),
        )
        self._first: int | None = None  # None: nothing kept, start again
        self._length = 0

    @property
    def nbytes(self) -> int:
        """Memory kept between updates (the buffers, with their room to grow)."""
        return sum(kept.nbytes for kept in (*self._kept, *self._sums))

    def update(self, frame: pd.DataFrame, changed_from: int = 0) -> Scores:
        """Scores of every bucket of ``frame``; buckets before ``changed_from`` are as last time."""
        first = first_instant(frame.index)
        start = self._resume_at(first, changed_from, len(frame))
        self._first = None  # until this update is complete
        volume = np.asarray(frame["volume"].to_numpy()[start:], dtype=np.float64)
        negative = np.minimum(np.asarray(frame["negative"].to_numpy()[start:], dtype=np.float64), volume)
        with np.errstate(all="ignore"):  # 0/0 is NaN (no history) by design
            p0 = self._baseline.extend(start, volume, negative)
            rho = self._dispersion.extend(start, negative, volume, np.where(np.isnan(p0), 0.0, p0))
            fresh = self._score(start, volume, negative, p0, rho)
        flags, window, severity, values = (
            kept.write(start, part) for kept, part in zip(self._kept, fresh, strict=True)
        )
        for sums in self._sums:
            sums.keep(len(frame), self._room, self._step)
        self._first, self._length = first, len(frame)
        return Scores(
            fire=flags[0],
            active=flags[1],
            window=self._scales.take(window),
            severity=severity,
            **dict(zip(VALUES, values, strict=True)),
        )

    def _resume_at(self, first: int | None, changed_from: int, length: int) -> int:
        """The first position to score: 0 unless the history starts where the kept one did."""
        if self._first is None or first != self._first:
            return 0
        start = max(0, min(changed_from, self._length, length))
        return start if all(sums.holds(start) for sums in self._sums) else 0

    def _score(
        self, start: int, volume: np.ndarray, negative: np.ndarray, p0: np.ndarray, rho: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The scores of the positions from ``start`` on, by type as in ``_kept``."""
        settings, scales = self._settings, self._scales
        positions = np.arange(start, start + len(volume))
        llr = bucket_evidence(negative, volume, p0, rho, settings.negative_lifts)
        # A mixture over the shift sizes looked for: the mean of their likelihood ratios.
        sums = self._evidence.extend(start, exact(llr))
        per_lift = windows(sums, positions + 1 - self._evidence.offset, scales)
        evidence = functools.reduce(np.logaddexp, per_lift) - np.log(len(llr))
        counts = np.array((volume, negative, exact(volume * np.where(np.isnan(p0), 0.0, p0))))
        sums = self._counts.extend(start, counts)
        n_all, k_all, e_all = windows(sums, positions + 1 - self._counts.offset, scales)
        floor = k_all >= settings.negative_floor
        passes = (evidence >= self._fires_at) & floor
        warm = (positions >= self._warm_from) & ~np.isnan(p0)
        fire = passes.any(axis=0) & warm
        active = ((evidence >= self._calm_at) & floor & self._recent).any(axis=0) & warm
        best = np.argmax(np.where(passes, evidence + 1e6, evidence), axis=0)
        cols = np.arange(len(volume))
        obs_k, obs_n, exp_k = k_all[best, cols], n_all[best, cols], e_all[best, cols]
        # The window's dispersion factor at its mean bucket size, for the share interval.
        phi = 1.0 + np.fmax(obs_n / self._sizes[best, 0] - 1.0, 0.0) * rho
        severity, *share = shares(obs_k, obs_n, exp_k, phi, settings)
        values = np.array((obs_k, exp_k, evidence[best, cols] / LOG10, *share))
        return np.array((fire, active | fire)), best.astype(self._kept[1].dtype), severity, values


# The float fields of ``Scores``, in the order ``NegativeScorer`` keeps them.
VALUES = ("observed", "expected", "score", "observed_share", "expected_share", "share_low", "share_high")


def shares(
    obs_k: np.ndarray, obs_n: np.ndarray, exp_k: np.ndarray, phi: np.ndarray, settings: DetectorSettings
) -> tuple[np.ndarray, ...]:
    """Severity, then the window's share, expected share and interval (low, high).

    The interval is Wilson's on the counts divided by the dispersion factor ``phi``;
    severity reads its lower bound, so a noisy small window cannot look critical. Run
    under ``np.errstate(all="ignore")``: an empty window's share is NaN.
    """
    share = np.where(obs_n > 0, obs_k / obs_n, np.nan)
    exp_p = np.where(obs_n > 0, exp_k / obs_n, np.nan)
    low, high = wilson(obs_k / phi, obs_n / phi, settings.share_confidence)
    severity = np.where(
        (low >= 2 * exp_p) & (low - exp_p >= 0.25), 2, np.where(low - exp_p >= 0.10, 1, 0)
    ).astype(np.int8)
    return severity, share, exp_p, low, high


def score_negative(frame: pd.DataFrame, settings: DetectorSettings) -> Scores:
    """Score every bucket of ``frame`` (``volume``, ``negative``) for negative-share shifts."""
    return NegativeScorer(settings).update(frame)
