"""One module per network, all returning the same normalised ``Mention``.

Adding a network: write ``collectors/<name>.py`` with a class that follows
``collectors.base.Collector``, and add one line to ``REGISTRY``.
Modules are imported lazily, so ``listener --help`` stays fast.
"""

from __future__ import annotations

import importlib

from collectors.base import Collector, NetworkSettings

__all__ = ["REGISTRY", "load", "settings_model"]

# network name -> "module:Class"
REGISTRY: dict[str, str] = {
    "x": "collectors.x:XCollector",
    "reddit": "collectors.reddit:RedditCollector",
    "mastodon": "collectors.mastodon:MastodonCollector",
    "bluesky": "collectors.bluesky:BlueskyCollector",
    "hackernews": "collectors.hackernews:HackerNewsCollector",
    "rss": "collectors.rss:RssCollector",
    "facebook": "collectors.facebook:FacebookCollector",
    "instagram": "collectors.instagram:InstagramCollector",
    "youtube": "collectors.youtube:YouTubeCollector",
}


def load(name: str) -> type[Collector]:
    module, _, attr = REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


def settings_model(name: str) -> type[NetworkSettings]:
    return load(name).Settings
