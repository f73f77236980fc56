"""Facebook: the settings model of ``[networks.facebook]``.

Apart from the collector so that validating the config imports no network client:
``collectors.facebook`` and its client library load only when collecting.
"""

from __future__ import annotations

from typing import Literal

from collectors.graph_settings import GraphSettings

__all__ = ["FeedKind", "Settings"]

FeedKind = Literal["comments", "visitor_posts", "tagged", "posts"]


class Settings(GraphSettings):
    """``[networks.facebook]``: the Page to follow and which of its feeds to collect."""

    page_id: str = ""  # the Page's numeric id (or its username)
    page_token_env: str = "FACEBOOK_PAGE_TOKEN"
    collect: tuple[FeedKind, ...] = ("comments", "visitor_posts", "tagged", "posts")
