"""``--since``/``--until`` values: ISO dates and times, or ``24h``-style ages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import click

_AGE = re.compile(r"^(\d+)\s*(m|min|h|d|w)$")
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_moment(value: str, now: datetime) -> datetime:
    """``24h`` means 24 hours before ``now``; a date or time without zone is UTC."""
    if found := _AGE.match(value.strip().lower()):
        return now - timedelta(**{_UNITS[found[2]]: int(found[1])})
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: use an ISO date like 2026-11-01 or an age like 24h, 7d"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
