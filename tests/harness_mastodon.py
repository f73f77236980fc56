"""The Mastodon collector's harness for the shared fault scenarios.

The watch is read through full-text search, which this server (like some
instances) answers without a token: so ``credential`` is ``None`` and an empty
environment must work. The token is still in the environment, and sent to the
home instance, so that the scenarios check it never reaches logs or the store;
``test_mastodon.py`` covers a missing and a refused token on the mentions feed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from collectors import mastodon
from listener.demo.mastodonserver import MastodonServer
from tests.harness import Harness

TOKEN = "sekret-mastodon-3c9e1f7a"


def make(clock: Callable[[], datetime]) -> Harness:
    server = MastodonServer(token=TOKEN, clock=clock).start()

    def reject() -> None:
        server.token = "revoked-by-the-user"

    settings = mastodon.Settings(
        instances=(server.url,), full_text_search=True, limit=2, retry_backoff_seconds=0
    )
    return Harness("mastodon", server, settings, "/api/v2/search", {"MASTODON_ACCESS_TOKEN": TOKEN},
                   None, TOKEN, reject)  # fmt: skip
