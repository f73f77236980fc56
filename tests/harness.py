"""One harness per network, so that the same fault scenarios run against every collector.

Each ``tests/harness_<network>.py`` has ``make(clock) -> Harness``: its local
wire-format server, started, and settings that point at it. ``test_faults.py``
drives them all through the real runner into a real SQLite file.
"""

from __future__ import annotations

import importlib
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import collectors
from collectors.base import NetworkSettings
from listener.demo.wire import WireServer

__all__ = ["Clock", "Harness", "harness", "statements", "vm_steps"]


class Clock:
    """A clock the test moves by hand; the servers and the runner share it."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Harness:
    """A network's local server and how to reach it.

    ``settings`` must point at ``server``, retry without backoff, and use a small
    page (``page_size`` mentions, 2 where the API allows), so that a few posts
    span several requests. ``page_path`` is the path prefix of the requests a
    walk makes (faults aimed mid-walk). ``source`` is the watch or feed the
    scenarios collect: a feed for networks without search.
    ``credential`` is the variable whose absence gives an auth error, ``None``
    for a keyless network; ``secret`` is a value that must never be logged or stored.
    """

    network: str
    server: WireServer
    settings: NetworkSettings
    page_path: str
    env: dict[str, str] = field(default_factory=dict)
    credential: str | None = None
    secret: str | None = None
    reject_credential: Callable[[], Any] | None = None  # make the server refuse the credential
    page_size: int = 2
    source: str = "brand"

    def post(self, text: str, at: datetime, author: str = "giulia") -> str:
        return self.server.add_mention(author, text, at)  # type: ignore[attr-defined,no-any-return]


def harness(network: str, clock: Callable[[], datetime]) -> Harness:
    module = importlib.import_module(f"tests.harness_{network}")
    made: Harness = module.make(clock)
    assert made.network == network and made.network in collectors.REGISTRY
    return made


@contextmanager
def statements(conn: sqlite3.Connection) -> Iterator[list[str]]:
    """Every statement the connection runs meanwhile, with its values bound (triggers' left out)."""
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        conn.set_trace_callback(None)


def vm_steps(conn: sqlite3.Connection, call: Callable[[], object]) -> int:
    """SQLite virtual-machine steps ``call`` costs on ``conn``: work counted without a clock."""
    steps = [0]

    def tick() -> int:
        steps[0] += 1
        return 0

    conn.set_progress_handler(tick, 1)
    try:
        call()
    finally:
        conn.set_progress_handler(None, 1)
    return steps[0]
