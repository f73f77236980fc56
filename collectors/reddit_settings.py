"""Reddit: the settings model of ``[networks.reddit]``.

Apart from the collector so that validating the config imports no network client:
``collectors.reddit`` and its client library load only when collecting.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field as PydanticField

from collectors.base import NetworkSettings

__all__ = ["Settings"]


class Settings(NetworkSettings):
    """``[networks.reddit]``: a read-only app's id and secret come from the named variables."""

    client_id_env: str = "REDDIT_CLIENT_ID"
    client_secret_env: str = "REDDIT_CLIENT_SECRET"
    user_agent_env: str = "REDDIT_USER_AGENT"  # falls back to a generic one when unset
    username: str | None = None  # with password_env or refresh_token_env: collect u/ mentions
    password_env: str | None = None
    refresh_token_env: str | None = None
    search_subreddit: str = "all"
    time_filter: Literal["hour", "day", "week", "month", "year", "all"] = "week"
    stream_subreddits: tuple[str, ...] = ()  # new comments and submissions, matched locally
    oauth_url: str = "https://oauth.reddit.com"
    reddit_url: str = "https://www.reddit.com"
    limit: int = PydanticField(default=100, ge=1, le=100)
    pages_per_run: int = PydanticField(default=5, ge=1)
    overlap_minutes: int = PydanticField(default=60, ge=0)
    timeout_seconds: int = PydanticField(default=16, ge=1)
