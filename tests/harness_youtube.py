"""The YouTube collector's harness for the shared fault scenarios.

``add_mention`` makes a video whose title is the text, which the watch's
search finds: the scenarios exercise ``search.list``, the walk that pages and
costs quota. Pacing is off and the share is the whole quota, so that every
scenario's search runs at once; the planner has its own tests.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from collectors import youtube
from listener.demo.youtubeserver import YouTubeServer
from tests.harness import Harness

KEY = "AIzaSy-sekret-youtube-4b1d"


def make(clock: Callable[[], datetime]) -> Harness:
    server = YouTubeServer(api_key=KEY, clock=clock).start()

    def reject() -> None:
        server.api_key = "rotated-by-someone"

    settings = youtube.Settings(
        api_base_url=server.url, retry_backoff_seconds=0, max_results=2, pages_per_run=5,
        daily_unit_share=10_000, pacing=False,
    )  # fmt: skip
    return Harness("youtube", server, settings, "/youtube/v3/search", {"YOUTUBE_API_KEY": KEY},
                   "YOUTUBE_API_KEY", KEY, reject, page_size=2)  # fmt: skip
