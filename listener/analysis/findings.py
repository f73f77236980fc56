"""What detectors report (``Finding``) and how they are tuned (``DetectorSettings``).

Every default below is argued from the problem. Where the argument leaves a choice open,
it was made by leave-one-series-out over 53 NAB series (``bench/loso.py``: chosen on 52,
scored on the one left out), never on the figures reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

__all__ = ["DetectorSettings", "Finding", "Kind", "Severity", "State"]

# A registered detector's name, or ``name:condition`` (``health:auth``): see ``listener.plugins``.
Kind = str
Severity = Literal["info", "warning", "critical"]
State = Literal["opened", "updated", "resolved"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Finding:
    """One step of an incident: it opened, grew, or resolved at bucket ``at``.

    ``observed``/``expected`` are mentions (volume) or negative mentions (negative) in
    the window that carried the signal, ``window`` buckets ending at ``at``. For negative
    findings the ``*_share`` fields give the observed share, its Wilson interval (widened
    for over-dispersion, see ``detectors.negative``) and the seasonal share expected at
    that time. ``score`` is the strength of the signal:
    for volume, doublings over the expected mentions (log2 of the ratio); for negative,
    log10 of how much likelier the window's negatives are under a shifted share than
    under the usual one (it reads like -log10 of a p-value).

    ``watch``, ``network``, ``summary`` and ``explanation`` are what a detector knows of
    the incident beyond the series: the evaluation fills the summary and the explanation
    of a watch's incident from storage when the detector leaves them empty.
    """

    kind: Kind
    at: datetime
    observed: float
    expected: float
    severity: Severity
    state: State
    incident_start: datetime
    score: float = 0.0
    window: int = 1
    observed_share: float | None = None
    expected_share: float | None = None
    share_low: float | None = None
    share_high: float | None = None
    watch: str = ""
    network: str = ""  # "" for every network together
    summary: str = ""
    explanation: Mapping[str, Any] | None = field(default=None, compare=False)

    @property
    def is_alert(self) -> bool:
        """Only the opening of an incident is sent; updates and resolutions refine it."""
        return self.state == "opened"


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    """Detector and incident settings; one set for every watch (no per-series tuning).

    Shared
      ``bucket``: counting interval (must divide a day). Windows below are durations and
      are converted to whole buckets, so the same settings work for 1-minute or 1-hour
      buckets.
      ``warmup``: no alert at all before this much history (new watches). Two days: the
      first seasonal lag needs one, the first residuals another.
      ``seasonal_days``: same-time-of-day lags that form the baseline. One week: every
      weekday once, so the median is robust to one odd day, including a past incident.
      ``seasonal_halfwidth``: minutes either side of the lagged time that are averaged
      (one hour in all): the daily rhythm changes over hours, not minutes, and a 5-minute
      bucket alone is too noisy to be a baseline.
    Volume (see ``detectors.volume``)
      ``volume_windows``: window totals tested: a 5-minute spike, a 15-minute burst, an
      hour-long, a three-hour and a twelve-hour rise. Longer windows accumulate a modest
      rise until it stands out, like a CUSUM; twelve hours catch the story that runs all
      afternoon and evening without one sharp peak (a product launch, a day of coverage),
      which no short window shows as a record when a sharper spike came a few days before.
      ``record_window``: a surge must beat every residual of the same window size in this
      much history. Four weeks: four of each weekday, so a regular weekly peak is never a
      record, and the window holds ~56 independent twelve-hour windows (two weeks held 28:
      a "record" among so few is a 1-in-28 event, not news). Records are rare by
      construction (1 in 8,064 five-minute buckets); the price is that one huge story
      masks smaller ones for longer, which ``volume_prior`` mitigates.
      ``record_min_history``: before this much history of residuals nothing is a record
      (three days: fewer than ~860 buckets make records too common even after the
      extrapolation in ``past_record``).
      ``record_young``: a history shorter than this has its record raised to the maximum
      expected over this span (extreme-value extrapolation, see ``past_record``); from
      then on the record is taken over all the history there is, up to ``record_window``.
      Two weeks, not the full four: the extrapolation rests on a tail scale estimated
      from a few days, and extrapolating it over four weeks would mute a watch for its
      first month (a 5x surge on a 9-day-old watch must still alert).
      ``volume_alpha``: the window total must also be this unlikely under Poisson counts
      at the expected rate: the floor of pure counting noise, which decides on quiet
      watches (1e-6: under one false alarm in a year of 5-minute tests per window).
      ``volume_floor``: a surge holds at least 10 mentions in its window.
      ``volume_min_ratio``: and at least twice the expected mentions: a record on a
      very regular series can be a 10% rise, which nobody needs to hear about, and a
      doubling is where severity turns to "warning". Chosen over 1.5 and 3 by
      leave-one-series-out on event F1 (``bench/loso.py``): x1.5 added false alarms,
      x3 missed real stories.
      ``volume_dispersion``: read counts in units of their own noise (quasi-Poisson,
      see ``detectors.volume.dispersion``) before the tail test and the floor, so an
      over-dispersed watch needs a bigger excess, and a series in other units (a metric
      replayed by ``listener backtest``) is judged at all. Whole-number series are
      never made less dispersed than Poisson counts.
      ``volume_prior``: pseudo-mentions added to a window's total and to its expected
      count before their ratio is taken, in units of the daily trough (the lowest usual
      rate of the last day, times the window's buckets; plus one mention, so a watch
      whose trough is zero still has a prior). One trough's worth: at the quietest hour
      a few accounts (one bot, one viral post in one time zone) multiply the count, so a
      raw ratio there dwarfs the ratios of the busy hours, and a night-time blip sets
      the record that hides the next real story for weeks. With the prior, 17 -> 677
      mentions in 15 minutes at the trough and 74 -> 2,065 at a busy hour both weigh
      x20, where the raw ratios said x40 against x28 (NAB FB, 03-16 and 04-03). At busy
      hours, where the expected count is many troughs, the ratio barely changes. The
      same idea as ``share_prior``: a small count cannot carry a huge ratio alone.
    Negative share (see ``detectors.negative``)
      ``negative_windows``: windows whose evidence is summed, 5 minutes to 6 hours, about
      1.5x apart: short for a sudden wave, long for a quiet watch, where a shift shows
      only over hours (shifts last 1-6 hours). Together they act as a CUSUM that forgets
      after 6 hours.
      ``negative_lifts``: the shifts looked for, as multiples of the expected share: the
      evidence is the mean of their beta-binomial likelihood ratios against the expected
      share (a mixture). x2 is the smallest shift that matters; x3 catches the bigger
      ones sooner. The ratio of x2 against x1 stays negative on average as long as the
      baseline is less than ~40% below the truth, so a drifting tone does not add up.
      ``negative_alpha``: a window fires when that ratio exceeds 1/alpha = 10,000. Under
      the expected share the ratio ever reaching 1/alpha has probability at most alpha
      (Ville's inequality), whatever the volume: one threshold suits 2 mentions a bucket
      and 2,000. A CUSUM alarms on average no more than once in 1/alpha buckets (5
      weeks); the ratio is far below its bound in practice, and the slack pays for an
      estimated baseline (0.06 false alarms a week on ``bench/negative_shift.py``, seeds
      1-5; 1e-5 cost 2 buckets of median delay).
      ``negative_floor``: at least 5 negative mentions in the window (1-3 negative posts in
      a quiet hour are not a crisis, even where the share is usually tiny).
      ``share_confidence``: z of the two-sided Wilson interval (1.96: 95%) of the share
      shown in an alert (counts divided by the dispersion factor); severity reads its
      lower bound.
      ``share_prior``: pseudo-mentions at a past day's share added to the share around
      the same time that day, so 3 mentions cannot set the daily rhythm alone.
    Incidents (see ``incidents``)
      ``calm_alpha``: a bucket is back to normal when no window is both above its usual
      range (99th percentile for volume; above the expected share for negative) and
      this unlikely (1e-2) under the baseline: hysteresis, easier to stay open than to open.
      ``resolve_after``: that long of consecutive normal buckets resolves an incident.
      ``cooldown``: after a resolution, a new surge within this time reopens the same
      incident instead of sending a new alert. Twelve hours: aftershocks of one story
      (the next news cycle, the other time zone waking up) are one story. (24 hours made
      no difference on the NAB series once the record window was four weeks.)
      ``update_growth``: an open incident reports an update when its window total grows
      by this factor over the last reported one, or its severity rises.
    History: ``history_needed`` follows from these: a week of baselines before a record
    window of residuals (volume), plus the cool-down and a day of incident replay.
    """

    bucket: timedelta = timedelta(minutes=5)
    warmup: timedelta = timedelta(days=2)
    seasonal_days: int = 7
    seasonal_halfwidth: timedelta = timedelta(minutes=30)
    volume_windows: tuple[timedelta, ...] = (MIN * 5, MIN * 15, HOUR, 3 * HOUR, 12 * HOUR)
    record_window: timedelta = timedelta(days=28)
    record_min_history: timedelta = timedelta(days=3)
    record_young: timedelta = timedelta(days=14)
    volume_alpha: float = 1e-6
    volume_floor: int = 10
    volume_min_ratio: float = 2.0
    volume_prior: float = 1.0
    volume_dispersion: bool = True
    negative_windows: tuple[timedelta, ...] = tuple(
        MIN * m for m in (5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 360)
    )
    negative_lifts: tuple[float, ...] = (2.0, 3.0)
    negative_alpha: float = 1e-4
    negative_floor: int = 5
    share_confidence: float = 1.96
    share_prior: float = 20.0
    calm_alpha: float = 1e-2
    resolve_after: timedelta = timedelta(minutes=30)
    cooldown: timedelta = timedelta(hours=12)
    update_growth: float = 2.0

    def buckets(self, span: timedelta) -> int:
        """How many whole buckets ``span`` covers."""
        return int(span // self.bucket)

    @property
    def per_day(self) -> int:
        return self.buckets(timedelta(days=1))

    @staticmethod
    def _scales(windows: tuple[timedelta, ...], bucket: timedelta) -> tuple[int, ...]:
        return tuple(sorted({max(1, int(w // bucket)) for w in windows}))

    @property
    def volume_scales(self) -> tuple[int, ...]:
        """The volume windows in whole buckets (at least one, duplicates dropped)."""
        return self._scales(self.volume_windows, self.bucket)

    @property
    def negative_scales(self) -> tuple[int, ...]:
        return self._scales(self.negative_windows, self.bucket)
