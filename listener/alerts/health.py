"""Health alerts: the sources themselves going wrong, through the same channels.

A monitor that silently stopped collecting is worse than none: the user trusts
the quiet. Four conditions, each per network and watch, each an incident that
opens once and resolves when the condition clears:

- ``auth``: the last three runs were refused credentials;
- ``rate-limited``: the network said to wait and the wait is not over;
- ``rejects``: a run could not read a large part of what it fetched;
- ``quiet``: no new mention for far longer than this source's usual gaps, as
  of its last run (a run we were too busy to start says nothing of the source).

The checks only compute: evaluation loads each source's runs and mention times
(``"runs"``) and the open health alerts first (``listener.alerts.evaluate``), for
every source at once from small summaries that storage keeps as runs are written;
the mention times past the newest are read only for a source silent for longer
than ``QUIET_FLOOR``.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from listener.analysis.findings import Finding
from listener.plugins import Inputs, SourceRuns

__all__ = ["HEALTH", "HealthDetector", "HealthIssue", "check", "usual_gap"]

AUTH_STREAK = 3
REJECT_SHARE = 0.2
REJECT_MIN = 5
QUIET_HISTORY = 20  # mentions needed before silence means anything
QUIET_FACTOR = 3.0  # times the 95th-percentile gap
QUIET_FLOOR = timedelta(hours=6)
QUIET_SPAN = timedelta(days=3)  # a history shorter than this (one burst, say) says nothing of usual gaps


@dataclass(frozen=True, slots=True)
class HealthIssue:
    condition: str
    severity: str
    since: datetime
    summary: str


def check(source: SourceRuns, now: datetime) -> list[HealthIssue]:
    """What is wrong with one source right now, from its recent runs and mentions."""
    issues: list[HealthIssue] = []
    runs, until = source.runs, source.rate_limited_until
    streak = runs[:AUTH_STREAK]
    scope = f"{source.network} ({source.watch})"
    if len(streak) == AUTH_STREAK and all(r.error == "auth" for r in streak):
        issues.append(HealthIssue("auth", "critical", datetime.fromisoformat(streak[-1].started_at),
                                  f"{scope}: credentials refused {AUTH_STREAK} times in a row: {runs[0].error_message}"))  # fmt: skip
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
    quiet = _quiet_since(source.mention_times, looked) if looked else None
    if quiet is not None:
        issues.append(HealthIssue("quiet", "warning", quiet,
                                  f"{scope}: no new mention since {quiet.isoformat()}, far longer than usual; "
                                  "check the collector and the watch query"))  # fmt: skip
    return issues


def _quiet_since(times: Sequence[datetime], looked: datetime) -> datetime | None:
    """When the source went quiet, if it was quieter than ever before when we ``looked``; else ``None``."""
    newest = next(iter(times), None)
    if newest is None or looked - newest <= QUIET_FLOOR:
        return None  # silence under the floor never counts: no need to read the rest
    kept = getattr(times, "usual_gap", None)  # the daemon's times remember it (evaluate.MentionTimes)
    limit = kept() if kept is not None else usual_gap(times)
    return times[0] if limit is not None and looked - times[0] > limit else None


def usual_gap(times: Sequence[datetime]) -> timedelta | None:
    """The longest silence that is still usual for these times (newest first); None: too few to say.

    The longer of three 95th-percentile gaps and the longest gap on record: a watch that
    lives in bursts (complaints) falls silent between them, and that silence is news no
    one needs.
    """
    if len(times) < QUIET_HISTORY or times[0] - times[-1] < QUIET_SPAN:
        return None
    gaps = sorted((a - b).total_seconds() for a, b in itertools.pairwise(times))
    p95 = statistics.quantiles(gaps, n=20)[-1] if len(gaps) >= 2 else gaps[0]
    return max(timedelta(seconds=max(p95 * QUIET_FACTOR, gaps[-1])), QUIET_FLOOR)


def _finding(network: str, watch: str, kind: str, state: str, severity: str, started: datetime,
             now: datetime, summary: str) -> Finding:  # fmt: skip
    return Finding(
        kind=kind, at=now, observed=0, expected=0, severity=severity,  # type: ignore[arg-type]
        state=state, incident_start=started, watch=watch, network=network,  # type: ignore[arg-type]
        summary=summary, explanation={"condition": kind.removeprefix("health:")},
    )  # fmt: skip


class HealthDetector:
    """Open, update or resolve one ``health:<condition>`` incident per source and condition.

    The sources are the configured (network, watch) pairs and the feeds those networks
    ran (a Page's ``@page`` and ``posts:@page``), or an expired Page token would never
    be reported. An incident resolves when its source is checked and the condition is gone.
    """

    name = "health"
    inputs = ("runs", "open_alerts")

    def detect(self, inputs: Inputs, now: datetime) -> list[Finding]:
        open_alerts = {(a.network, a.watch, a.kind): a for a in inputs.open_alerts}
        found: list[Finding] = []
        for source in inputs.sources:
            network, watch = source.network, source.watch
            for issue in check(source, now):
                kind = f"health:{issue.condition}"
                before = open_alerts.pop((network, watch, kind), None)
                started = datetime.fromisoformat(before.started_at) if before else issue.since
                state = "updated" if before else "opened"
                found.append(
                    _finding(network, watch, kind, state, issue.severity, started, now, issue.summary)
                )
        checked = {(s.network, s.watch) for s in inputs.sources}
        for (network, watch, kind), alert in open_alerts.items():
            if (network, watch) in checked:
                started = datetime.fromisoformat(alert.started_at)
                found.append(
                    _finding(network, watch, kind, "resolved", alert.severity, started, now, alert.summary)
                )
        return found


HEALTH = HealthDetector()
