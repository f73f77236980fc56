"""A throwaway PostgreSQL server for the tests, started by the tests themselves (#22).

``initdb`` into a fresh temporary folder and ``pg_ctl start`` listening only on a unix
socket in that folder (no TCP port, so nothing to collide with), trust authentication,
``fsync`` off: a test server, gone at the end of the session. PostgreSQL refuses to run as
root, and CI runs as root: then the folder belongs to the ``postgres`` user and every
server command runs through ``runuser -u postgres --``; the tests (root) connect through
the socket as that user. The folder is made with ``tempfile.mkdtemp`` (a short path: a
socket path has a 107-byte limit, and pytest's own tmp folders are private to root).

Where PostgreSQL's binaries are missing (a newcomer's clone) the tests that need the
server are skipped with one reason; under CI, which installs them (``.ci/run``), they
fail (``tests.material.unavailable``).

Fixtures: ``postgres_server`` (one server per session) and ``postgres_url`` (a new, empty
database on it for each test, so no test sees another's rows).
"""

from __future__ import annotations

import getpass
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.material import unavailable

__all__ = ["PostgresServer", "find_bindir", "postgres_server", "postgres_url"]

_databases = itertools.count(1)


def find_bindir() -> Path | None:
    """The newest Debian PostgreSQL's binaries, $LISTENER_PG_BIN, or those on PATH."""
    if env := os.environ.get("LISTENER_PG_BIN"):
        return Path(env)
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name),
        reverse=True,
    )
    if found:
        return found[0].parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


@dataclass(frozen=True)
class PostgresServer:
    """A running test server: its binaries, folder (data/, the socket, server.log) and superuser."""

    bindir: Path
    folder: Path
    user: str

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A PostgreSQL program, as the server's user (never root) and checked."""
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    def url(self, database: str) -> str:
        """A libpq URL of ``database`` through the server's socket (the host is its folder)."""
        return f"postgresql://{self.user}@/{database}?host={quote(str(self.folder), safe='')}"

    def create_database(self) -> str:
        name = f"test_{os.getpid()}_{next(_databases)}"
        self.run("createdb", "-h", str(self.folder), "-U", self.user, name)
        return name


def start(bindir: Path) -> PostgresServer:
    """initdb and start a server listening only on a unix socket in a new folder."""
    folder = Path(tempfile.mkdtemp(prefix="listener-pg-"))
    if os.geteuid() == 0:
        user = "postgres"
        shutil.chown(folder, user, user)
    else:
        user = getpass.getuser()
    server = PostgresServer(bindir, folder, user)
    data = folder / "data"
    server.run(
        "initdb", "-D", str(data), "-U", user, "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"
    )
    options = f"-k {folder} -c listen_addresses='' -F"
    try:
        server.run("pg_ctl", "-D", str(data), "-l", str(folder / "server.log"), "-w", "-o", options, "start")
    except subprocess.CalledProcessError as exc:
        log = (folder / "server.log").read_text(errors="replace") if (folder / "server.log").exists() else ""
        raise RuntimeError(f"PostgreSQL did not start: {exc.stderr}\n{log}") from exc
    return server


def stop(server: PostgresServer) -> None:
    server.run("pg_ctl", "-D", str(server.folder / "data"), "-m", "immediate", "-w", "stop")
    shutil.rmtree(server.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = find_bindir()
    if bindir is None or not (bindir / "initdb").is_file():
        unavailable("PostgreSQL not found (Debian: apt-get install postgresql; or set LISTENER_PG_BIN)")
    server = start(bindir)
    try:
        yield server
    finally:
        stop(server)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    return postgres_server.url(postgres_server.create_database())
