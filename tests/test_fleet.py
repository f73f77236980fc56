"""Three ``listener run`` daemons on one PostgreSQL store, one killed with SIGKILL mid-run (#22).

The X wire server keeps producing posts for four watches and a feed while three daemons
share the sources through leases (``[database] lease_seconds``, short here). The first
request for the ``gate`` watch is held at the server until the test has killed the daemon
that made it: a daemon killed in the middle of a run, its lease still held. Then:

- every produced post is stored, once, with no edit recorded, and no run failed;
- each source was held by one daemon at a time (the holdings in ``lease_log`` never
  overlap), and every run in ``runs`` had its holding;
- the killed daemon's source went to another daemon after its lease had expired;
- yesterday's digest, due as the daemons start, was sent once.

Nothing waits on the wall clock: the test waits for events (the held request, rows
appearing), each with a generous timeout.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from listener.demo import script
from listener.demo.__main__ import DEMO_ENV
from listener.demo.wire import Reply, Request
from listener.demo.xserver import XServer
from listener.records import utcnow
from storage.pg.leases import PgLeases
from storage.pg.store import PgStore
from tests.servers import Inbox, smtp_server

WORDS = {"brand": "Caffè Aurora", "gate": "gelato", "espresso": "espresso", "cornetto": "cornetto"}
LEASE_SECONDS = 3
PATIENCE = 90.0  # seconds to wait for any one event on a busy machine; never a pass/fail timing


class GatedX(XServer):
    """X, except that the first search for the gate watch waits until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__(token=DEMO_ENV["X_BEARER_TOKEN"], rate_limit=1_000_000)
        self.held = threading.Event()  # the gated request has arrived
        self.gate = threading.Event()

    def dispatch(self, request: Request) -> Reply | None:
        if WORDS["gate"] in request.params.get("query", ""):
            with self.lock:
                first = not self.held.is_set()
                self.held.set()
            if first:
                self.gate.wait(PATIENCE)
        return super().dispatch(request)


@dataclass
class Fleet:
    x: GatedX
    inbox: Inbox
    url: str
    folder: Path
    produced: list[str] = field(default_factory=list)
    running: threading.Event = field(default_factory=threading.Event)
    daemons: list[subprocess.Popen[str]] = field(default_factory=list)

    def produce(self) -> None:
        """Post about every watch and to the brand's account, as people do, until stopped."""
        rng = random.Random(22)
        while self.running.is_set():
            word = rng.choice([*WORDS.values(), f"@{script.BRAND_ACCOUNT}"])
            with self.x.lock:
                post = self.x.add_post(
                    f"fan{rng.randint(1, 50)}", f"{word} post {len(self.produced)}", utcnow()
                )
            self.produced.append(post)
            time.sleep(0.05)

    def start(self, n: int, *args: str) -> subprocess.Popen[str]:
        """Daemon ``n``, its output in a file (a pipe left unread would fill and stop it)."""
        log = (self.folder / f"daemon{n}.log").open("w", encoding="utf-8")
        cli = [sys.executable, "-m", "listener.cli", "--config", str(self.folder / "listener.toml")]
        command = [*cli, "run", *(args or ("--interval", "0.5"))]
        process = subprocess.Popen(
            command, env={**os.environ, **DEMO_ENV}, text=True, stdin=subprocess.DEVNULL,
            stdout=log, stderr=log,
        )  # fmt: skip
        log.close()
        self.daemons.append(process)
        return process

    def query(self, sql: str) -> list[tuple[object, ...]]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(sql).fetchall()

    def logs(self) -> str:
        return "\n".join(
            path.read_text(encoding="utf-8")[-3000:] for path in sorted(self.folder.glob("daemon*"))
        )


def write_config(folder: Path, x_url: str, postgres_url: str, smtp_port: int) -> None:
    watches = "".join(
        f'[[watches]]\nname = "{name}"\nquery = \'"{word}"\'\n\n' for name, word in WORDS.items()
    )
    (folder / "listener.toml").write_text(
        f"""[database]
url = "{postgres_url}"
lease_seconds = {LEASE_SECONDS}

{watches}[networks.x]
api_base_url = "{x_url}"
accounts = ["{script.BRAND_ACCOUNT}"]
retry_backoff_seconds = 0.2
timeout_seconds = {PATIENCE:g}

[email]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
sender = "listener@test"
recipients = ["social@test"]

[digest]
time = "00:00"
""",
        encoding="utf-8",
    )


@pytest.fixture
def fleet(tmp_path: Path, postgres_url: str) -> Iterator[Fleet]:
    with GatedX() as x, smtp_server() as (inbox, port):
        x.add_user(script.BRAND_ACCOUNT)
        write_config(tmp_path, x.url, postgres_url, port)
        fleet = Fleet(x, inbox, postgres_url, tmp_path)
        try:
            yield fleet
        finally:
            fleet.running.clear()
            x.gate.set()
            for process in fleet.daemons:  # no daemon outlives its test, whatever its outcome
                if process.poll() is None:
                    process.kill()
                    process.wait(timeout=30)


def until(predicate: Callable[[], object], what: str, fleet: Fleet) -> None:
    deadline = time.monotonic() + PATIENCE
    while not predicate():
        assert time.monotonic() < deadline, f"waited {PATIENCE:g}s for {what}; logs:\n{fleet.logs()}"
        time.sleep(0.1)


def overlaps(holdings: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """Consecutive holdings of one job where the next began before the previous ended."""
    found = []
    for before, after in itertools.pairwise(holdings):
        if before[0] == after[0]:
            ended = before[4] or before[3]  # released, else its lease's last expiry
            assert isinstance(ended, datetime) and isinstance(after[2], datetime)
            if after[2] < ended:
                found.append((before, after))
    return found


def test_three_daemons_share_the_sources_and_survive_a_sigkill(fleet: Fleet) -> None:
    fleet.running.set()
    producer = threading.Thread(target=fleet.produce, daemon=True)
    producer.start()
    for n in range(3):
        fleet.start(n)
    assert fleet.x.held.wait(PATIENCE), fleet.logs()
    # Sent before the kill: a daemon killed while sending holds the digest's lease for 15 minutes.
    until(lambda: fleet.query("SELECT count(*) FROM digests") == [(1,)], "yesterday's digest", fleet)
    # The gated request is the first run of the gate watch: the first holding of its lease.
    until(
        lambda: fleet.query("SELECT 1 FROM lease_log WHERE job = 'collect:x:gate'"), "the gate's lease", fleet
    )
    victim = str(
        fleet.query("SELECT holder FROM lease_log WHERE job = 'collect:x:gate' ORDER BY id LIMIT 1")[0][0]
    )
    process = next(p for p in fleet.daemons if f":{p.pid}:" in victim)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    fleet.x.gate.set()
    survivors = [p for p in fleet.daemons if p is not process]

    def gate_taken_over() -> bool:
        sql = f"SELECT 1 FROM lease_log WHERE job = 'collect:x:gate' AND holder <> '{victim}' AND released_at IS NOT NULL"
        return bool(fleet.query(sql))

    until(gate_taken_over, "another daemon to collect the gate watch", fleet)
    fleet.running.clear()
    producer.join()
    stored = "SELECT native_id FROM mentions WHERE network = 'x'"
    until(
        lambda: set(fleet.produced) <= {r[0] for r in fleet.query(stored)}, "every post to be stored", fleet
    )
    for survivor in survivors:
        survivor.send_signal(signal.SIGTERM)
    for survivor in survivors:
        assert survivor.wait(timeout=PATIENCE) == 0, fleet.logs()

    native_ids = [r[0] for r in fleet.query(stored)]
    assert len(native_ids) == len(set(native_ids)) == len(fleet.produced)
    assert fleet.query("SELECT count(*) FROM mention_versions") == [(0,)]  # nothing saved twice as an edit
    holdings = fleet.query(
        "SELECT job, holder, taken_at, held_until, released_at FROM lease_log ORDER BY job, id"
    )
    assert overlaps(holdings) == []
    assert len({h[1] for h in holdings}) >= 2  # the work was shared
    assert len(fleet.inbox.messages) == 1  # three daemons checked, one sent: once per day and recipients
    collects = [h for h in holdings if str(h[0]).startswith("collect:")]
    # Two daemons saving pages at once never fail (a deadlock would be retried by the next run,
    # but recorded as a failing source and seen by the health alerts).
    assert fleet.query("SELECT watch, error_message FROM runs WHERE error IS NOT NULL") == []
    runs = fleet.query("SELECT count(*), count(finished_at) FROM runs")
    assert runs == [(len(collects), len(collects) - 1)]  # one run per holding; the killed one never ended
    gate = [h for h in holdings if h[0] == "collect:x:gate"]
    assert gate[0][1] == victim and gate[0][4] is None  # held when killed: never released
    assert gate[1][1] != victim and gate[1][2] >= gate[0][3]  # taken once the lease had expired
    # Every daemon left a clean store: no lease held after the survivors stopped.
    assert (
        fleet.query("SELECT job FROM leases WHERE held_until IS NOT NULL AND holder <> '" + victim + "'")
        == []
    )


def test_a_daemon_leaves_the_source_another_daemon_holds(fleet: Fleet) -> None:
    """``listener run --once`` beside a fleet: every source but the one held elsewhere, each lease released."""
    fleet.x.gate.set()
    for word in WORDS.values():
        fleet.x.add_post("fan1", f"{word} post", utcnow())
    with PgStore.open(fleet.url) as store:
        assert PgLeases(store.conn).take("collect:x:gate", "elsewhere:1:abc", timedelta(hours=1))
    once = fleet.start(0, "--once")
    assert once.wait(timeout=PATIENCE) == 0, fleet.logs()
    assert fleet.query("SELECT watch FROM runs WHERE watch = 'gate'") == []
    assert {r[0] for r in fleet.query("SELECT watch FROM runs")} == {*WORDS} - {"gate"} | {
        f"@{script.BRAND_ACCOUNT}",
        f"posts:@{script.BRAND_ACCOUNT}",
    }
    assert fleet.query("SELECT job, holder FROM leases WHERE held_until IS NOT NULL") == [
        ("collect:x:gate", "elsewhere:1:abc")
    ]


def test_listener_collect_by_hand_leaves_what_the_fleet_holds(fleet: Fleet) -> None:
    """``listener collect`` beside a fleet: the held source and the held alert pass are skipped, said so."""
    fleet.x.gate.set()
    for word in WORDS.values():
        fleet.x.add_post("fan1", f"{word} post", utcnow())
    with PgStore.open(fleet.url) as store:
        leases = PgLeases(store.conn)
        assert leases.take("collect:x:gate", "elsewhere:1:abc", timedelta(hours=1))
        assert leases.take("cycle", "elsewhere:1:abc", timedelta(hours=1))
    cli = [sys.executable, "-m", "listener.cli", "--config", str(fleet.folder / "listener.toml")]
    done = subprocess.run(
        [*cli, "collect", "--json"], env={**os.environ, **DEMO_ENV}, capture_output=True, text=True,
        timeout=PATIENCE,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = {row["watch"]: row for row in json.loads(done.stdout)}
    assert rows["gate"]["error"] == "waiting" and rows["gate"]["fetched"] == 0
    assert "Note: collect:x:gate: a daemon is collecting it now; skipped" in done.stderr
    assert all(row["error"] == "" for name, row in rows.items() if name != "gate")
    assert "a daemon is running the alert pass now; skipped here" in done.stderr
    assert fleet.query("SELECT watch FROM runs WHERE watch = 'gate'") == []
    assert fleet.query("SELECT count(*) FROM mentions WHERE sentiment_label IS NOT NULL") == [(0,)]
    assert fleet.query("SELECT job, holder FROM leases WHERE held_until IS NOT NULL ORDER BY job") == [
        ("collect:x:gate", "elsewhere:1:abc"),
        ("cycle", "elsewhere:1:abc"),
    ]
