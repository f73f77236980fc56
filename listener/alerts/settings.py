"""``[alerts]``: where alerts go, when to hold them, which to send."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, field_validator
from pydantic_core import PydanticCustomError

from listener.settings import Section

__all__ = ["AlertSettings", "GuardSettings"]

Severity = Literal["info", "warning", "critical"]
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


class GuardSettings(Section):
    """``[alerts.own_accounts]``: how the guard judges the brand's own posts."""

    enabled: bool = True
    history_days: int = Field(default=28, ge=7, le=365)
    min_history: int = Field(default=20, ge=5)  # fewer posts than this: hours, languages, domains say nothing
    rare_hour_share: float = Field(default=0.01, gt=0, lt=0.5)  # an hour (±1) with less of the history
    reply_wave_min: int = Field(default=10, ge=3)  # negative replies before a post's replies count as a wave


def _registered_channel(name: str) -> str:
    """A channel some plug-in registers (the built-ins: email, apprise, webhook)."""
    from listener import plugins

    known = list(plugins.channels())
    if name not in known:
        names = [repr(n) for n in known]
        expected = " or ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
        raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected})
    return name


class AlertSettings(Section):
    channels: tuple[Annotated[str, AfterValidator(_registered_channel)], ...] = ()
    webhook_url_env: str = "LISTENER_WEBHOOK_URL"
    apprise_urls_env: str = "LISTENER_APPRISE_URLS"
    timezone: str = "UTC"
    quiet_hours: str | None = None  # "23:00-07:00": hold info and warning alerts until the end
    min_severity: Severity = "warning"  # weaker alerts are stored and listed, not sent
    bucket_minutes: int = Field(default=5, ge=1, le=1440)
    own_accounts: GuardSettings = GuardSettings()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use a name like 'Europe/Rome'") from None
        return value

    @field_validator("bucket_minutes")
    @classmethod
    def _bucket(cls, value: int) -> int:
        if value % 5 or 1440 % value:
            raise ValueError(
                f"{value} minutes: use a multiple of 5 that divides a day (5, 10, 15, 30, 60...)"
            )
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        if value is not None and not _HOURS.match(value):
            raise ValueError(f"{value!r} is not a range like '23:00-07:00'")
        return value

    def release_time(self, moment: datetime, severity: str) -> datetime:
        """When an alert raised at ``moment`` may be sent: critical ones always at once."""
        if self.quiet_hours is None or severity == "critical":
            return moment
        found = _HOURS.match(self.quiet_hours)
        assert found is not None
        start, end = time(int(found[1]), int(found[2])), time(int(found[3]), int(found[4]))
        local = moment.astimezone(ZoneInfo(self.timezone))
        now = local.time()
        quiet = start <= now < end if start <= end else (now >= start or now < end)
        if not quiet:
            return moment
        release = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
        if release <= local:
            release += timedelta(days=1)
        return release.astimezone(moment.tzinfo)
