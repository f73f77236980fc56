"""Health alerts: the sources themselves going wrong, through the same channels.

A monitor that silently stopped collecting is worse than none: the user trusts
the quiet. Four conditions, each per network and watch, each an incident that
opens once and resolves when the condition clears:

- ``auth``: the last three runs were refused credentials;
- ``rate-limited``: the network said to wait and the wait is not over;
- ``rejects``: a run could not read a large part of what it fetched;
- ``quiet``: no new mention for far longer than this source's usual gaps, as
  of its last run (a run we were too busy to start says nothing of the source).
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from listener.records import AlertChange
from storage import Store

__all__ = ["HealthIssue", "check_source", "health_changes"]

AUTH_STREAK = 3
REJECT_SHARE = 0.2
REJECT_MIN = 5
QUIET_HISTORY = 20  # mentions needed before silence means anything
QUIET_FACTOR = 3.0  # times the 95th-percentile gap
QUIET_FLOOR = timedelta(hours=6)
QUIET_SPAN = timedelta(days=3)  # a history shorter than this (one burst, say) says nothing of usual gaps
FEED_MEMORY = timedelta(days=7)  # a feed that has not run for this long is no longer checked


@dataclass(frozen=True, slots=True)
class HealthIssue:
    condition: str
    severity: str
    since: datetime
    summary: str


def check_source(store: Store, network: str, watch: str, now: datetime) -> list[HealthIssue]:
    """What is wrong with one source right now."""
    issues: list[HealthIssue] = []
    runs = store.recent_runs(network, watch, AUTH_STREAK)
    scope = f"{network} ({watch})"
    if len(runs) == AUTH_STREAK and all(r.error == "auth" for r in runs):
        issues.append(HealthIssue("auth", "critical", datetime.fromisoformat(runs[-1].started_at),
                                  f"{scope}: credentials refused {AUTH_STREAK} times in a row: {runs[0].error_message}"))  # fmt: skip
    until = store.rate_limited_until(network, now)
    if until and runs and runs[0].rate_limit_reset:
        issues.append(HealthIssue("rate-limited", "warning", datetime.fromisoformat(runs[0].started_at),
                                  f"{scope}: rate limit used up; collection paused until {until.isoformat()}"))  # fmt: skip
    if runs and runs[0].rejected >= REJECT_MIN and runs[0].rejected > REJECT_SHARE * max(runs[0].fetched, 1):
        issues.append(HealthIssue("rejects", "warning", datetime.fromisoformat(runs[0].started_at),
                                  f"{scope}: {runs[0].rejected} of {runs[0].fetched} items unreadable in the last run; "
                                  "the network may have changed its format (see the rejects table)"))  # fmt: skip
    # Silence counts up to our last look, not up to now: a source whose run was held up
    # by our own backlog (a busy machine, a long scoring pass) was unread, not quiet.
    looked = datetime.fromisoformat(runs[0].started_at) if runs else None
    quiet = _quiet_since(store.mention_times(network, watch), looked) if looked else None
    if quiet is not None:
        issues.append(HealthIssue("quiet", "warning", quiet,
                                  f"{scope}: no new mention since {quiet.isoformat()}, far longer than usual; "
                                  "check the collector and the watch query"))  # fmt: skip
    return issues


def _quiet_since(times: Sequence[datetime], looked: datetime) -> datetime | None:
    """When the source went quiet, if it was quieter than ever before when we ``looked``; else ``None``.

    "Usual" is the longer of three 95th-percentile gaps and the longest gap on
    record: a watch that lives in bursts (complaints) falls silent between them,
    and that silence is news no one needs.
    """
    if len(times) < QUIET_HISTORY or times[0] - times[-1] < QUIET_SPAN:
        return None
    gaps = sorted((a - b).total_seconds() for a, b in itertools.pairwise(times))
    p95 = statistics.quantiles(gaps, n=20)[-1] if len(gaps) >= 2 else gaps[0]
    limit = max(timedelta(seconds=max(p95 * QUIET_FACTOR, gaps[-1])), QUIET_FLOOR)
    return times[0] if looked - times[0] > limit else None


def _change(network: str, watch: str, kind: str, state: str, severity: str, started: datetime,
            now: datetime, summary: str) -> AlertChange:  # fmt: skip
    return AlertChange(
        watch=watch, network=network, kind=kind, state=state, severity=severity, started_at=started, at=now,
        observed=0, expected=0, summary=summary, explanation={"condition": kind.removeprefix("health:")},
    )  # fmt: skip


def health_changes(store: Store, sources: Sequence[tuple[str, str]], now: datetime) -> list[AlertChange]:
    """Open, update or resolve one health incident per (source, condition).

    ``sources`` are the configured (network, watch) pairs; the feeds those
    networks ran (a Page's ``@page`` and ``posts:@page``) are checked too, or an
    expired Page token would never be reported.
    """
    networks = sorted({network for network, _ in sources})
    sources = list(dict.fromkeys([*sources, *store.feed_sources(networks, now - FEED_MEMORY)]))
    open_alerts = {
        (a.network, a.watch, a.kind): a
        for a in store.alerts.list(unresolved=True)
        if a.kind.startswith("health:")
    }
    changes: list[AlertChange] = []
    for network, watch in sources:
        for issue in check_source(store, network, watch, now):
            kind = f"health:{issue.condition}"
            before = open_alerts.pop((network, watch, kind), None)
            started = datetime.fromisoformat(before.started_at) if before else issue.since
            state = "updated" if before else "opened"
            changes.append(_change(network, watch, kind, state, issue.severity, started, now, issue.summary))
    checked = set(sources)
    for (network, watch, kind), alert in open_alerts.items():
        if (network, watch) in checked:
            started = datetime.fromisoformat(alert.started_at)
            changes.append(
                _change(network, watch, kind, "resolved", alert.severity, started, now, alert.summary)
            )
    return changes
