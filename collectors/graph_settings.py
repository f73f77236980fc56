"""The keys both Graph API networks (Facebook, Instagram) share, apart from their collectors.

Validating the config imports this, never httpx clients or the collectors themselves.
"""

from __future__ import annotations

from pydantic import Field as PydanticField

from collectors.base import NetworkSettings

__all__ = ["GraphSettings"]


class GraphSettings(NetworkSettings):
    """Keys both Graph networks have; ``[networks.facebook]`` and ``[networks.instagram]`` add theirs."""

    api_base_url: str | None = None  # e.g. the demo server; replaces https://graph.facebook.com
    api_version: str = PydanticField(default="v23.0", pattern=r"^v\d+\.\d+$")
    page_size: int = PydanticField(default=25, ge=1, le=100)
    pages_per_run: int = PydanticField(default=10, ge=1)  # per feed, for the newest-first edges
    comment_days: int = PydanticField(default=7, ge=1, le=90)  # re-read comments on posts this recent
    comment_pages_per_run: int = PydanticField(default=50, ge=1)
    tracked_comments: int = PydanticField(default=500, ge=0)  # ids kept per post to notice deletions
    usage_ceiling_percent: int = PydanticField(default=95, ge=1, le=100)
