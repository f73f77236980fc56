"""The Facebook Pages collector's harness for the shared fault scenarios.

Facebook has no keyword search: the scenarios collect the comments feed
(``@<page>``), where ``add_mention`` puts each post (a comment under the
Page's latest post), through ``Harness.source``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from collectors import facebook
from listener.demo.graphserver import GraphServer
from tests.harness import Harness

TOKEN = "sekret-page-token-4c1d9e"
ENV = {"FACEBOOK_PAGE_TOKEN": TOKEN}


def make(clock: Callable[[], datetime]) -> Harness:
    server = GraphServer(token=TOKEN, clock=clock, network="facebook").start()

    def reject() -> None:
        server.token = "rotated-by-someone"

    settings = facebook.Settings(
        api_base_url=server.url, page_id=server.page_id, page_size=2,
        retry_backoff_seconds=0,
    )  # fmt: skip
    return Harness("facebook", server, settings, f"/{settings.api_version}/", ENV, "FACEBOOK_PAGE_TOKEN",
                   TOKEN, reject, source=f"@{server.page_id}")  # fmt: skip
