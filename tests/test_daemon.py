"""``listener run`` as a real process against the local wire-format servers.

It is killed with SIGKILL at random moments while the servers keep producing
posts, stopped with SIGTERM, and started twice on one database.
"""

from __future__ import annotations

import itertools
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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from listener.demo import script
from listener.demo.__main__ import DEMO_ENV
from listener.demo.redditserver import RedditServer
from listener.demo.xserver import XServer
from listener.records import utcnow
from storage import Store


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

    def daemon(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        command = [sys.executable, "-m", "listener.cli", "--config", str(self.config), "run", *args]
        process = subprocess.Popen(
            command, env={**os.environ, **DEMO_ENV, **(env or {})}, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
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
    # The schema first: on a busy machine every kill may land before a daemon gets that far.
    Store.open(world.db).close()
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


def test_sigterm_stops_cleanly_once_the_running_page_is_stored(world: World) -> None:
    process = world.daemon("--interval", "0.5")
    assert wait_for(lambda: world.query("SELECT count(*) FROM jobs")[0][0] > 0, 60), process.stderr
    assert wait_for(
        lambda: world.query("SELECT count(*) FROM runs WHERE finished_at IS NOT NULL")[0][0] > 3, 60
    )
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    after = err.split("stopping: letting the running job finish its page")[1]
    # Runs queued behind the running one do not start: at most that one finishes after the signal.
    assert after.count(": fetched ") <= 1, after
    assert after.rstrip().endswith("stopped")
    assert world.query("PRAGMA integrity_check") == [("ok",)]
    assert world.query("SELECT count(*) FROM runs WHERE finished_at IS NULL") == [(0,)]
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


def test_driven_step_by_step_each_step_runs_on_the_given_time(world: World) -> None:
    start = utcnow().replace(microsecond=0)
    steps = [start, start + timedelta(minutes=30)]
    process = world.daemon("--steps")
    out, err = process.communicate("".join(f"{t.isoformat()}\n" for t in steps), timeout=300)
    assert process.returncode == 0, err
    assert out.splitlines() == [f"step {t.isoformat()} done" for t in steps]
    # Every run started at its step's time, not the wall clock's: the steps wait for the work.
    started = {row[0] for row in world.query("SELECT DISTINCT started_at FROM runs")}
    assert started == {t.isoformat() for t in steps}
    assert world.query("SELECT count(*) FROM mentions WHERE sentiment_label IS NULL") == [(0,)]
    assert world.query("SELECT count(*) FROM mentions")[0][0] > 0
    bad = world.daemon("--steps")
    _, err = bad.communicate("tomorrow\n", timeout=300)
    assert bad.returncode == 1
    assert err == "Error: --steps: 'tomorrow' is not a time; give one ISO time with a zone per line\n"


class HeldWebhook:
    """A webhook endpoint that holds each request until released, as a slow receiver does.

    It answers the status line at once and then one header line a second, so the
    client's read timeout never fires however long the test holds it.
    """

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        held = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                held.arrived.set()
                self.send_response(200)
                while not held.release.wait(1.0):
                    self.send_header("X-Held", "1")
                    self.flush_headers()
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


FINISHED_RUNS = "SELECT count(*) FROM runs WHERE finished_at IS NOT NULL"
DELIVERED = "SELECT count(*) FROM deliveries WHERE delivered_at IS NOT NULL"


def test_collection_goes_on_while_the_cycle_is_held_up_and_the_skips_are_logged_once(world: World) -> None:
    hook = HeldWebhook()
    # Reddit refuses the secret: three refusals open a critical health alert, sent to the held webhook.
    world.config.write_text(
        world.config.read_text().replace('stream_subreddits = ["italy"]', 'client_secret_env = "WRONG"')
        + '\n[alerts]\nchannels = ["webhook"]\n',
        encoding="utf-8",
    )
    try:
        process = world.daemon("--interval", "0.5", env={"WRONG": "nope", "LISTENER_WEBHOOK_URL": hook.url})
        assert hook.arrived.wait(120), "no alert reached the webhook"
        held_at = world.query(FINISHED_RUNS)[0][0]
        # The analysis worker waits on the webhook; the sources are still read.
        assert wait_for(lambda: world.query(FINISHED_RUNS)[0][0] >= held_at + 6, 120)
        hook.release.set()
        assert wait_for(lambda: world.query(DELIVERED)[0][0] > 0, 60)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        hook.close()
    assert process.returncode == 0, err
    assert "maximum number of running instances" not in err
    # One line per streak of skips: between two skip lines, a cycle ran (a fast machine may
    # also skip once while the first cycle loads the model, before the hold).
    skip, ran = "cycle: run skipped, the previous one is still running", "alert changes"
    events = [line for line in err.splitlines() if skip in line or ran in line]
    assert any(skip in line for line in events), err[-3000:]
    assert all(not (skip in a and skip in b) for a, b in itertools.pairwise(events)), err[-3000:]
