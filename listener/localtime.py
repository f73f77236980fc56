"""Instants as people read them: in the configured zone, ``04 dic 10:40`` / ``Dec 04 10:40``.

The database keeps UTC ISO strings; whatever a person reads (an alert email, a
chat message, the digest) shows local time, with the zone's name said once
per message. Month names are written here rather than taken from the C locale:
a server rarely has ``it_IT`` installed.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "day_bounds",
    "local_clock",
    "local_date",
    "local_day",
    "local_time",
    "local_times_in",
    "parse_instant",
]

_MONTHS = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "it": ("gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"),
}


# A UTC instant as we write them into texts (``2026-12-04T09:40:00+00:00``), e.g. in health summaries.
_INSTANT = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:\+00:00|Z)")


def parse_instant(value: str | datetime) -> datetime | None:
    """An ISO string or datetime as an aware instant (naive means UTC); None for what is not a time."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants where a local day starts and ends (23 or 25 hours at DST changes)."""
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def local_day(day: date, language: str) -> str:
    """``04 dic`` / ``Dec 04``."""
    month = _MONTHS.get(language, _MONTHS["en"])[day.month - 1]
    return f"{day.day:02d} {month}" if language == "it" else f"{month} {day.day:02d}"


def local_time(value: str | datetime, zone: str, language: str) -> str:
    """``04 dic 10:40`` / ``Dec 04 10:40`` in ``zone``; the text as given if it is not a time."""
    when = parse_instant(value)
    if when is None:
        return str(value)
    local = when.astimezone(ZoneInfo(zone))
    return f"{local_day(local.date(), language)} {local:%H:%M}"


def local_clock(value: str | datetime, zone: str, language: str, day: date) -> str:
    """``10:40`` on ``day`` (a local date), else the date too: what a daily summary needs."""
    when = parse_instant(value)
    if when is None:
        return str(value)
    local = when.astimezone(ZoneInfo(zone))
    return f"{local:%H:%M}" if local.date() == day else local_time(local, zone, language)


def local_date(value: str | datetime, zone: str, language: str) -> str:
    """``04 dic 2026`` / ``Dec 04 2026``: the local date of an instant."""
    when = parse_instant(value)
    if when is None:
        return str(value)
    local = when.astimezone(ZoneInfo(zone)).date()
    return f"{local_day(local, language)} {local.year}"


def local_times_in(text: str, zone: str, language: str, name_zone: bool = False) -> str:
    """``text`` with every UTC instant written in it made local; the zone named after the first one."""
    named = [not name_zone]

    def local(m: re.Match[str]) -> str:
        shown = local_time(m.group(0), zone, language)
        if not named[0]:
            named[0] = True
            return f"{shown} ({zone})"
        return shown

    return _INSTANT.sub(local, text)
