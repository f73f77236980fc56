"""The Reddit collector's harness for the shared fault scenarios."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from collectors import reddit
from listener.demo.redditserver import RedditServer
from tests.harness import Harness

SECRET = "sekret-reddit-51be0d"
ENV = {"REDDIT_CLIENT_ID": "demo-client-id", "REDDIT_CLIENT_SECRET": SECRET}


def make(clock: Callable[[], datetime]) -> Harness:
    server = RedditServer("demo-client-id", SECRET, clock=clock).start()

    def reject() -> None:
        server.client_secret = "rotated"

    settings = reddit.Settings(oauth_url=server.url, reddit_url=server.url, limit=2, retry_backoff_seconds=0)
    return Harness("reddit", server, settings, "/r/", ENV, "REDDIT_CLIENT_SECRET", SECRET, reject)
