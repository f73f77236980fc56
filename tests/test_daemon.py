"""``listener run`` as a real process against the local wire-format servers.

It is killed with SIGKILL at random moments while the servers keep producing
posts, stopped with SIGTERM, and started twice on one database.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest

from listener.demo import script
from listener.demo.__main__ import DEMO_ENV
from listener.demo.redditserver import RedditServer
from listener.demo.xserver import XServer
from listener.records import utcnow


@dataclass
class World:
    x: XServer
    config: Path
    produced: list[str] = field(default_factory=list)
    running: threading.Event = field(default_factory=threading.Event)
    processes: list[subprocess.Popen[str]] = field(default_factory=list)

    @property
    def db(self) -> Path:
        return self.config.parent / "demo.db"

    def produce(self) -> None:
        """Keep posting about the brand, as people do, until stopped."""
        rng = random.Random(1)
        while self.running.is_set():
            with self.x.lock:
                post = self.x.add_post(
                    f"fan{rng.randint(1, 50)}", f"Caffè Aurora post {len(self.produced)}", utcnow()
                )
            self.produced.append(post)
            time.sleep(0.02)

    def daemon(self, *args: str) -> subprocess.Popen[str]:
        command = [sys.executable, "-m", "listener.cli", "--config", str(self.config), "run", *args]
        process = subprocess.Popen(
            command, env={**os.environ, **DEMO_ENV}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.processes.append(process)
        return process

    def kill_all(self) -> None:
        """No daemon outlives its test, whatever the test's outcome."""
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.communicate(timeout=10)

    def query(self, sql: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.db) as conn:
            return conn.execute(sql).fetchall()


def write_config(folder: Path, x_url: str, reddit_url: str) -> Path:
    path = folder / "listener.toml"
    path.write_text(
        f"""[database]
path = "demo.db"

[[watches]]
name = "brand"
query = '"Caffè Aurora" OR #caffeaurora'

[networks.x]
api_base_url = "{x_url}"
accounts = ["{script.BRAND_ACCOUNT}"]
retry_backoff_seconds = 0.2

[networks.reddit]
oauth_url = "{reddit_url}"
reddit_url = "{reddit_url}"
stream_subreddits = ["italy"]
retry_backoff_seconds = 0.2
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with XServer(token=DEMO_ENV["X_BEARER_TOKEN"]) as x, RedditServer(
        DEMO_ENV["REDDIT_CLIENT_ID"], DEMO_ENV["REDDIT_CLIENT_SECRET"],
        username=script.REDDIT_ACCOUNT, password=DEMO_ENV["REDDIT_PASSWORD"],
    ) as reddit:  # fmt: skip
        script.load(x, reddit, utcnow() - timedelta(hours=48))
        world = World(x, write_config(tmp_path, x.url, reddit.url))
        try:
            yield world
        finally:
            world.running.clear()
            world.kill_all()


def wait_for(predicate: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if predicate():  # type: ignore[operator]
                return True
        except sqlite3.Error:
            pass
        time.sleep(0.1)
    return False


def test_sigkill_at_random_moments_loses_nothing_and_stores_nothing_twice(world: World) -> None:
    world.running.set()
    producer = threading.Thread(target=world.produce, daemon=True)
    producer.start()
    rng = random.Random(20)
    try:
        for _ in range(20):
            process = world.daemon("--interval", "0.3")
            time.sleep(rng.uniform(0.2, 3.0))
            process.kill()
            process.communicate(timeout=10)
    finally:
        world.running.clear()
        producer.join()
    for _ in range(10):  # each run reads a bounded number of pages: repeat until caught up
        before = world.query("SELECT count(*) FROM mentions")
        final = world.daemon("--once")
        _, err = final.communicate(timeout=120)
        assert final.returncode == 0, err
        if world.query("SELECT count(*) FROM mentions") == before:
            break
    stored = [row[0] for row in world.query("SELECT native_id FROM mentions WHERE network = 'x'")]
    assert len(stored) == len(set(stored))
    assert set(world.produced) <= set(stored)
    assert world.query("PRAGMA integrity_check") == [("ok",)]
    assert world.query("SELECT count(*) FROM mentions") == world.query(
        "SELECT count(*) FROM mentions_fts_docsize"
    )
    assert len(world.produced) > 500


def test_sigterm_stops_cleanly_within_five_seconds(world: World) -> None:
    process = world.daemon("--interval", "0.5")
    assert wait_for(lambda: world.query("SELECT count(*) FROM jobs")[0][0] > 0, 60), process.stderr
    assert wait_for(
        lambda: world.query("SELECT count(*) FROM runs WHERE finished_at IS NOT NULL")[0][0] > 3, 60
    )
    process.send_signal(signal.SIGTERM)
    began = time.monotonic()
    _, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert time.monotonic() - began < 5
    assert "stopped" in err
    assert world.query("PRAGMA integrity_check") == [("ok",)]
    assert world.query("SELECT count(*) FROM jobs") == [(0,)]


SCHEDULE_PUBLISHED = "SELECT count(*) FROM jobs WHERE next_run_at IS NOT NULL"


def test_a_second_daemon_refuses_and_a_stale_lock_does_not_block(world: World) -> None:
    first = world.daemon("--interval", "5")
    try:
        assert wait_for(lambda: world.query(SCHEDULE_PUBLISHED)[0][0] > 0, 60)
        status = subprocess.run(
            [sys.executable, "-m", "listener.cli", "--config", str(world.config), "status", "--json"],
            capture_output=True, text=True, timeout=60, env={**os.environ, **DEMO_ENV}, check=True,
        )  # fmt: skip
        rows = json.loads(status.stdout)
        assert rows and all(row["next_run"] for row in rows if row["network"] == "x")
        second = world.daemon("--once")
        _, err = second.communicate(timeout=60)
        assert second.returncode == 1
        assert f"another 'listener run' (pid {first.pid}) is already using" in err
        assert err.count("\n") == 1
    finally:
        first.kill()
        first.communicate(timeout=10)
    again = world.daemon("--once")
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    # The daemon scores sentiment in a child process: every mention has a label.
    assert world.query("SELECT count(*) FROM mentions WHERE sentiment_label IS NULL") == [(0,)]
    assert world.query("SELECT count(*) FROM mentions")[0][0] > 0


DIGEST_PUBLISHED = "SELECT count(*) FROM jobs WHERE id = 'digest' AND next_run_at IS NOT NULL"


def test_the_daemon_sends_the_due_digest_once(world: World) -> None:
    from tests.servers import smtp_server

    with smtp_server() as (inbox, port):
        world.config.write_text(
            world.config.read_text()
            + f'\n[email]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nsender = "listener@test"\n'
            'recipients = ["social@test"]\nlanguage = "it"\n\n[digest]\ntime = "00:00"\n'
        )
        for _ in range(2):
            process = world.daemon("--interval", "60")
            assert wait_for(lambda: world.query("SELECT count(*) FROM jobs")[0][0] > 0, 60)
            assert wait_for(lambda: world.query("SELECT count(*) FROM digests")[0][0] == 1, 60)
            assert wait_for(lambda: world.query(DIGEST_PUBLISHED)[0][0] == 1, 30)
            status = subprocess.run(
                [sys.executable, "-m", "listener.cli", "--config", str(world.config), "status"],
                capture_output=True, text=True, timeout=60, env={**os.environ, **DEMO_ENV}, check=True,
            )  # fmt: skip
            assert "The daemon is running. Next digest check: " in status.stderr
            process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=10)
            assert process.returncode == 0, err
    assert len(inbox.messages) == 1
    assert inbox.messages[0]["To"] == "social@test"
