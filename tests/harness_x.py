"""The X collector's harness for the shared fault scenarios."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from collectors import x
from listener.demo.xserver import XServer
from tests.harness import Harness

TOKEN = "sekret-bearer-7f3a9c2e"


def make(clock: Callable[[], datetime]) -> Harness:
    server = XServer(token=TOKEN, clock=clock).start()

    def reject() -> None:
        server.token = "rotated-by-someone"

    # X's smallest page is 10 posts: the harness's five posts still span pages through max_results.
    settings = x.Settings(api_base_url=server.url, retry_backoff_seconds=0, max_results=10)
    return Harness("x", server, settings, "/2/tweets/search/recent", {"X_BEARER_TOKEN": TOKEN},
                   "X_BEARER_TOKEN", TOKEN, reject, page_size=10)  # fmt: skip
