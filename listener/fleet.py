"""Where the daemon keeps its data, and who of a fleet runs which job (#22).

A SQLite file has one daemon (``listener.lock.DaemonLock`` beside it) and every job is its
own: ``Alone`` grants every lease. A PostgreSQL server may have several daemons on several
machines: before a job runs, its daemon takes the job's lease (``storage.pg.leases``), keeps
it while working (``Holding.keep``, between pages) and lets it go at the end; a daemon that
dies leaves leases that expire after ``[database] lease_seconds``, and its jobs go to the
others.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from listener.database_settings import DatabaseSettings, password
from listener.lock import DaemonLock
from storage.interfaces import LeaseStore, ListenerStore

__all__ = [
    "Alone",
    "Holding",
    "Leases",
    "describe",
    "holder_id",
    "lease_store",
    "lock",
    "open_store",
    "source_job",
]

log = logging.getLogger("listener.daemon")
BUSY_TIMEOUT = 60.0  # seconds a SQLite writer waits for the other worker's transaction on a slow machine

Database = Path | DatabaseSettings  # a SQLite file, or the [database] section naming a server


def holder_id() -> str:
    """This daemon among the fleet: host, pid and a random part (pids repeat across restarts)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Alone:
    """The leases of the only daemon of a SQLite file: every job is its own."""

    def take(self, job: str, holder: str, ttl: timedelta, every: timedelta = timedelta(0)) -> bool:
        return True

    def renew(self, job: str, holder: str, ttl: timedelta) -> bool:
        return True

    def release(self, job: str, holder: str) -> None:
        pass


@dataclass
class Holding:
    """A lease this daemon holds while it runs the job."""

    leases: LeaseStore
    job: str
    holder: str
    ttl: timedelta
    renewed: float = field(default_factory=time.monotonic)
    lost: bool = False

    def keep(self) -> bool:
        """Renew the lease, at most every third of it (pages can come fast); False once it is lost.

        Lost means another daemon took the job after this one let the lease expire (a page
        slower than the lease): the caller stops working on it.
        """
        if self.lost or time.monotonic() - self.renewed < self.ttl.total_seconds() / 3:
            return not self.lost
        if self.leases.renew(self.job, self.holder, self.ttl):
            self.renewed = time.monotonic()
        else:
            self.lost = True
            log.warning(
                "%s: another daemon took it after this one's lease expired; stopping it here "
                "(raise [database] lease_seconds above the slowest page)",
                self.job,
            )
        return not self.lost


@dataclass
class Leases:
    """Leases taken on one connection (each worker thread has its own) for this daemon."""

    store: LeaseStore
    holder: str
    ttl: timedelta

    @contextmanager
    def hold(
        self, job: str, every: timedelta = timedelta(0), at_least: timedelta = timedelta(0)
    ) -> Iterator[Holding | None]:
        """The job's lease while the block runs, or None if another daemon holds it or ran it within ``every``.

        ``at_least`` lengthens the lease of a job that cannot renew it as it goes (the digest).
        """
        ttl = max(self.ttl, at_least)
        if not self.store.take(job, self.holder, ttl, every):
            yield None
            return
        holding = Holding(self.store, job, self.holder, ttl)
        try:
            yield holding
        finally:
            if not holding.lost:
                self.store.release(job, self.holder)


def open_store(database: Database, env: Mapping[str, str]) -> tuple[ListenerStore, LeaseStore]:
    """A connection to the daemon's store, and the leases taken on it."""
    if isinstance(database, Path):
        from storage import Store

        return Store.open(database, busy_timeout=BUSY_TIMEOUT), Alone()
    from storage.pg.store import PgStore

    assert database.url is not None  # a DatabaseSettings reaches the daemon only with a url
    store = PgStore.open(database.url, password(database, env))
    return store, lease_store(store)


def lease_store(store: ListenerStore) -> LeaseStore:
    """The leases of an open store: a server's fleet shares them; a SQLite file has one writer."""
    from storage.pg.leases import PgLeases
    from storage.pg.store import PgStore

    return PgLeases(store.conn) if isinstance(store, PgStore) else Alone()


def lease_ttl(database: Database) -> timedelta:
    """How long a lease lasts: ``[database] lease_seconds`` on a server; a file's one daemon never loses one."""
    return timedelta(seconds=database.lease_seconds if isinstance(database, DatabaseSettings) else 300)


def source_job(network: str, name: str) -> str:
    """A source's job: the scheduler's job id, and its lease's name."""
    return f"collect:{network}:{name}"


def lock(database: Database) -> DaemonLock | None:
    """One daemon per SQLite file; a server's daemons share it through leases instead."""
    return DaemonLock(database) if isinstance(database, Path) else None


def describe(database: Database) -> str:
    """For the log: the file, or the server's URL (which never holds a password)."""
    return str(database) if isinstance(database, Path) else str(database.url)
