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
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import special  # type: ignore[import-untyped]

from listener.analysis.detectors.base import (
    HourlyQuantile,
    Scores,
    first_instant,
    hour_phase,
    nan_median,
    range_max,
)
from listener.analysis.findings import DetectorSettings

__all__ = ["VolumeScorer", "past_record", "score_volume"]

DAY = timedelta(days=1)


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


def score_volume(frame: pd.DataFrame, settings: DetectorSettings) -> Scores:
    """Score every bucket of ``frame`` (column ``volume``) for volume surges."""
    return VolumeScorer(settings).update(frame)


class VolumeScorer:
    """Volume scores over a growing history; an update recomputes from the first changed bucket.

    Every quantity above depends on the buckets at or before its own (the centred
    seasonal sums reach half an hour ahead, but only into the lags of later days), and
    each is computed the same way for a suffix as for the whole history: counts summed
    from one cumulative sum, other sums by one convolution per window (each sum reads
    only its own window), medians column by column, the hourly quantiles from the
    samples before each hour, records as maxima of ranges. So an update gives bit for
    bit the scores of scoring the whole frame again, at the cost of what changed.

    Kept per bucket: what a later update reads back (the cumulative counts, the usual
    rate, the noise unit, the residuals the records compare with) and the scores; the
    window sums are recomputed over their own windows.
    """

    # name: (one row per window size?, dtype, fill) of the per-bucket arrays kept between updates
    _KEPT: ClassVar[dict[str, tuple[bool, str, float]]] = {
        "csum": (False, "f8", 0.0), "rate": (False, "f8", np.nan), "phi_kept": (False, "f8", 1.0),
        "resids": (True, "f8", np.nan), "fire": (False, "?", False), "active": (False, "?", False),
        "observed": (False, "f8", np.nan), "expected": (False, "f8", np.nan), "score": (False, "f8", 0.0),
        "window": (False, "i8", 0), "severity": (False, "i1", 0),
    }  # fmt: skip
    GROWTH = 288  # buckets of room added at a time (a day of 5-minute buckets: one copy a day)

    # Views of the first n buckets (csum: n + 1) of the kept arrays, set by _resize.
    csum: np.ndarray
    rate: np.ndarray
    phi_kept: np.ndarray
    resids: np.ndarray
    fire: np.ndarray
    active: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    score: np.ndarray
    window: np.ndarray
    severity: np.ndarray

    def __init__(self, settings: DetectorSettings) -> None:
        self.settings = settings
        self.n = 0
        self._start: int | None = None
        self._counts = True
        self._buffers: dict[str, np.ndarray] = {}
        # The settings read on every update, worked out once.
        self._scales = settings.volume_scales
        self._day, self._half = settings.per_day, settings.buckets(settings.seasonal_halfwidth)
        self._warm_from, self._record = (
            settings.buckets(settings.warmup),
            settings.buckets(settings.record_window),
        )
        self._thresholds = tuple(
            np.log((settings.volume_min_ratio, settings.volume_alpha, settings.calm_alpha))
        )
        self._resize(0, 0)
        self._spread: HourlyQuantile | None = None
        self._usual: HourlyQuantile | None = None

    @property
    def nbytes(self) -> int:
        """Memory kept between updates (the buffers, with their room to grow)."""
        hourly = sum(q.hourly.nbytes + q.samples.nbytes for q in (self._spread, self._usual) if q is not None)
        return sum(b.nbytes for b in self._buffers.values()) + hourly

    def update(self, frame: pd.DataFrame, changed_from: int = 0) -> Scores:
        """Scores of ``frame``, whose buckets before ``changed_from`` are those of the last update.

        A frame that starts elsewhere, or whose volumes stop being whole numbers, is
        scored from scratch. The arrays returned are valid until the next update.
        """
        volume = frame["volume"].to_numpy(dtype=np.float64)
        n = len(volume)
        start = first_instant(frame.index)
        r = min(changed_from, self.n, n) if self.n and start == self._start else 0
        # Whole numbers are counts (see ``phi``): the buckets before r are known to be.
        counts = self._counts and not np.any(volume[r:] % 1) if r else not np.any(volume % 1)
        if counts != self._counts:
            r, counts = 0, not np.any(volume % 1)
        if r == 0 and n:
            phase = hour_phase(pd.DatetimeIndex(frame.index), self.settings)
            self._spread = HourlyQuantile(self.settings, self.settings.seasonal_days * DAY, 0.5, phase)
            self._usual = HourlyQuantile(self.settings, self.settings.record_window, 0.99, phase)
        self._start, self._counts = start, counts
        self._resize(r, n)
        self.csum[r + 1 :] = np.add.accumulate(np.concatenate((self.csum[r : r + 1], volume[r:])))[1:]
        if n:
            self._baseline(r, volume)
            self._tests(r, *self._windows(r, volume))
        nan = np.broadcast_to(np.float64(np.nan), (n,))
        return Scores(
            fire=self.fire, active=self.active, observed=self.observed, expected=self.expected,
            score=self.score, window=self.window, severity=self.severity,
            observed_share=nan, expected_share=nan, share_low=nan, share_high=nan,
        )  # fmt: skip

    def _resize(self, r: int, n: int) -> None:
        """Keep the first ``r`` buckets of every array and make room for ``n`` (a day at a time)."""
        scales = len(self._scales)
        for name, (per_scale, dtype, fill) in self._KEPT.items():
            size, kept = (n + 1, r + 1) if name == "csum" else (n, r)
            buffer = self._buffers.get(name)
            if buffer is None or buffer.shape[-1] < size:
                room = size + (self.GROWTH if buffer is not None else 0)
                grown = np.full((scales, room) if per_scale else (room,), fill, dtype=dtype)
                if buffer is not None:
                    grown[..., :kept] = buffer[..., :kept]
                self._buffers[name] = buffer = grown
            buffer[..., kept:size] = fill
            setattr(self, name, buffer[..., :size])
        self.n = n

    def _phi(self, lo: int) -> np.ndarray:
        """The noise unit from bucket ``lo`` on (whole numbers: at least 1)."""
        kept = self.phi_kept[lo:]
        return np.fmax(kept, 1.0) if self._counts and self.settings.volume_dispersion else kept

    def _baseline(self, r: int, volume: np.ndarray) -> None:
        """Usual rate and noise unit ``phi`` from bucket ``r`` on."""
        s, n, half = self.settings, self.n, self._half
        if half >= self._day:
            raise ValueError("seasonal_halfwidth must be shorter than a day")
        # The centred sums over [j - half, j + half] at the same time 1..days days ago (NaN
        # where that runs off the start), and their median per bucket.
        at = np.arange(r, n)
        back = at[None, :] - self._day * np.arange(1, s.seasonal_days + 1)[:, None]
        lags = np.full(back.shape, np.nan)
        if n > 2 * half:  # a lag reaches back a day: its window never runs off the end
            inside = np.clip(back, half, n - half - 1)
            lags = np.where(back >= half, self.csum[inside + half + 1] - self.csum[inside - half], np.nan)
        self.rate[r:] = nan_median(lags) / (2 * half + 1)
        if s.volume_dispersion:
            self._dispersion(r, volume)

    def _dispersion(self, r: int, volume: np.ndarray) -> None:
        """``phi``: see ``dispersion`` in the module docstring; carried forward where unknown."""
        assert self._spread is not None
        rate = self.rate

        def pearson(at: np.ndarray) -> np.ndarray:
            """Pearson residuals at ``at`` (only the hours' samples are read)."""
            with np.errstate(all="ignore"):
                return np.where(rate[at] > 0, np.abs(volume[at] - rate[at]) / np.sqrt(rate[at]), np.nan)[
                    None, :
                ]

        self._spread.update(pearson, 1, self.n, r)
        spread = self._spread.at(self.n, r)[0]
        with np.errstate(all="ignore"):
            raw = np.where(spread > 0, (spread / 0.6745) ** 2, np.nan)
        seed = self.phi_kept[r - 1] if r else 1.0
        known = np.flatnonzero(~np.isnan(raw))
        last = np.full(len(raw), -1)
        last[known] = known
        last = np.maximum.accumulate(last)
        self.phi_kept[r:] = np.where(last >= 0, raw[np.clip(last, 0, None)], seed)

    def _windows(self, r: int, volume: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per window size from bucket ``r`` on: mentions, expected, and both in noise units; residuals."""
        s, n, csum, scales, day = self.settings, self.n, self.csum, self._scales, self._day
        first = max(0, r - max(max(scales), day) + 1)
        phi = self._phi(first)
        noise_volume, noise_rate = volume[first:] / phi, self.rate[first:] / phi
        # The trough of the usual rate over the last day (0 before any baseline).
        lo = max(0, r - day + 1)
        window = noise_rate[lo - first :]
        if n - r > 32:
            trough = pd.Series(window).rolling(day, min_periods=1).min().to_numpy()[r - lo :]
        else:  # the same minima, window by window
            trough = np.array(
                [np.fmin.reduce(window[max(0, i - day + 1) : i + 1]) for i in range(r - lo, n - lo)]
            )
        prior = s.volume_prior * np.nan_to_num(trough)
        sums, mus, noise_sums, noise_mus = (np.full((len(scales), n - r), np.nan) for _ in range(4))
        for i, k in enumerate(scales):
            lo = max(0, r - k + 1)
            if n - lo >= k:
                at = np.arange(max(r, k - 1), n)
                sums[i, at - r] = csum[at + 1] - csum[at + 1 - k]
                ones, part = np.ones(k), slice(max(r, k - 1) - r, None)
                mus[i, part] = np.convolve(self.rate[lo:], ones, mode="valid")
                noise_sums[i, part] = np.convolve(noise_volume[lo - first :], ones, mode="valid")
                noise_mus[i, part] = np.convolve(noise_rate[lo - first :], ones, mode="valid")
            with np.errstate(all="ignore"):
                self.resids[i, r:] = np.log(
                    (noise_sums[i] + 1.0 + k * prior) / (noise_mus[i] + 1.0 + k * prior)
                )
        return sums, mus, noise_sums, noise_mus

    def _tests(
        self, r: int, sums: np.ndarray, mus: np.ndarray, noise_sums: np.ndarray, noise_mus: np.ndarray
    ) -> None:
        """The tests per window from bucket ``r`` on, and the strongest window per bucket."""
        s, n = self.settings, self.n
        assert self._usual is not None
        self._usual.update(lambda at: self.resids[:, at], len(self._scales), n, r)
        usual = self._usual.at(n, r)
        big_at, fire_at, calm_at = self._thresholds
        fires, actives = np.zeros((2, len(self._scales), n - r), dtype=bool)
        for i, span in enumerate(self._scales):
            total, mu, resid = noise_sums[i], noise_mus[i], self.resids[i, r:]
            counted = _known(total, 0.0) >= s.volume_floor
            # The Poisson tail is the costly test: only where the cheap ones pass.
            big = counted & (_known(resid, -1.0) >= big_at)
            record_ok = big
            if big.any():
                lo = max(0, r - self._record)
                where = np.zeros(n - lo, dtype=bool)
                where[r - lo :] = big
                top = past_record(self.resids[i, lo:], s, span, where)[r - lo :]
                record_ok = big & (_known(resid - top, -1.0) > 0)
            above = counted & (_known(resid - usual[i], -1.0) > 0)
            logp = np.zeros(n - r)
            todo = record_ok | above
            # P(X >= S) for X ~ Poisson(mu) is the regularised lower incomplete gamma P(S, mu).
            tail = special.gammainc(np.fmax(total[todo], 1e-9), np.fmax(mu[todo], 1e-9))
            logp[todo] = np.log(np.fmax(tail, 1e-300))
            fires[i] = record_ok & (logp <= fire_at)
            actives[i] = above & (logp <= calm_at)
        warm = np.arange(r, n) >= self._warm_from
        self.fire[r:] = fires.any(axis=0) & warm
        self.active[r:] = (actives.any(axis=0) & warm) | self.fire[r:]
        with np.errstate(all="ignore"):
            log_ratio = np.log2((noise_sums + 1.0) / (noise_mus + 1.0))
        # Report the firing window with the largest ratio (else the largest ratio overall).
        ranking = np.where(fires, 1e6, 0.0) + _known(log_ratio, -1e3)
        best = np.argmax(ranking, axis=0)
        cols = np.arange(n - r)
        doublings = log_ratio[best, cols]
        # info below x2, warning from x2, critical from x10 (an order of magnitude).
        self.severity[r:] = np.where(doublings >= np.log2(10.0), 2, np.where(doublings >= 1.0, 1, 0))
        self.observed[r:] = sums[best, cols]
        self.expected[r:] = mus[best, cols]
        self.score[r:] = np.nan_to_num(doublings)
        self.window[r:] = np.asarray(self._scales)[best]


def _known(values: np.ndarray, fill: float) -> np.ndarray:
    """``values`` with NaN read as ``fill``: for comparisons with finite thresholds (as ``nan_to_num``)."""
    return np.where(np.isnan(values), fill, values)
