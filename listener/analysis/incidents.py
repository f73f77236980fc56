"""Incidents: turn per-bucket scores into findings that open once, grow, and resolve.

One incident per surge: it opens on the first firing bucket (the one alert that is sent),
reports an update when it grows (window total x ``update_growth``, or a higher severity),
and resolves after ``resolve_after`` consecutive buckets back to normal (hysteresis: the
``active`` threshold is lower than the ``fire`` one). A surge within ``cooldown`` of a
resolution reopens the same incident instead of alerting again.

``detect(frame, now)`` is the pure entry point (history and clock in, findings out), and
``run(frame)`` gives every finding over a history, which is what ``listener backtest``
prints. Both replay the same state machine; ``detect`` replays each detector over the
last ``history_needed(settings, kind)`` of what it is given (the scores of the latest
buckets are the same as over a longer history), so ``detect`` on a history equals ``run``
on it restricted to the latest buckets unless an incident was open across that cut.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from listener.analysis.detectors import SCORERS, Scores
from listener.analysis.findings import SEVERITIES, DetectorSettings, Finding, Kind, State

__all__ = ["available_kinds", "detect", "history_needed", "replay", "run", "score", "sent"]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def available_kinds(frame: pd.DataFrame) -> tuple[Kind, ...]:
    """Volume always; negative when the history has a negative column with data in it."""
    has_negative = bool(frame.attrs.get("has_negative", "negative" in frame and frame["negative"].any()))
    return ("volume", "negative") if has_negative else ("volume",)


def history_needed(settings: DetectorSettings, kind: Kind | None = None) -> timedelta:
    """History the daemon should load for ``detect``: baselines for a record window, and more.

    With this much, the scores of the latest bucket equal those of the full history; the
    incident state can differ only if an incident was open, or cooling down, at its first
    bucket, which the extra cool-down and day of replay make unlikely. Per ``kind``: volume
    needs a week of baselines before a record window of residuals; negative a week of
    baselines before a week of dispersion estimates. Without ``kind``: the larger.
    """
    scored = {
        "volume": settings.record_window,
        "negative": settings.seasonal_days * timedelta(days=1),
    }
    span = scored[kind] if kind is not None else max(scored.values())
    return settings.seasonal_days * timedelta(days=1) + span + settings.cooldown + timedelta(days=1)


def score(frame: pd.DataFrame, kind: Kind, settings: DetectorSettings) -> Scores:
    """Per-bucket evidence of one detector over the whole history in ``frame``."""
    try:
        scorer = SCORERS[kind]
    except KeyError:
        raise ValueError(f"unknown detector kind {kind!r}; use {' or '.join(SCORERS)}") from None
    return scorer(frame, settings)


@dataclass(slots=True)
class _Open:
    start: datetime
    reported: float
    severity: int
    calm: int = 0


def _finding(kind: Kind, s: Scores, i: int, at: datetime, state: State, start: datetime, sev: int) -> Finding:
    def opt(values: np.ndarray) -> float | None:
        value = float(values[i])
        return None if np.isnan(value) else value

    return Finding(
        kind=kind,
        at=at,
        observed=float(np.nan_to_num(s.observed[i])),
        expected=float(np.nan_to_num(s.expected[i])),
        severity=SEVERITIES[sev],
        state=state,
        incident_start=start,
        score=float(s.score[i]),
        window=int(s.window[i]),
        observed_share=opt(s.observed_share),
        expected_share=opt(s.expected_share),
        share_low=opt(s.share_low),
        share_high=opt(s.share_high),
    )


def incidents(kind: Kind, s: Scores, index: pd.DatetimeIndex, settings: DetectorSettings) -> list[Finding]:
    """Replay the incident state machine over scored buckets, oldest first."""
    out: list[Finding] = []
    current: _Open | None = None
    closed_start: datetime | None = None
    cooldown_until: datetime | None = None
    times = index
    n = len(index)
    # The loop visits every active bucket of an incident: no per-bucket conversions.
    fire, active, severity = s.fire, s.active, s.severity
    observed_all = np.nan_to_num(s.observed)
    resolve = max(1, settings.buckets(settings.resolve_after))
    # Only buckets that fire or are active can change anything while idle: skip the rest.
    interesting = np.flatnonzero(s.fire | s.active)
    pos = 0
    i = int(interesting[0]) if len(interesting) else n
    while i < n:
        if current is None:
            if fire[i]:
                at = times[i].to_pydatetime()
                sev = int(severity[i])
                observed = float(observed_all[i])
                if cooldown_until is not None and closed_start is not None and at <= cooldown_until:
                    current = _Open(closed_start, observed, sev)
                    out.append(_finding(kind, s, i, at, "updated", closed_start, sev))
                else:
                    current = _Open(at, observed, sev)
                    out.append(_finding(kind, s, i, at, "opened", at, sev))
            else:
                pos = int(np.searchsorted(interesting, i, side="right"))
                i = int(interesting[pos]) if pos < len(interesting) else n
                continue
        elif active[i]:
            current.calm = 0
            sev = int(severity[i])
            observed = float(observed_all[i])
            if fire[i] and (sev > current.severity or observed >= settings.update_growth * current.reported):
                current.severity = max(sev, current.severity)
                current.reported = max(observed, current.reported)
                at = times[i].to_pydatetime()
                out.append(_finding(kind, s, i, at, "updated", current.start, current.severity))
        else:
            current.calm += 1
            if current.calm >= resolve:
                at = times[i].to_pydatetime()
                out.append(_finding(kind, s, i, at, "resolved", current.start, current.severity))
                closed_start, cooldown_until = current.start, at + settings.cooldown
                current = None
        i += 1
    return out


def run(
    frame: pd.DataFrame, settings: DetectorSettings | None = None, kinds: Iterable[Kind] | None = None
) -> list[Finding]:
    """Every finding over the history in ``frame`` (bucket frame, see ``series``), by time."""
    settings = settings or DetectorSettings()
    chosen = tuple(kinds) if kinds is not None else available_kinds(frame)
    found: list[Finding] = []
    for kind in chosen:
        found.extend(incidents(kind, score(frame, kind, settings), pd.DatetimeIndex(frame.index), settings))
    found.sort(key=lambda f: (f.at, f.kind))
    return found


def sent(findings: Iterable[Finding]) -> list[Finding]:
    """The findings the daemon sends a message about: openings, and rises in severity.

    An incident that grows past the severity already announced is news again (as
    ``storage.alerts`` decides), including one reopened within its cool-down; growth at
    the same severity and resolutions only update the record.
    """
    announced: dict[tuple[Kind, datetime], int] = {}
    out = []
    for f in findings:
        key, rank = (f.kind, f.incident_start), SEVERITIES.index(f.severity)
        if f.state == "opened" or (f.state == "updated" and rank > announced.get(key, len(SEVERITIES))):
            announced[key] = rank
            out.append(f)
    return out


def complete(frame: pd.DataFrame, now: datetime, bucket: timedelta) -> pd.DataFrame:
    """The buckets that have ended by ``now``: an open bucket would look like a drop."""
    ends = pd.DatetimeIndex(frame.index) + pd.Timedelta(bucket)
    return frame[ends <= pd.Timestamp(now)]


def detect(
    frame: pd.DataFrame,
    now: datetime,
    settings: DetectorSettings | None = None,
    *,
    since: datetime | None = None,
    kinds: Iterable[Kind] | None = None,
) -> list[Finding]:
    """Findings about the buckets completed since ``since`` (default: the latest bucket).

    Pure: history and clock in, findings out. The daemon calls it after each poll with
    ``since`` = the previous poll's ``now``, and at least ``history_needed()`` of buckets.
    """
    settings = settings or DetectorSettings()
    done = complete(frame, now, settings.bucket)
    if done.empty:
        return []
    first = _first_new(pd.DatetimeIndex(done.index), settings, since)
    found: list[Finding] = []
    for kind in tuple(kinds) if kinds is not None else available_kinds(done):
        # Each detector replays only the history it needs: a longer one changes nothing
        # about the latest buckets and costs time on every poll.
        needed = done[done.index >= min(first, done.index[-1]) - pd.Timedelta(history_needed(settings, kind))]
        found.extend(_after(run(needed, settings, (kind,)), first, since))
    found.sort(key=lambda f: (f.at, f.kind))
    return found


def replay(
    kind: Kind, scores: Scores, index: pd.DatetimeIndex, settings: DetectorSettings, since: datetime | None
) -> list[Finding]:
    """``detect`` for scores already computed over ``index`` (complete buckets, a kept series).

    The incidents are replayed over the same last ``history_needed`` as ``detect`` does;
    the scores come from however long the kept history is, which the latest buckets'
    scores do not depend on.
    """
    if not len(index):
        return []
    # In integer nanoseconds: this runs per watch and kind on every pass, mostly to find nothing.
    times, micro = index.asi8, timedelta(microseconds=1)
    last = int(times[-1])
    new = last if since is None else (since - _EPOCH) // micro * 1000 - settings.bucket // micro * 1000
    start = int(np.searchsorted(times, min(new, last) - history_needed(settings, kind) // micro * 1000))
    if not scores.fire[start:].any():
        return []  # no bucket opens an incident: nothing to replay
    first = _first_new(index, settings, since)
    tail = Scores(*(getattr(scores, f.name)[start:] for f in fields(Scores)))
    return _after(incidents(kind, tail, index[start:], settings), first, since)


def _first_new(index: pd.DatetimeIndex, settings: DetectorSettings, since: datetime | None) -> pd.Timestamp:
    """A bucket is new if it ended after ``since`` (default: only the latest bucket is new)."""
    return index[-1] if since is None else pd.Timestamp(since) - pd.Timedelta(settings.bucket)


def _after(found: Iterable[Finding], first: pd.Timestamp, since: datetime | None) -> list[Finding]:
    return [f for f in found if pd.Timestamp(f.at) > first or (since is None and pd.Timestamp(f.at) >= first)]
