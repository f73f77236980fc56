"""Bluesky: the settings model of ``[networks.bluesky]``.

Apart from the collector so that validating the config imports no network client:
``collectors.bluesky`` and its client library load only when collecting.
"""

from __future__ import annotations

from pydantic import Field as PydanticField

from collectors.base import NetworkSettings

__all__ = ["Settings"]


class Settings(NetworkSettings):
    """``[networks.bluesky]``: keyless unless ``handle`` is set; the app password comes from the environment."""

    api_base_url: str = "https://public.api.bsky.app"  # the AppView, for keyless reads
    pds_url: str = "https://bsky.social"  # where a handle logs in, when it does
    handle: str | None = None  # with app_password_env: log in (the AppView may require it for search)
    app_password_env: str = "BLUESKY_APP_PASSWORD"
    accounts: tuple[str, ...] = ()  # your handles: mentions (search) and own posts (author feed)
    limit: int = PydanticField(default=50, ge=1, le=100)
    pages_per_run: int = PydanticField(default=5, ge=1)
    backfill_days: int = PydanticField(default=7, ge=0)
