"""Hacker News: the settings model of ``[networks.hackernews]``.

Apart from the collector so that validating the config imports no network client:
``collectors.hackernews`` and its client library load only when collecting.
"""

from __future__ import annotations

from pydantic import Field as PydanticField

from collectors.base import NetworkSettings

__all__ = ["Settings"]


class Settings(NetworkSettings):
    """``[networks.hackernews]``: keyless; Algolia allows 10,000 requests an hour per IP address."""

    api_base_url: str = "https://hn.algolia.com/api/v1"
    accounts: tuple[str, ...] = ()  # HN usernames whose own stories and comments to keep
    tags: tuple[str, ...] = ("story", "comment")  # Algolia item types, ORed
    hits_per_page: int = PydanticField(default=100, ge=1, le=1000)
    pages_per_run: int = PydanticField(default=10, ge=1)  # 10 x 100 = Algolia's 1,000-hit window
    lookback_hours: int = PydanticField(default=168, ge=1)  # how far back a watch's first run reaches
    overlap_seconds: int = PydanticField(default=300, ge=0)  # re-ask this much: late indexing
