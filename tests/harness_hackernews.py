"""The Hacker News collector's harness for the shared fault scenarios (keyless)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from collectors import hackernews
from listener.demo.hnserver import HackerNewsServer
from tests.harness import Harness


def make(clock: Callable[[], datetime]) -> Harness:
    server = HackerNewsServer(clock=clock).start()
    settings = hackernews.Settings(
        api_base_url=f"{server.url}/api/v1", hits_per_page=2, retry_backoff_seconds=0
    )
    return Harness("hackernews", server, settings, "/api/v1/search_by_date", page_size=2)
