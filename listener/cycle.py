"""What follows each collection: score sentiment, look for incidents, send alerts.

``listener collect`` runs it once; the daemon runs it after every pass. Each step
is independent: a failing channel does not stop scoring, and unsent alerts wait
in the outbox for the next cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING

from listener.alerts.channels import build_channels
from listener.alerts.deliver import deliver_pending
from listener.alerts.evaluate import evaluate
from listener.alerts.memory import SeriesMemory
from listener.clusters import assign_clusters
from listener.config import Config
from storage.interfaces import ListenerStore

if TYPE_CHECKING:
    from listener.sentiment.backends import SentimentBackend

__all__ = ["CycleReport", "after_collect"]


@dataclass(frozen=True, slots=True)
class CycleReport:
    scored: int
    alerts: int
    news: int
    sent: int
    failed: int
    errors: tuple[str, ...]

    def line(self) -> str:
        return (
            f"scored {self.scored} new mentions; {self.alerts} alert changes ({self.news} to send); "
            f"delivered {self.sent}, failed {self.failed}"
        )


@cache
def _backend() -> SentimentBackend:
    """The default model, loaded at the first mention to score and kept for the next cycles."""
    from listener.sentiment.backends import load_backend

    return load_backend("default")


def _score_here(store: ListenerStore) -> int:
    """Score in this process (``listener collect``, the demo's driven daemon)."""
    from listener.scoring import score_new

    return score_new(store, _backend())


def after_collect(
    store: ListenerStore,
    config: Config,
    env: Mapping[str, str],
    now: datetime,
    since: datetime | None = None,
    scorer: Callable[[ListenerStore], int] | None = None,
    memory: SeriesMemory | None = None,
) -> CycleReport:
    """Score, detect, deliver. ``scorer`` replaces in-process scoring (the daemon scores in a child);
    ``memory`` keeps the watches' series from cycle to cycle (the daemon's)."""
    store.authors.set_own_accounts(config.own_accounts())
    scored = (scorer or _score_here)(store) if store.unscored(1) else 0
    assign_clusters(store)  # before alerts: their examples count a near-duplicate story once
    found = evaluate(
        store,
        config.watches,
        config.sources(),
        config.alerts,
        now,
        since=since,
        accounts=config.own_accounts(),
        memory=memory,
    )
    channels = build_channels(config.alerts, config.email, env)
    language = config.email.language if config.email else "en"
    report = deliver_pending(
        store, channels, language, now, timezone=config.alerts.timezone, inbox_url=config.serve.inbox_url()
    )
    return CycleReport(scored, len(found.changes), found.news, report.sent, report.failed, report.errors)
