"""One alert pass: load what the detectors read, run every registered detector, explain, store, queue.

Runs after each collection. Detectors only compute (``listener.plugins.Detector``):
this module loads their inputs from storage first, once per watch (the bucket
series, the recent mentions), per own account (its posts and their replies) or
per pass (every source's runs, the detector's open alerts), and turns what they
find into alert rows. The series detectors are the same code ``listener
backtest`` runs. Mentions whose sentiment is not scored yet hold back the
negative-share detector at their bucket: unscored is not neutral.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, overload

import numpy as np
import pandas as pd

from listener import plugins
from listener.alerts.explain import Terms, explain
from listener.alerts.health import usual_gap
from listener.alerts.memory import SeriesMemory
from listener.alerts.settings import AlertSettings
from listener.analysis import DetectorSettings, Finding, history_needed
from listener.clusters import cluster_samples
from listener.model import Watch
from listener.plugins import Detector, Inputs, OwnAccount, SourceRuns
from listener.query import Phrase, Term, tokens
from listener.records import SEVERITY_RANK, AlertChange
from storage.alerts import AlertRow
from storage.interfaces import ListenerStore

__all__ = [
    "AlertPass",
    "MentionTimes",
    "detector_changes",
    "evaluate",
    "every_source_runs",
    "latest_per_incident",
    "series",
    "source_runs",
]

log = logging.getLogger(__name__)
BASELINE = timedelta(days=7)
LOOKBACK = timedelta(hours=3)  # findings are re-derived over this much; recording them is idempotent
FEED_MEMORY = timedelta(days=7)  # a feed that has not run for this long is no longer checked
RUNS = 10  # a source's latest runs that "runs" holds


@dataclass(frozen=True, slots=True)
class AlertPass:
    changes: tuple[AlertRow, ...]
    news: int


def series(
    store: ListenerStore, watch: str, start: datetime, end: datetime, bucket: timedelta
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
    """For a detector that leaves the summary to us."""
    ratio = f" ({f.observed / f.expected:.1f}x)" if f.expected >= 0.05 else ""
    return f"{watch}: {f.kind} {f.observed:g} vs {f.expected:.1f} expected{ratio}"


def _watch_change(
    store: ListenerStore,
    watch: Watch,
    f: Finding,
    bucket: timedelta,
    by: Detector,
    memory: SeriesMemory | None,
) -> AlertChange:
    """A watch's finding as an alert change, explained from the incident's mentions unless it came explained."""
    what = {
        "metric": f.kind, "observed": f.observed, "expected": f.expected, "share": f.observed_share,
        "expected_share": f.expected_share, "share_low": f.share_low, "share_high": f.share_high,
        "window_buckets": f.window, "score": f.score,
    }  # fmt: skip
    explanation: dict[str, Any] = {"what": what}
    if f.explanation is not None:
        explanation = dict(f.explanation)
    elif f.state != "resolved":
        end = f.at + bucket
        window = store.window(watch.name, f.incident_start, end)
        keep = getattr(by, "explains", None)
        if keep is not None:
            window = [m for m in window if keep(m)]

        def baseline() -> Terms:
            before = store.window(watch.name, f.incident_start - BASELINE, f.incident_start)
            return Terms.of(m.text for m in before)

        terms = baseline() if memory is None else memory.baseline(watch.name, f.incident_start, baseline)
        explanation = explain(window, terms, what, _query_terms(watch))
        explanation["samples"] = cluster_samples(store, window, explanation["samples"])
    return AlertChange(
        watch=watch.name, network=f.network, kind=f.kind, state=f.state, severity=f.severity,
        started_at=f.incident_start, at=f.at, observed=f.observed, expected=f.expected,
        summary=f.summary or _summary(watch.name, f), explanation=explanation,
    )  # fmt: skip


def _change(f: Finding) -> AlertChange:
    """A finding that names its own watch or source and says everything itself."""
    return AlertChange(
        watch=f.watch, network=f.network, kind=f.kind, state=f.state, severity=f.severity,
        started_at=f.incident_start, at=f.at, observed=f.observed, expected=f.expected,
        summary=f.summary, explanation=f.explanation or {},
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


class MentionTimes(Sequence[datetime]):
    """A source's latest mention times, newest first, read from storage on first use past the newest.

    Most sources' newest mention says enough (health: it is too recent for silence
    to count), so the other 199 are read only for a source that asks for them. The
    daemon keeps them from pass to pass while the source's watch gets nothing new
    (``SeriesMemory``), and with them their usual gap.
    """

    __slots__ = ("_gap", "_load", "_newest", "_times")

    def __init__(self, newest: datetime | None, load: Callable[[], list[datetime]]) -> None:
        self._newest, self._load = newest, load
        self._times: list[datetime] | None = None if newest is not None else []
        self._gap: tuple[timedelta | None] | None = None

    @property
    def newest(self) -> datetime | None:
        return self._newest

    def usual_gap(self) -> timedelta | None:
        """``health.usual_gap`` of these times, computed once."""
        if self._gap is None:
            self._gap = (usual_gap(self),)
        return self._gap[0]

    def _all(self) -> list[datetime]:
        if self._times is None:
            self._times = self._load()
        return self._times

    @overload
    def __getitem__(self, index: int) -> datetime: ...
    @overload
    def __getitem__(self, index: slice) -> list[datetime]: ...
    def __getitem__(self, index: int | slice) -> datetime | list[datetime]:
        if index == 0 and self._times is None and self._newest is not None:
            return self._newest
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())


def source_runs(store: ListenerStore, network: str, watch: str, now: datetime) -> SourceRuns:
    """One source's latest runs and mention times, as health checks read them."""
    return SourceRuns(
        network, watch, store.recent_runs(network, watch, RUNS), store.rate_limited_until(network, now),
        store.mention_times(network, watch),
    )  # fmt: skip


def every_source_runs(
    store: ListenerStore,
    sources: Sequence[tuple[str, str]],
    now: datetime,
    memory: SeriesMemory | None = None,
) -> list[SourceRuns]:
    """``source_runs`` of many sources from one read of each summary, not one per source."""
    runs = store.latest_runs(sources, RUNS)
    limits = store.rate_limits(now)
    # Times kept from an earlier pass are still right: the memory lets them go when their watch changes.
    kept = {s: t for s in sources if memory is not None and (t := memory.times(*s)) is not None}
    newest = store.newest_mentions([s for s in sources if s not in kept])

    def times(network: str, watch: str) -> MentionTimes:
        if (network, watch) in kept:
            return kept[(network, watch)]  # type: ignore[no-any-return]
        fresh = MentionTimes(newest.get((network, watch)), partial(store.mention_times, network, watch))
        if memory is not None:
            memory.keep_times(network, watch, fresh)
        return fresh

    return [
        SourceRuns(network, watch, runs.get((network, watch), []), limits.get(network), times(network, watch))
        for network, watch in sources
    ]


def _pass_inputs(
    store: ListenerStore,
    detector: Detector,
    base: Inputs,
    sources: Sequence[tuple[str, str]],
    now: datetime,
    memory: SeriesMemory | None = None,
) -> Inputs:
    """Every configured source and the feeds their networks ran; the detector's own open alerts."""
    found: list[SourceRuns] = []
    if "runs" in detector.inputs:
        networks = sorted({network for network, _ in sources})
        every = dict.fromkeys([*sources, *store.feed_sources(networks, now - FEED_MEMORY)])
        found = every_source_runs(store, list(every), now, memory)
    open_alerts: list[AlertRow] = []
    if "open_alerts" in detector.inputs:
        open_alerts = [a for a in store.alerts.list(unresolved=True) if plugins.owns(detector, a.kind)]
    return replace(base, sources=found, open_alerts=open_alerts)


def _account_inputs(
    store: ListenerStore, found: Sequence[Detector], base: Inputs, network: str, key: str, now: datetime
) -> Inputs:
    start = now - plugins.reach(found, base, timedelta(0))
    posts = store.accounts.posts(network, key, start, now + timedelta(seconds=1))
    replies = store.accounts.replies(network, [p.native_id for p in posts])
    return replace(base, account=OwnAccount(network, key, posts, replies))


def _watch_inputs(
    store: ListenerStore,
    found: Sequence[Detector],
    base: Inputs,
    watch: Watch,
    now: datetime,
    memory: SeriesMemory | None,
) -> Inputs:
    """The watch's bucket series and recent mentions, each loaded only if a detector reads it."""
    inputs = replace(base, watch=watch)
    series_readers = [d for d in found if "series" in d.inputs]
    if series_readers:
        start = now - plugins.reach(series_readers, base, history_needed(base.detector))
        if memory is None:
            frame, scored = series(store, watch.name, start, now, base.detector.bucket)
            inputs = replace(inputs, series=frame, scored=scored)
        elif (kept := memory.series(store, watch.name, start, now, base.detector)) is not None:
            inputs = replace(inputs, series=kept.frame(), scored=kept.scored(), kept=kept)
    mention_readers = [d for d in found if "mentions" in d.inputs]
    if mention_readers:
        start = now - plugins.reach(mention_readers, base, now - base.since)
        inputs = replace(inputs, mentions=store.window(watch.name, start, now))
    return inputs


def _only(inputs: Inputs, detector: Detector) -> Inputs:
    """A watch's inputs as one detector declared them: the others' are left out."""
    if "series" not in detector.inputs:
        inputs = replace(inputs, series=None, scored=0, kept=None)
    if "mentions" not in detector.inputs:
        inputs = replace(inputs, mentions=())
    return inputs


def _run(detector: Detector, inputs: Inputs, now: datetime) -> list[Finding]:
    """What ``detector`` finds; one that fails or reports another's kind is logged and skipped."""
    try:
        found = detector.detect(inputs, now)
        stray = next((f.kind for f in found if not plugins.owns(detector, f.kind)), None)
        if stray is not None:
            raise ValueError(f"reported a {stray!r} finding; a detector reports its own kind")
    except Exception:
        log.exception("detector %s failed%s; its alerts are skipped this pass", detector.name,
                      f" on watch {inputs.watch.name!r}" if inputs.watch else "")  # fmt: skip
        return []
    return found


def _changes(
    store: ListenerStore,
    found: Sequence[Detector],
    base: Inputs,
    watches: Sequence[Watch],
    sources: Sequence[tuple[str, str]],
    accounts: Sequence[tuple[str, str]],
    now: datetime,
    memory: SeriesMemory | None = None,
) -> Iterable[AlertChange]:
    """Every detector's alert changes: the watches' first, then the others in registration order."""
    per_watch = [d for d in found if plugins.scope(d) == "watch"]
    owner = {d.name: d for d in per_watch}
    if memory is not None:
        memory.begin(store, [w.name for w in watches])
    for watch in watches if per_watch else ():
        inputs = _watch_inputs(store, per_watch, base, watch, now, memory)
        findings = [f for d in per_watch for f in _run(d, _only(inputs, d), now)]
        for f in latest_per_incident(findings):
            by = owner[f.kind.partition(":")[0]]
            yield _watch_change(store, watch, f, base.detector.bucket, by, memory)
    for detector in found:
        if plugins.scope(detector) == "pass":
            inputs = _pass_inputs(store, detector, base, sources, now, memory)
            yield from map(_change, _run(detector, inputs, now))
        elif plugins.scope(detector) == "account":
            for network, key in accounts:
                inputs = _account_inputs(store, [detector], base, network, key, now)
                yield from map(_change, _run(detector, inputs, now))


def detector_changes(
    store: ListenerStore,
    detector: Detector,
    now: datetime,
    *,
    settings: AlertSettings | None = None,
    sources: Sequence[tuple[str, str]] = (),
    accounts: Sequence[tuple[str, str]] = (),
) -> list[AlertChange]:
    """One detector's alert changes for one pass over ``sources`` or ``accounts`` (no watches)."""
    settings = settings or AlertSettings()
    base = Inputs(
        now - LOOKBACK, settings, DetectorSettings(bucket=timedelta(minutes=settings.bucket_minutes))
    )
    return list(_changes(store, [detector], base, (), sources, accounts, now))


def evaluate(
    store: ListenerStore,
    watches: Sequence[Watch],
    sources: Sequence[tuple[str, str]],
    settings: AlertSettings,
    now: datetime,
    since: datetime | None = None,
    detector: DetectorSettings | None = None,
    accounts: Sequence[tuple[str, str]] = (),
    memory: SeriesMemory | None = None,
) -> AlertPass:
    """Detect, explain and record; queue a message per channel for news at or above ``min_severity``.

    Buckets that ended after ``since`` (default: ``LOOKBACK`` ago) are examined; the
    same incident found twice is stored once, so overlapping passes are harmless.
    ``memory`` (the daemon's, kept from pass to pass) makes a pass read and score only
    what changed since the last one.
    """
    since = since or now - LOOKBACK
    detector = detector or DetectorSettings(bucket=timedelta(minutes=settings.bucket_minutes))
    base = Inputs(since, settings, detector)
    found = list(plugins.detectors().values())
    changes = list(_changes(store, found, base, watches, sources, accounts, now, memory))
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
