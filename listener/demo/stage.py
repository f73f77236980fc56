"""The demo's stage: one local wire-format server per network, the config that points at them,
and the story's posts put on them as the demo's clock reaches each one.

Every server speaks its network's real API, so what the demo runs is the real
collectors with the real client libraries. Credentials are the servers' own,
set in the demo's environment only.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime
from typing import Any, Self

from listener.demo.blueskyserver import BlueskyServer
from listener.demo.graphserver import GraphServer
from listener.demo.hnserver import HackerNewsServer
from listener.demo.mastodonserver import MastodonServer
from listener.demo.redditserver import RedditServer
from listener.demo.rssserver import RssServer
from listener.demo.story import BRAND, Post
from listener.demo.xserver import XServer
from listener.demo.youtubeserver import YouTubeServer

__all__ = ["DEMO_ENV", "Stage"]

DEMO_ENV = {
    "X_BEARER_TOKEN": "demo-x-token",
    "REDDIT_CLIENT_ID": "demo-client-id",
    "REDDIT_CLIENT_SECRET": "demo-client-secret",
    "REDDIT_PASSWORD": "demo-password",
    "REDDIT_USER_AGENT": "python:listener-demo:0.1",
    "YOUTUBE_API_KEY": "demo-youtube-key",
    "FACEBOOK_PAGE_TOKEN": "demo-facebook-token",
    "INSTAGRAM_ACCESS_TOKEN": "demo-instagram-token",
}
REDDIT_ACCOUNT = "aurora_official"


class Stage:
    """Starts every server; ``publish_until(moment)`` puts the story's posts up to ``moment`` on them."""

    def __init__(self, posts: list[Post], clock: Callable[[], datetime]) -> None:
        self.posts = posts
        self.clock = clock
        self.published = 0
        self.ids: dict[int, str] = {}
        self._stack = ExitStack()

    def __enter__(self) -> Self:
        enter = self._stack.enter_context
        env = DEMO_ENV
        self.x = enter(XServer(token=env["X_BEARER_TOKEN"], clock=self.clock, rate_limit=10**6))
        # praw paces its requests to the limit the server reports: a generous one keeps the demo quick.
        self.reddit = enter(RedditServer(env["REDDIT_CLIENT_ID"], env["REDDIT_CLIENT_SECRET"], clock=self.clock,
                                         username=REDDIT_ACCOUNT, password=env["REDDIT_PASSWORD"],
                                         rate_limit=10**9))  # fmt: skip
        self.mastodon = enter(MastodonServer(clock=self.clock, rate_limit=10**6))
        self.bluesky = enter(BlueskyServer(clock=self.clock))
        self.facebook = enter(GraphServer(env["FACEBOOK_PAGE_TOKEN"], self.clock, network="facebook"))
        self.instagram = enter(GraphServer(env["INSTAGRAM_ACCESS_TOKEN"], self.clock, network="instagram"))
        self.hackernews = enter(HackerNewsServer(clock=self.clock, rate_limit=10**6))
        self.rss = enter(RssServer(("/economia.rss",), clock=self.clock))
        self.youtube = enter(YouTubeServer(env["YOUTUBE_API_KEY"], clock=self.clock))
        self.channel = self.youtube.add_channel("Caffè Aurora")
        self.servers: dict[str, Any] = {
            "x": self.x, "reddit": self.reddit, "mastodon": self.mastodon, "bluesky": self.bluesky,
            "facebook": self.facebook, "instagram": self.instagram, "hackernews": self.hackernews,
            "rss": self.rss, "youtube": self.youtube,
        }  # fmt: skip
        self.video: str | None = None
        self.x.add_user(BRAND, "Caffè Aurora")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    # -- content -----------------------------------------------------------------

    def publish_until(self, moment: datetime) -> int:
        """Put every post due by ``moment`` on its server; how many were added."""
        with ExitStack() as locks:
            start = self.published
            for server in self.servers.values():  # they may be answering a collector right now
                locks.enter_context(server.lock)
            while self.published < len(self.posts) and self.posts[self.published].when <= moment:
                self._publish(self.published, self.posts[self.published])
                self.published += 1
            return self.published - start

    def _publish(self, index: int, p: Post) -> None:
        parent = self.ids.get(p.reply_to) if p.reply_to is not None else None
        if p.network == "x":
            if p.name:
                self.x.add_user(p.author, p.name)
            native = self.x.add_post(p.author, p.text, p.when, lang=p.lang, reply_to=parent, likes=p.likes)
            if p.author == BRAND and p.likes:  # the brand posts the same on its Page and its Instagram
                self.facebook.add_post(p.text, p.when)
                self.instagram.add_media(p.text, p.when)
        elif p.network == "reddit":
            if p.title:
                native = self.reddit.add_submission(p.subreddit, p.author, p.title, p.when, selftext=p.text,
                                                    score=p.likes)  # fmt: skip
            else:
                assert parent is not None
                native = self.reddit.add_comment(parent, p.author, p.text, p.when, score=p.likes)
        elif p.network == "rss":
            native = self.rss.add_entry("/economia.rss", p.author, p.when, title=p.title, text=p.text,
                                        lang=p.lang, link=p.link)  # fmt: skip
        elif p.network == "youtube":
            if self.video is None:  # the channel's latest upload, which people comment on
                self.video = self.youtube.add_video("Caffè Aurora", "Come tostiamo la miscela Alba", p.when,
                                                    lang="it")  # fmt: skip
            native = self.youtube.add_comment(self.video, p.author, p.text, p.when, likes=p.likes)
        elif p.network == "hackernews" and p.title:
            native = self.hackernews.add_story(p.author, p.title, p.when, url=p.link, points=p.likes)
        else:
            native = self.servers[p.network].add_mention(
                p.author, p.text, p.when, lang=p.lang, reply_to=parent
            )
        self.ids[index] = native

    # -- config ------------------------------------------------------------------

    def networks_toml(self) -> str:
        """The ``[networks.*]`` sections of the demo's config, pointing at the servers."""
        return f"""
[networks.x]
api_base_url = "{self.x.url}"
accounts = ["{BRAND}"]
pages_per_run = 40            # a week of history in the first run (the default, 5, takes a few runs)
retry_backoff_seconds = 0.2

[networks.reddit]
oauth_url = "{self.reddit.url}"
reddit_url = "{self.reddit.url}"
stream_subreddits = ["italy", "Coffee"]
username = "{REDDIT_ACCOUNT}"
password_env = "REDDIT_PASSWORD"
pages_per_run = 40
retry_backoff_seconds = 0.2

[networks.mastodon]
instances = ["{self.mastodon.url}"]
full_text_search = true       # many instances search hashtags only; this one searches text too
retry_backoff_seconds = 0.2

[networks.bluesky]
api_base_url = "{self.bluesky.url}"
retry_backoff_seconds = 0.2

[networks.hackernews]
api_base_url = "{self.hackernews.url}/api/v1"
retry_backoff_seconds = 0.2

[networks.rss]
all_watches = ["{self.rss.url}/economia.rss"]   # news sites, blogs, Google Alerts feeds
retry_backoff_seconds = 0.2

[networks.youtube]
api_base_url = "{self.youtube.url}"
channel_id = "{self.channel}"
daily_unit_share = 2000       # of the project's 10,000 units a day; a search costs 100
retry_backoff_seconds = 0.2

[networks.facebook]
api_base_url = "{self.facebook.url}"
page_id = "{self.facebook.page_id}"
retry_backoff_seconds = 0.2

[networks.instagram]
api_base_url = "{self.instagram.url}"
user_id = "{self.instagram.ig_user_id}"
username = "{self.instagram.ig_username}"
retry_backoff_seconds = 0.2
"""
