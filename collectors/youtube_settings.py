"""YouTube: the settings model of ``[networks.youtube]``.

Apart from the collector so that validating the config imports no network client:
``collectors.youtube`` and its client library load only when collecting.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field as PydanticField

from collectors import youtube_quota as quota
from collectors.base import Ledger, QuotaSettings

__all__ = ["Settings"]


class Settings(QuotaSettings):
    """``[networks.youtube]``: the API key is read from the variable named in ``api_key_env``."""

    api_key_env: str = "YOUTUBE_API_KEY"
    api_base_url: str | None = None  # e.g. the demo server; replaces https://youtube.googleapis.com
    channel_id: str | None = None  # your channel, "UC…" or "@handle": its uploads and their comments
    videos: tuple[str, ...] = ()  # video ids whose comments are polled every run
    recent_video_days: int = PydanticField(default=7, ge=0)  # also poll comments of uploads this recent
    channel_threads: bool = False  # also poll allThreadsRelatedToChannelId (comments on the channel itself)
    daily_unit_share: int = PydanticField(default=2000, ge=1, le=quota.DAILY_QUOTA)
    pacing: bool = True  # spread searches over the day; false: search whenever the share allows
    max_results: int = PydanticField(default=50, ge=1, le=50)  # items per page
    pages_per_run: int = PydanticField(default=2, ge=1)  # search and uploads pages per run
    comment_pages_per_video: int = PydanticField(default=3, ge=1)

    def quota_status(self, ledger: Ledger, now: datetime) -> tuple[int, int, datetime]:
        """(used, share, resets_at) for ``listener status``."""
        return quota.quota_status(self, ledger, now)
