"""Read budgets and quotas: what ``listener status`` shows and what collection keeps within.

Read off the settings' types and the store's run totals, so neither a collector
nor a network client is imported to show them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from collectors.base import BudgetSettings, NetworkSettings, QuotaSettings

if TYPE_CHECKING:
    from storage.interfaces import ListenerStore

__all__ = ["Budget", "StoreLedger", "budget_usage", "period_start"]


@dataclass(frozen=True, slots=True)
class Budget:
    network: str
    budget: int
    used: int
    left: int
    period_start: datetime
    unit: str = "posts"  # X counts posts read a month; YouTube counts quota units a day


def period_start(now: datetime, day: int) -> datetime:
    """The start of the current monthly budget period, which resets on ``day`` at 00:00 UTC."""
    start = now.replace(day=day, hour=0, minute=0, second=0, microsecond=0)
    if start > now:
        month, year = (now.month - 1, now.year) if now.month > 1 else (12, now.year - 1)
        start = start.replace(year=year, month=month)
    return start


def budget_usage(
    store: ListenerStore, networks: Mapping[str, NetworkSettings], now: datetime
) -> list[Budget]:
    """Read budgets and quotas, used and left, for ``listener status``.

    Read off the settings' types (``BudgetSettings``, ``QuotaSettings``), so no collector and
    no network client is imported.
    """
    rows = []
    for name, settings in sorted(networks.items()):
        if isinstance(settings, BudgetSettings) and settings.monthly_post_budget:
            start = period_start(now, settings.budget_day)
            used = store.fetched_since(name, start)
            cap = settings.monthly_post_budget
            rows.append(Budget(name, cap, used, max(0, cap - used), start))
        if isinstance(settings, QuotaSettings):
            used, share, resets = settings.quota_status(StoreLedger(store, name), now)
            rows.append(Budget(name, share, used, max(0, share - used), resets - timedelta(days=1), "units"))
    return rows


@dataclass(frozen=True, slots=True)
class StoreLedger:
    """``collectors.base.Ledger`` over the store, for one network."""

    store: ListenerStore
    network: str

    def units_since(self, since: datetime) -> int:
        return self.store.units_since(self.network, since)

    def sources_since(self, since: datetime) -> set[str]:
        return self.store.sources_since(self.network, since)
