"""Mastodon: the settings model of ``[networks.mastodon]``.

Apart from the collector so that validating the config imports no network client:
``collectors.mastodon`` and its client library load only when collecting.
"""

from __future__ import annotations

from pydantic import Field as PydanticField
from pydantic import field_validator

from collectors.base import NetworkSettings
from listener.settings import web_address

__all__ = ["Settings"]


class Settings(NetworkSettings):
    """``[networks.mastodon]``: instances to read; the token (optional) is for your account on the first one."""

    instances: tuple[str, ...] = ("https://mastodon.social",)
    hashtags: tuple[str, ...] = ()  # followed for every watch, besides the query's own #tags
    full_text_search: bool = False  # also /api/v2/search each instance (needs an instance that offers it)
    access_token_env: str = "MASTODON_ACCESS_TOKEN"  # a token of your account on instances[0]
    accounts: tuple[str, ...] = ()  # your handles, "brand" or "brand@host": mentions and own posts
    mastodon_version: str = "4.6.4"  # assumed, never looked up: a lookup that fails would recurse
    limit: int = PydanticField(default=40, ge=1, le=40)
    pages_per_run: int = PydanticField(default=5, ge=1)
    backfill_days: int = PydanticField(default=7, ge=0)

    @field_validator("instances")
    @classmethod
    def _instances_are_hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for instance in value:
            web_address(instance, bare_host=True)
        return value
