"""YouTube's daily quota, planned: pure functions of the clock, the share and what was spent.

The Data API gives a project 10,000 units a day, reset at midnight Pacific time.
A search costs 100 units, every other list call 1. listener may use a share of
that (``daily_unit_share``) and spreads it over the day: the cheap polls
(comments of the brand's videos, its uploads) run every time and are reserved
for first; a search runs only when the paced allowance, the share times the
elapsed part of the day plus one interval, covers its 100 units on top of
everything spent so far and of the polls still to come before the reset.
Nothing here does I/O: the collector reads the ledger and asks these functions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

__all__ = [
    "DAILY_QUOTA",
    "LIST_UNITS",
    "PACIFIC",
    "SEARCH_UNITS",
    "day_start",
    "next_reset",
    "paced_allowance",
    "poll_fits",
    "quota_status",
    "rotation",
    "runs_left",
    "search_pages",
    "takes_turn",
]

PACIFIC = ZoneInfo("America/Los_Angeles")
DAILY_QUOTA = 10_000  # a project's default daily units
SEARCH_UNITS = 100  # search.list
LIST_UNITS = 1  # commentThreads, comments, playlistItems, videos, channels .list


class _Ledger(Protocol):
    def units_since(self, since: datetime) -> int: ...


class _QuotaSettings(Protocol):
    daily_unit_share: int


def day_start(now: datetime) -> datetime:
    """The last midnight in Pacific time, in UTC: when today's quota began.

    In UTC because Python subtracts two datetimes of the same zone on the wall
    clock, which would make every day 24 hours long.
    """
    local = now.astimezone(PACIFIC)
    return datetime(local.year, local.month, local.day, tzinfo=PACIFIC).astimezone(UTC)


def next_reset(now: datetime) -> datetime:
    """The next midnight in Pacific time, in UTC: when the quota resets (23 or 25 hours on DST days)."""
    tomorrow = now.astimezone(PACIFIC).date() + timedelta(days=1)
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=PACIFIC).astimezone(UTC)


def _day_length(now: datetime) -> timedelta:
    return next_reset(now) - day_start(now)


def runs_left(now: datetime, interval_minutes: int) -> int:
    """Runs still to come before the reset on a schedule of ``interval_minutes``, this one included."""
    remaining = (next_reset(now) - now).total_seconds()
    return max(1, math.ceil(remaining / (interval_minutes * 60)))


def paced_allowance(share: int, now: datetime, interval_minutes: int) -> int:
    """What may be spent by the end of this run: the share times the day gone so far, plus one interval."""
    elapsed = now - day_start(now) + timedelta(minutes=interval_minutes)
    return min(share, int(share * (elapsed / _day_length(now))))


def search_pages(
    *,
    share: int,
    spent: int,
    now: datetime,
    interval_minutes: int,
    poll_units_per_run: int,
    pacing: bool = True,
) -> int:
    """How many 100-unit search pages this run may spend; 0 means the search waits.

    ``spent`` is everything used since the reset, this run's calls included.
    The polls of every run still to come today, this one included, are kept
    back first: searches never starve them, and the share is never exceeded.
    """
    reserve = poll_units_per_run * runs_left(now, interval_minutes)
    room = share - spent - reserve
    if pacing:
        room = min(room, paced_allowance(share, now, interval_minutes) - spent - poll_units_per_run)
    return max(0, room // SEARCH_UNITS)


def poll_fits(*, share: int, spent: int, units: int = LIST_UNITS) -> bool:
    """Whether one more cheap call still fits in today's share."""
    return spent + units <= share


def takes_turn(
    me: str,
    *,
    searched_at: datetime | None,
    passed_at: datetime | None,
    now: datetime,
    lookback: timedelta,
    recent: Iterable[str],
    since_search: Iterable[str],
    since_pass: Iterable[str],
) -> bool:
    """Whether this watch takes an affordable search now, so that several watches take turns.

    Watches run in the same order every pass, so the first would take every
    search the pace allows. A watch learns of the others only from the ledger,
    once they have spent units; so after each search a watch passes its next
    chance once (the caller records ``passed_at``) and takes a later one only
    if no other watch searched since that pass (nobody else wanted it) and no
    known watch has waited longer. ``recent`` are the watches that searched
    within ``lookback``; ``since_search`` and ``since_pass`` those that spent
    units since this watch's last search and last pass. A watch silent for
    longer than ``lookback`` (renamed, deleted) no longer holds the others back.
    """
    if searched_at is None or now - searched_at >= lookback:
        return True
    if passed_at is None or passed_at <= searched_at or set(since_pass) - {me}:
        return False
    waiting = set(recent) - set(since_search) - {me}  # searched before our last search, not since
    return not waiting


def rotation(share: int, poll_units_per_run: int, interval_minutes: int, watches: int) -> timedelta:
    """How long a round of searches over ``watches`` watches takes, twice, at most a day.

    A watch that has not searched for that long is taken to be gone (renamed,
    deleted) and no longer holds the others back.
    """
    day = timedelta(days=1)
    for_searches = share - poll_units_per_run * (day // timedelta(minutes=interval_minutes))
    if for_searches < SEARCH_UNITS:
        return day
    return min(day, 2 * max(1, watches) * day * SEARCH_UNITS / for_searches)


def quota_status(settings: _QuotaSettings, ledger: _Ledger, now: datetime) -> tuple[int, int, datetime]:
    """Units used today, the daily share, and when the quota resets, for ``listener status``."""
    return ledger.units_since(day_start(now)), settings.daily_unit_share, next_reset(now)
