"""YouTube's errors as ours: each HTTP error of the Data API becomes one line that names the fix."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from googleapiclient.errors import HttpError  # type: ignore[import-untyped]

from collectors import youtube_quota as quota
from collectors._common import until
from collectors._html import html_to_text
from collectors.youtube_items import as_dict
from listener.errors import AuthError, CollectorError, RateLimited, SourceUnavailable

__all__ = ["Skipped", "api_error"]

_SKIP_REASONS = ("commentsDisabled", "videoNotFound")  # one video is unavailable, not the run


class Skipped(CollectorError):
    """One video cannot be read (comments disabled, video gone): skip it, the run goes on."""


def _error_fields(exc: HttpError) -> tuple[str, str, str, str]:
    """(reason, domain, status, message) of Google's error body, empty where absent."""
    try:
        error = as_dict(json.loads(exc.content.decode("utf-8")).get("error"))
    except (ValueError, AttributeError):
        return "", "", "", ""
    first = as_dict((error.get("errors") or [{}])[0])
    message = html_to_text(str(error.get("message") or first.get("message") or ""))
    return str(first.get("reason", "")), str(first.get("domain", "")), str(error.get("status", "")), message


def api_error(context: str, exc: HttpError, now: datetime, key_env: str) -> CollectorError:
    """Google's error (status, reason, domain) as one of ours, in one line that names the fix."""
    status = exc.status_code
    reason, domain, api_status, message = _error_fields(exc)
    what = f"{status} {reason or api_status}".strip()
    detail = message.splitlines()[0][:200] if message else what
    if reason == "quotaExceeded" or domain == "youtube.quota":
        reset = quota.next_reset(now).astimezone(UTC)
        return RateLimited(
            f"{context}: the project's daily quota is used up (quotaExceeded); "
            f"waiting until {until(reset)} (midnight Pacific), or lower daily_unit_share",
            reset,
        )
    if status == 429 or reason in ("rateLimitExceeded", "userRateLimitExceeded"):
        after = str(exc.resp.get("retry-after", ""))
        retry_at = now + timedelta(seconds=int(after)) if after.isdigit() else None
        return RateLimited(f"{context}: rate limited ({what}); waiting until {until(retry_at)}", retry_at)
    var = key_env
    if reason in ("keyInvalid", "keyExpired") or "API key" in message or status == 401:
        return AuthError(f"{context}: API key rejected ({what}); set {var} to a valid YouTube Data API key")
    if reason in _SKIP_REASONS:
        return Skipped(f"{context}: {detail} ({reason})")
    if status == 403:
        return AuthError(
            f"{context}: access denied ({what}): {detail}; enable the YouTube Data API v3 for the key's "
            f"project and check the key's API restrictions ({var})"
        )
    if status >= 500:
        return SourceUnavailable(
            f"{context}: server error ({status}); YouTube is having trouble, the next run retries"
        )
    return CollectorError(f"{context}: request refused ({what}): {detail}; check [networks.youtube]")
