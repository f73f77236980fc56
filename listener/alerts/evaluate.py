"""One alert pass: detect on every watch, explain, store, queue messages.

Runs after each collection. Each watch's bucket series comes from storage; the
detectors are the same code ``listener backtest`` runs. Mentions whose
sentiment is not scored yet hold back the negative-share detector at their
bucket: unscored is not neutral.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from collectors.base import Watch
from listener.alerts.explain import explain
from listener.alerts.health import health_changes
from listener.alerts.settings import AlertSettings
from listener.analysis import DetectorSettings, Finding, detect, history_needed
from listener.clusters import cluster_samples
from listener.guard import guard_changes
from listener.query import Phrase, Term, tokens
from listener.records import SEVERITY_RANK, AlertChange
from storage import Store
from storage.alerts import AlertRow

__all__ = ["AlertPass", "evaluate", "latest_per_incident", "series"]

BASELINE = timedelta(days=7)
LOOKBACK = timedelta(hours=3)  # findings are re-derived over this much; recording them is idempotent


@dataclass(frozen=True, slots=True)
class AlertPass:
    changes: tuple[AlertRow, ...]
    news: int


def series(
    store: Store, watch: str, start: datetime, end: datetime, bucket: timedelta
) -> tuple[pd.DataFrame, int]:
    """The watch's bucket frame over [start, end), and how many of its buckets are fully scored.

    The frame begins at the watch's first mention: the days before it existed are
    not quiet days, and the detectors' warm-up needs to know how young it is.
    """
    size = int(bucket.total_seconds())
    counts = np.asarray(store.bucket_counts(watch, start, end, size), dtype=np.int64).reshape(-1, 4)
    first = int(counts[0, 0]) if len(counts) else int(end.timestamp()) // size * size
    index = pd.date_range(
        pd.Timestamp(first, unit="s", tz="UTC"), end, freq=bucket, inclusive="left", name="bucket"
    )
    at = (counts[:, 0] - first) // size
    inside = (at >= 0) & (at < len(index))
    counts, at = counts[inside], at[inside]
    columns = {name: np.zeros(len(index), dtype=np.int64) for name in ("volume", "negative")}
    columns["volume"][at], columns["negative"][at] = counts[:, 1], counts[:, 2]
    pending = at[counts[:, 3] > 0]
    scored = int(pending.min()) if len(pending) else len(index)
    return pd.DataFrame(columns, index=index), scored


def _query_terms(watch: Watch) -> frozenset[str]:
    """The watch's own words: every mention has them, so they explain nothing."""
    words: set[str] = set()
    stack = [watch.root]
    while stack:
        node = stack.pop()
        if isinstance(node, Term | Phrase):
            words.update(tokens(node.word if isinstance(node, Term) else node.text))
        stack.extend(getattr(node, "children", ()) or ([node.child] if hasattr(node, "child") else []))
    return frozenset(words)


def _summary(watch: str, f: Finding) -> str:
    if f.kind == "negative":
        return (
            f"{watch}: negative share {f.observed_share or 0:.0%} (95% interval {f.share_low or 0:.0%}-"
            f"{f.share_high or 0:.0%}) vs {f.expected_share or 0:.0%} expected; {f.observed:g} negative mentions"
        )
    ratio = f" ({f.observed / f.expected:.1f}x)" if f.expected >= 0.05 else ""
    return f"{watch}: {f.observed:g} mentions vs {f.expected:.1f} expected{ratio}"


def _change(store: Store, watch: Watch, f: Finding, bucket: timedelta) -> AlertChange:
    what = {
        "metric": f.kind, "observed": f.observed, "expected": f.expected, "share": f.observed_share,
        "expected_share": f.expected_share, "share_low": f.share_low, "share_high": f.share_high,
        "window_buckets": f.window, "score": f.score,
    }  # fmt: skip
    explanation: dict[str, object] = {"what": what}
    if f.state != "resolved":
        end = f.at + bucket
        window = store.window(watch.name, f.incident_start, end)
        if f.kind == "negative":
            window = [m for m in window if m.sentiment_label == "negative"]
        baseline = store.window(watch.name, f.incident_start - BASELINE, f.incident_start)
        explanation = explain(window, baseline, what, _query_terms(watch))
        explanation["samples"] = cluster_samples(store, window, explanation["samples"])
    return AlertChange(
        watch=watch.name, network="", kind=f.kind, state=f.state, severity=f.severity,
        started_at=f.incident_start, at=f.at, observed=f.observed, expected=f.expected,
        summary=_summary(watch.name, f), explanation=explanation,
    )  # fmt: skip


def latest_per_incident(found: Sequence[Finding]) -> list[Finding]:
    """One finding per open incident and pass: its latest, still ``opened`` if it opened now.

    A pass that covers several buckets (the first poll after a pause, a slow cycle) can
    see an incident open and then grow: one message with the latest figures says it
    all, where two would say "new" and "growing" about the same thing a second apart.
    Resolutions are kept as they are.
    """
    latest: dict[tuple[str, datetime], Finding] = {}
    out: list[Finding] = []
    for f in sorted(found, key=lambda f: f.at):
        if f.state == "resolved":
            out.append(f)
            continue
        key = (f.kind, f.incident_start)
        before = latest.get(key)
        latest[key] = replace(f, state="opened") if before is not None and before.state == "opened" else f
    return sorted(out + list(latest.values()), key=lambda f: f.at)


def evaluate(
    store: Store,
    watches: Sequence[Watch],
    sources: Sequence[tuple[str, str]],
    settings: AlertSettings,
    now: datetime,
    since: datetime | None = None,
    detector: DetectorSettings | None = None,
    accounts: Sequence[tuple[str, str]] = (),
) -> AlertPass:
    """Detect, explain and record; queue a message per channel for news at or above ``min_severity``.

    Buckets that ended after ``since`` (default: ``LOOKBACK`` ago) are examined; the
    same incident found twice is stored once, so overlapping passes are harmless.
    """
    since = since or now - LOOKBACK
    detector = detector or DetectorSettings(bucket=timedelta(minutes=settings.bucket_minutes))
    start = now - history_needed(detector)
    changes: list[AlertChange] = []
    for watch in watches:
        frame, scored = series(store, watch.name, start, now, detector.bucket)
        found = detect(frame, now, detector, since=since, kinds=["volume"])
        found += detect(frame.iloc[:scored], now, detector, since=since, kinds=["negative"])
        changes.extend(_change(store, watch, f, detector.bucket) for f in latest_per_incident(found))
    changes.extend(health_changes(store, sources, now))
    changes.extend(guard_changes(store, accounts, settings.own_accounts, settings.timezone, now))
    rows, news = [], 0
    for change in changes:
        loud = SEVERITY_RANK[change.severity] >= SEVERITY_RANK[settings.min_severity]
        channels = settings.channels if loud else ()
        row, is_news = store.alerts.record(
            change, channels, settings.release_time(change.at, change.severity)
        )
        rows.append(row)
        news += is_news and bool(channels)
    return AlertPass(tuple(rows), news)
