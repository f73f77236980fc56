"""``[digest]``: when the daily digest goes out, in which language and zone, and how long its lists are.

Its own module, importing nothing of ours but ``listener.settings``, so that
``listener.config`` can use it without loading the digest.
"""

from __future__ import annotations

import re
from datetime import time as clock
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from listener.settings import Section

__all__ = ["DigestSettings"]

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class DigestSettings(Section):
    """``[digest]``: when and how the daily digest is written; every key is optional."""

    time: str = "07:30"  # local time the daemon sends yesterday's digest
    timezone: str | None = None  # default: [alerts].timezone
    language: Literal["it", "en"] | None = None  # default: [email].language
    recipients: list[str] | None = Field(default=None, min_length=1)  # default: [email].recipients
    stories: int = Field(default=10, ge=1, le=1000)  # stories to answer first the digest lists
    trolls: int = Field(default=5, ge=0, le=100)  # trolls (negative on many days) it lists, "do not feed"
    quiet_share: float = Field(default=0.2, ge=0, le=1)  # a network under this share of its mean is quiet
    quiet_min_mean: float = Field(default=10.0, ge=0)  # ...if its mean is at least this many a day

    @field_validator("time")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.match(value):
            raise ValueError(f"{value!r} is not a time like '07:30'")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r}; use a name like 'Europe/Rome'") from None
        return value

    def send_time(self) -> clock:
        hour, minute = self.time.split(":")
        return clock(int(hour), int(minute))
