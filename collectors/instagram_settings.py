"""Instagram: the settings model of ``[networks.instagram]``.

Apart from the collector so that validating the config imports no network client:
``collectors.instagram`` and its client library load only when collecting.
"""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from collectors.graph_settings import GraphSettings

__all__ = ["MAX_HASHTAGS", "FeedKind", "Settings"]

MAX_HASHTAGS = 30  # distinct hashtags per rolling 7 days, per account
FeedKind = Literal["comments", "tags", "hashtags", "posts"]


class Settings(GraphSettings):
    """``[networks.instagram]``: the business account, its token's variable, and the hashtags to follow."""

    user_id: str = ""  # the Instagram business account id (17841...)
    username: str = ""  # its @handle, for the feed names; the id is used when empty
    access_token_env: str = "INSTAGRAM_ACCESS_TOKEN"
    hashtags: tuple[str, ...] = ()
    collect: tuple[FeedKind, ...] = ("comments", "tags", "hashtags", "posts")

    @field_validator("hashtags")
    @classmethod
    def _at_most_thirty(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        tags = tuple(dict.fromkeys(t.strip().lstrip("#").lower() for t in value if t.strip().lstrip("#")))
        if len(tags) > MAX_HASHTAGS:
            raise ValueError(
                f"{len(tags)} hashtags; Instagram allows {MAX_HASHTAGS} distinct hashtags per 7 days, "
                f"keep at most {MAX_HASHTAGS}"
            )
        return tags
