"""The Bluesky collector's harness for the shared fault scenarios: keyless, like the public AppView."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from collectors import bluesky
from listener.demo.blueskyserver import BlueskyServer
from tests.harness import Harness


def make(clock: Callable[[], datetime]) -> Harness:
    server = BlueskyServer(clock=clock).start()
    settings = bluesky.Settings(api_base_url=server.url, limit=2, retry_backoff_seconds=0)
    return Harness("bluesky", server, settings, "/xrpc/app.bsky.feed.searchPosts")
