"""A broken database file, folder or disk: every command says so in one line, never a traceback.

The files are real: a database damaged byte by byte, cut short, replaced, locked
by another connection, on a read-only mount, on a full disk (a small tmpfs in a
mount namespace), made immutable. Mounts need ``unshare``; without it the test
skips with the reason, and fails under CI.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from listener.cli import cli
from listener.model import Mention, Page
from storage import Store

PAGE = 4096
COMMANDS = [
    ["status"], ["watches"], ["authors"], ["alerts"], ["search", "aurora"], ["sql", "select count(*) from mentions"],
    ["digest", "--date", "2026-11-20"], ["alerts", "ack", "1"], ["forget", "x", "mario", "--yes"], ["collect"],
]  # fmt: skip
CONFIG = """\
[database]
path = "listener.db"

[[watches]]
name = "brand"
query = "aurora"

[networks.hackernews]
api_base_url = "http://127.0.0.1:9"
retry_attempts = 1
"""


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def one_line_error(result: Result) -> str:
    """The result must be a clean failure: exit 1, one ``Error:`` line, no traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config and a database with a few mentions and an alert, cleanly closed (no -wal left)."""
    path = tmp_path / "listener.toml"
    path.write_text(CONFIG, encoding="utf-8")
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    with Store.open(tmp_path / "listener.db") as store:
        store.sync_watches([("brand", "aurora")])
        mentions = [
            Mention("x", str(i), f"Caffè Aurora {i} " + "pieno di parole " * 40, now - timedelta(minutes=i),
                    author_handle="mario")
            for i in range(400)
        ]  # fmt: skip
        store.save_page(Page("x", "brand", mentions, matches={m.native_id: ["brand"] for m in mentions}))
    return path


def damage(db: Path, how: str) -> None:
    data = bytearray(db.read_bytes())
    if how == "corrupted":  # the header and schema page stay; every other page is noise
        noise = os.urandom(len(data) - PAGE)
        data[PAGE:] = noise
        db.write_bytes(bytes(data))
    elif how == "truncated":
        db.write_bytes(bytes(data[: len(data) // 3]))
    elif how == "not SQLite":
        db.write_text("id,text\n1,this is a CSV file\n", encoding="utf-8")


@pytest.mark.parametrize("how", ["corrupted", "truncated", "not SQLite"])
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_damaged_database_is_one_line(config: Path, how: str, command: list[str]) -> None:
    damage(config.parent / "listener.db", how)
    line = one_line_error(invoke(config, *command))
    assert str(config.parent / "listener.db") in line
    fix = {"corrupted": "restore it from a backup", "truncated": "restore it from a backup",
           "not SQLite": "point --db (or database.path) at a listener database"}[how]  # fmt: skip
    if how != "truncated" or "malformed" in line:
        assert fix in line


def test_a_locked_database_waits_then_says_who_to_wait_for(config: Path) -> None:
    holder = sqlite3.connect(config.parent / "listener.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        line = one_line_error(invoke(config, "alerts", "ack", "1"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "database is locked; another process is writing: wait for it or stop it, then retry" in line


def test_a_bad_database_path_names_the_config_key(tmp_path: Path) -> None:
    config = tmp_path / "listener.toml"
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    config.write_text(CONFIG.replace('path = "listener.db"', 'path = "a-file/listener.db"'), encoding="utf-8")
    line = one_line_error(invoke(config, "status"))
    assert f"(database.path in {config})" in line and "a-file/listener.db" in line


def test_new_database_config_and_lock_files_are_private(tmp_path: Path) -> None:
    config = tmp_path / "brand" / "listener.toml"
    assert invoke(config, "init").exit_code == 0
    db = config.parent / "listener.db"
    with Store.open(db) as store:  # a write makes the -wal and -shm files
        store.sync_watches([("other", "x")])
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in config.parent.iterdir()}
    assert modes["listener.toml"] == modes["listener.db"] == modes["listener.db-wal"] == 0o600, modes
    from listener.lock import DaemonLock

    lock = DaemonLock(db)
    lock.acquire()
    try:
        assert stat.S_IMODE(lock.path.stat().st_mode) == 0o600
    finally:
        lock.release()
    unit = Path(__file__).parents[1] / "contrib" / "listener.service"
    assert "\nUMask=0077\n" in unit.read_text(encoding="utf-8")  # and what the daemon makes later, too


# -- mounts and attributes: a real read-only mount, a real full disk ---------------


def _can_unshare() -> bool:
    if not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode == 0


def cannot(reason: str) -> None:
    """This machine lacks what the test needs: a skip with the reason, a failure under CI (which has it)."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)


@pytest.fixture
def namespace() -> Iterator[list[str]]:
    """The prefix that runs a shell as root of its own mount namespace."""
    if not _can_unshare():
        cannot("needs 'unshare -rm' (user and mount namespaces) to mount a read-only folder and a tiny disk")
    yield ["unshare", "-rm", "sh", "-ec"]


def run_in(
    namespace: list[str], setup: str, config: Path, commands: list[list[str]]
) -> list[tuple[int, str, str]]:
    """Each command as a real ``listener`` process after ``setup`` (mounts), in one namespace.

    Returns (exit code, the last line of stderr, stdout on one line) per command; no stderr may
    hold a traceback (a progress bar may come before the error line).
    """
    listener = Path(sys.executable).with_name("listener")
    script = [setup]
    for command in commands:
        args = " ".join(f"'{a}'" for a in command)
        script.append(
            f"set +e; {listener} --config '{config}' {args} >out 2>err; "
            'echo "$?|$(grep -c Traceback err)|$(tr "\\r|" "\\n " <err | tail -n 1)|$(tr "\\n|" "  " <out)"; set -e'
        )
    done = subprocess.run(
        [*namespace, "\n".join(script)], capture_output=True, text=True, cwd=config.parent.parent
    )
    assert done.returncode == 0, done.stderr
    results = []
    for line in done.stdout.splitlines():
        code, tracebacks, err, out = line.split("|")
        assert tracebacks == "0", line
        results.append((int(code), err.strip(), out.strip()))
    return results


def test_a_read_only_mount_can_be_read_and_says_why_it_cannot_be_written(
    namespace: list[str], config: Path
) -> None:
    folder = config.parent
    setup = f"mount --bind '{folder}' '{folder}'; mount -o remount,ro,bind '{folder}'"
    reads = [["--db", str(folder / "listener.db"), "sql", "select count(*) from mentions"], ["search", "aurora"],
             ["status"]]  # fmt: skip
    writes = [["alerts", "ack", "1"], ["collect"]]
    results = run_in(namespace, setup, config, reads + writes)
    assert [code for code, _, _ in results[:3]] == [0, 0, 0], results
    for code, err, _ in results[3:]:
        assert code == 1 and err.startswith("Error: ") and "Traceback" not in err, err
        assert "the database cannot be written here: check the file's permissions and the mount" in err


def test_a_full_disk_is_named_and_loses_nothing(namespace: list[str], config: Path, tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    size = (config.parent / "listener.db").stat().st_size + 64 * 1024
    setup = (
        f"mount -t tmpfs -o size={size} tmpfs '{disk}'; cp '{config.parent}/listener.db' '{config}' '{disk}/'; "
        f"dd if=/dev/zero of='{disk}/filler' bs=1024 2>/dev/null || true"
    )
    count = ["--db", str(disk / "listener.db"), "sql", "select count(*) AS n from mentions", "--csv"]
    results = run_in(namespace, setup, disk / "listener.toml",
                     [["forget", "x", "mario", "--yes"], ["collect"], ["init", "--force"], count])  # fmt: skip
    for code, err, _ in results[:3]:
        assert code == 1 and err.startswith("Error: ") and "Traceback" not in err, err
        assert "the disk is full" in err or "No space left on device" in err, err
    assert results[3] == (0, "", "n 400"), results[3]


def test_an_immutable_database_can_be_read_and_says_why_it_cannot_be_written(config: Path) -> None:
    db = config.parent / "listener.db"
    if os.geteuid() != 0 or subprocess.run(["chattr", "+i", str(db)], capture_output=True).returncode != 0:
        cannot("needs root and a file system with the immutable attribute (chattr +i)")
    try:
        found = CliRunner().invoke(cli, ["--db", str(db), "sql", "select count(*) from mentions", "--csv"])
        assert found.exit_code == 0 and "400" in found.output, found.output
        line = one_line_error(invoke(config, "alerts", "ack", "1"))
        assert "cannot be written here" in line or "unable to open" in line
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=True)
