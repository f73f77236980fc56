"""A fresh ``listener init`` then ``listener collect``: mentions from the four keyless networks, no key set.

The starter config is used as written, except that the addresses of the real
services are replaced by local wire-format servers (no internet here).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from listener.demo.blueskyserver import BlueskyServer
from listener.demo.hnserver import HackerNewsServer
from listener.demo.mastodonserver import MastodonServer
from listener.demo.rssserver import RssServer

STARTER_RSS = "https://news.google.com/rss/search?q=%22Caff%C3%A8%20Aurora%22&hl=it&gl=IT&ceid=IT:it"


@pytest.fixture
def servers() -> Iterator[dict[str, object]]:
    made = {
        "mastodon": MastodonServer().start(),
        "bluesky": BlueskyServer().start(),
        "hackernews": HackerNewsServer().start(),
        "rss": RssServer(("/news.rss",)).start(),
    }
    try:
        yield made
    finally:
        for server in made.values():
            server.stop()  # type: ignore[attr-defined]


def listener(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(folder)}  # no key of any network
    return subprocess.run(
        [sys.executable, "-m", "listener.cli", *args], cwd=folder, env=env, capture_output=True, text=True,
        encoding="utf-8", timeout=300,
    )  # fmt: skip


def test_init_then_collect_stores_mentions_from_every_keyless_network(
    tmp_path: Path, servers: dict[str, object]
) -> None:
    assert listener(tmp_path, "init").returncode == 0
    when = datetime.now(UTC) - timedelta(hours=1)
    for name, server in servers.items():
        text = f"Caffè Aurora a Milano, provato oggi ({name}) #caffeaurora"
        server.add_mention(f"fan_{name}", text, when, lang="it")  # type: ignore[attr-defined]
    config = tmp_path / "listener.toml"
    starter = config.read_text(encoding="utf-8")
    assert 'instances = ["https://mastodon.social"]' in starter and STARTER_RSS in starter
    urls = {name: server.url for name, server in servers.items()}  # type: ignore[attr-defined]
    config.write_text(
        starter.replace("https://mastodon.social", urls["mastodon"])
        .replace(STARTER_RSS, urls["rss"] + "/news.rss")
        .replace("[networks.bluesky]\n", f'[networks.bluesky]\napi_base_url = "{urls["bluesky"]}"\n')
        .replace("[networks.hackernews]\n", f'[networks.hackernews]\napi_base_url = "{urls["hackernews"]}/api/v1"\n'),
        encoding="utf-8",
    )  # fmt: skip
    done = listener(tmp_path, "collect")
    assert done.returncode == 0, done.stdout + done.stderr
    with sqlite3.connect(tmp_path / "listener.db") as conn:
        found = dict(conn.execute("SELECT network, count(*) FROM mentions GROUP BY network").fetchall())
    assert found == {"bluesky": 1, "hackernews": 1, "mastodon": 1, "rss": 1}
