"""The built-in networks, channels and detectors, registered through the hooks any plug-in uses.

Networks, their settings models and channels are named ``"module:attr"`` and imported
when used (a network's settings from a light module, its collector and client library only
when collecting); the detectors are imported inside their hook (they bring pandas), so
building the plugin manager stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from listener.plugins import hookimpl

if TYPE_CHECKING:
    from listener.plugins import Detector


@hookimpl
def register_collectors() -> Mapping[str, str]:
    return {
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


@hookimpl
def register_settings() -> Mapping[str, str]:
    # Light modules: validating a config that names every network imports no client library.
    return {
        "x": "collectors.x_settings:Settings",
        "reddit": "collectors.reddit_settings:Settings",
        "mastodon": "collectors.mastodon_settings:Settings",
        "bluesky": "collectors.bluesky_settings:Settings",
        "hackernews": "collectors.hackernews_settings:Settings",
        "rss": "collectors.rss_settings:Settings",
        "facebook": "collectors.facebook_settings:Settings",
        "instagram": "collectors.instagram_settings:Settings",
        "youtube": "collectors.youtube_settings:Settings",
    }


@hookimpl
def register_channels() -> Mapping[str, str]:
    return {
        "email": "listener.alerts.channels:email_channel",
        "apprise": "listener.alerts.channels:apprise_channel",
        "webhook": "listener.alerts.channels:webhook_channel",
    }


@hookimpl
def register_detectors() -> Sequence[Detector]:
    from listener.alerts.health import HEALTH
    from listener.analysis.detectors.series import NEGATIVE, VOLUME
    from listener.guard import GUARD

    return [VOLUME, NEGATIVE, HEALTH, GUARD]
