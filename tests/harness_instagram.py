"""The Instagram collector's harness for the shared fault scenarios.

Instagram has no keyword search: the scenarios collect the comments feed
(``@<username>``), where ``add_mention`` puts each post (a comment on the
account's latest media), through ``Harness.source``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from collectors import instagram
from listener.demo.graphserver import GraphServer
from tests.harness import Harness

TOKEN = "sekret-ig-token-8b2f7a"
ENV = {"INSTAGRAM_ACCESS_TOKEN": TOKEN}


def make(clock: Callable[[], datetime]) -> Harness:
    server = GraphServer(token=TOKEN, clock=clock, network="instagram").start()

    def reject() -> None:
        server.token = "rotated-by-someone"

    settings = instagram.Settings(
        api_base_url=server.url, user_id=server.ig_user_id, username=server.ig_username,
        page_size=2, retry_backoff_seconds=0,
    )  # fmt: skip
    return Harness("instagram", server, settings, f"/{settings.api_version}/", ENV, "INSTAGRAM_ACCESS_TOKEN",
                   TOKEN, reject, source=f"@{server.ig_username}")  # fmt: skip
