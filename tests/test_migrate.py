"""``listener migrate --to``: a SQLite database moved into PostgreSQL, whole, resumable, verified (#22).

The source is the demo's database (every network, a crisis, its alerts, digests and clusters)
copied, with what the demo does not make added through the store: an edit (a version), a
deleted mention, rejects, triage decisions and a handle in capitals. The target is a fresh
database on the tests' own PostgreSQL (tests/postgres.py).
"""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result

from listener.cli import cli
from listener.errors import StorageError
from listener.model import Mention, Page, Reject
from listener.query import parse
from listener.records import utc_iso
from listener.tokens import handle_key
from storage import SearchFilters, Store
from storage.pg import connect
from storage.pg.copy import DERIVED, LEDGER, TABLES, copy_tables, plan
from storage.pg.failures import url_name
from storage.pg.store import PgStore
from tests.material import Demo

ROOT = Path(__file__).resolve().parents[1]
SECRET = "pw-Zq81-never-shown"


@pytest.fixture
def source(demo: Demo, tmp_path: Path) -> Path:
    """A copy of the demo's database, with versions, deletions, rejects, triage and odd handles added."""
    assert demo.returncode == 0, demo.stderr
    path = tmp_path / "source.db"
    shutil.copy(demo.folder / "demo.db", path)
    with Store.open(path, create=False) as store:
        network, native_id, created = store.conn.execute(
            "SELECT network, native_id, created_at FROM mentions ORDER BY id LIMIT 1"
        ).fetchone()
        watch = store.conn.execute("SELECT name FROM watches ORDER BY id LIMIT 1").fetchone()[0]
        edited = Mention(network, native_id, "testo corretto, «è» cambiato", datetime.fromisoformat(created))
        odd = Mention(
            "x", "migrate-1", "Überraschung! 🎉 caffè", datetime.fromisoformat(created), author_handle="@ÄnnaMüller",
            raw={"z": 1, "a": {"k": [1, 2.5, None]}, "text": "é"},
        )  # fmt: skip
        rejects = [Reject("x", "no text", {"id": "migrate-bad"}, "migrate-bad")]
        store.save_page(Page("x", watch, [odd], matches={"migrate-1": [watch]}, rejects=rejects))
        store.save_page(Page(network, watch, [edited]))
        store.mark_deleted("x", ["migrate-1"])
        ids = [r[0] for r in store.conn.execute("SELECT id FROM mentions ORDER BY id LIMIT 5")]
        store.triage.set(ids[:3], "handled", "risposto")
        store.triage.set(ids[3:], "escalated")
    return path


def move(path: Path, url: str, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner(env=env).invoke(cli, ["--db", str(path), "migrate", "--to", url, *args])


def counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in TABLES if t in tables}
    finally:
        conn.close()


def pg_count(url: str, table: str) -> int:
    with connect(url) as conn:
        row = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()
        return int(row[0]) if row else -1


def copied_rows(result: Result) -> int:
    line = next(line for line in result.stderr.splitlines() if line.startswith("Copied "))
    return int(line.split()[1].replace(",", ""))


def test_a_demo_database_moves_whole_and_verified(source: Path, postgres_url: str) -> None:
    result = move(source, postgres_url)
    assert result.exit_code == 0, result.output
    assert "Verified" in result.stderr
    with connect(postgres_url) as conn:
        planned = [p.table for p in plan(sqlite3.connect(source), conn)]
    assert {"mentions", "mention_versions", "mention_watches", "watches", "runs", "rejects"} <= set(planned)
    expected = counts(source)
    assert {t: pg_count(postgres_url, t) for t in planned} == {t: expected[t] for t in planned}
    assert copied_rows(result) == sum(expected[t] for t in planned)
    for table in planned:  # one line per table, its rows on both sides, same
        line = next(line for line in result.stdout.splitlines() if line.startswith(f"{table} "))
        assert line.split()[1:] == [str(expected[table]), str(expected[table]), line.split()[3], "yes"]
    with Store.open(source, create=False) as sqlite_store, PgStore.open(postgres_url) as pg:
        rows = sqlite_store.conn.execute(
            "SELECT id, network, native_id, text, created_at FROM mentions"
        ).fetchall()
        theirs = pg.conn.execute("SELECT id, network, native_id, text, created_at FROM mentions").fetchall()
        assert sorted(rows) == sorted((i, n, k, t, utc_iso(c)) for i, n, k, t, c in theirs)  # ids kept
        edited = sqlite_store.conn.execute("SELECT m.network, m.native_id FROM mention_versions v "
                                           "JOIN mentions m ON m.id = v.mention_id").fetchone()  # fmt: skip
        assert pg.versions(*edited) == sqlite_store.versions(*edited)
        assert pg.conn.execute(
            "SELECT author_handle_key, raw->'a'->'k', deleted_at IS NOT NULL FROM mentions WHERE native_id = 'migrate-1'"
        ).fetchone() == (handle_key("@ÄnnaMüller"), [1, 2.5, None], True)
        queries = [q for (q,) in sqlite_store.conn.execute("SELECT query FROM watches")] + [
            "author:ÄnnaMüller"
        ]
        for query in queries:  # the search columns were computed as save_page computes them
            ours = [h.id for h in sqlite_store.search(parse(query), SearchFilters(), 50)]
            assert ours and [h.id for h in pg.search(parse(query), SearchFilters(), 50)] == ours, query
        top = max(r[0] for r in rows)
        mention = Mention("x", "after-the-move", "nuovo", datetime.fromisoformat("2026-12-01T10:00:00+00:00"))
        pg.save_page(Page("x", "w", [mention]))  # the sequence continues after the copied ids
        new_id = pg.conn.execute("SELECT id FROM mentions WHERE native_id = 'after-the-move'").fetchone()
        assert new_id == (top + 1,)


def test_a_run_stopped_halfway_resumes_and_stores_nothing_twice(source: Path, postgres_url: str) -> None:
    batches = 0

    def stop_after_three(table: str, rows: int) -> None:
        nonlocal batches
        batches += 1
        if batches == 3:
            raise KeyboardInterrupt

    src = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True)
    with PgStore.open(postgres_url) as pg:
        with pytest.raises(KeyboardInterrupt):
            copy_tables(src, pg.conn, plan(src, pg.conn), str(source.resolve()), 100, stop_after_three)
        first = pg.conn.execute(f"SELECT sum(copied) FROM {LEDGER}").fetchone()
    assert first == (202,)  # watches (2 rows), then two batches of 100 mentions, then stopped
    assert pg_count(postgres_url, "mentions") == 200
    result = move(source, postgres_url, "--batch-size", "100")
    assert result.exit_code == 0, result.output
    expected = counts(source)
    with connect(postgres_url) as conn:
        planned = [p.table for p in plan(src, conn)]
    assert copied_rows(result) == sum(expected[t] for t in planned) - 202
    assert {t: pg_count(postgres_url, t) for t in planned} == {t: expected[t] for t in planned}
    again = move(source, postgres_url)  # finished: nothing more is copied, and it still verifies
    assert again.exit_code == 0, again.output
    assert copied_rows(again) == 0


@pytest.mark.parametrize("stop", ["client killed", "server session ended"])
def test_a_move_stopped_while_writing_resumes(source: Path, postgres_url: str, stop: str) -> None:
    """Stopped while it waits to write ``rejects`` (locked here): SIGKILL of the command, or its
    server session terminated (one line, exit 1). The tables before it are kept, the rest follows."""
    with PgStore.open(postgres_url) as pg, connect(postgres_url) as blocker:
        with blocker.transaction():
            blocker.execute("LOCK TABLE rejects IN SHARE MODE")  # reads pass, writes wait
            child = subprocess.Popen(
                [sys.executable, "-m", "listener.cli", "--db", str(source), "migrate", "--to", postgres_url,
                 "--batch-size", "100"],
                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            try:
                _wait_for_lock_wait(pg.conn, child)
                if stop == "server session ended":
                    pg.conn.execute(f"SELECT pg_terminate_backend(pid) FROM pg_locks WHERE {_WAITING}")
            finally:
                if stop == "client killed":
                    child.send_signal(signal.SIGKILL)
                _, stderr = child.communicate(timeout=120)
        done: dict[str, bool] = dict(pg.conn.execute(f"SELECT table_name, done FROM {LEDGER}").fetchall())
    if stop == "server session ended":
        assert child.returncode == 1
        assert stderr.strip().splitlines()[-1].startswith("Error: PostgreSQL database test_")
        assert "Traceback" not in stderr
    assert done["mentions"] and done["mention_watches"] and not done["rejects"]
    assert pg_count(postgres_url, "rejects") == 0
    result = move(source, postgres_url, "--batch-size", "100")
    assert result.exit_code == 0, result.output
    expected = counts(source)
    assert pg_count(postgres_url, "rejects") == expected["rejects"] > 0
    assert pg_count(postgres_url, "mentions") == expected["mentions"]


_WAITING = "NOT granted AND relation = 'rejects'::regclass"


def _wait_for_lock_wait(conn: psycopg.Connection[tuple[object, ...]], child: subprocess.Popen[str]) -> None:
    """Until the child's session waits for the lock on ``rejects`` (or the child ended: a failure)."""
    deadline = time.monotonic() + 120  # a safety net only: the wait is for an event, not a duration
    while conn.execute(f"SELECT count(*) FROM pg_locks WHERE {_WAITING}").fetchone() != (1,):
        assert child.poll() is None, "the move ended before it reached rejects"
        assert time.monotonic() < deadline, "the move never reached rejects"
        time.sleep(0.05)


def test_a_target_holding_other_data_is_refused_in_one_line(source: Path, postgres_url: str) -> None:
    with PgStore.open(postgres_url) as pg:
        pg.sync_watches([("someone-else", "their query")])
    result = move(source, postgres_url)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: {url_name(postgres_url)} already holds data (watches has rows): give an empty database"
    ]
    assert pg_count(postgres_url, "mentions") == 0
    with connect(postgres_url) as conn:
        assert conn.execute("SELECT to_regclass(%s)", (LEDGER,)).fetchone() == (None,)


def test_a_changed_row_is_a_failed_check_naming_its_table(source: Path, postgres_url: str) -> None:
    assert move(source, postgres_url).exit_code == 0
    with connect(postgres_url) as conn:
        conn.execute("UPDATE mentions SET text = 'altered' WHERE id = (SELECT min(id) FROM mentions)")
    result = move(source, postgres_url)
    assert result.exit_code == 1
    assert next(line for line in result.stdout.splitlines() if line.startswith("mentions ")).endswith("NO")
    assert "differs from source.db in mentions:" in result.stderr


def test_the_password_is_never_printed(source: Path, postgres_url: str) -> None:
    env = {"LISTENER_TEST_PG_PASSWORD": SECRET}
    done = move(source, postgres_url, "--password-env", "LISTENER_TEST_PG_PASSWORD", env=env)
    refused = move(source, postgres_url.replace("@/", f":{SECRET}@/"))
    nowhere = move(
        source,
        postgres_url.replace("/test_", "/absent_"),
        "--password-env",
        "LISTENER_TEST_PG_PASSWORD",
        env=env,
    )
    unset = move(source, postgres_url, "--password-env", "LISTENER_TEST_PG_UNSET")
    assert done.exit_code == 0, done.output
    assert (refused.exit_code, nowhere.exit_code, unset.exit_code) == (1, 1, 1)
    assert "holds a password" in refused.stderr
    assert "absent_" in nowhere.stderr and "does not exist" in nowhere.stderr
    assert "LISTENER_TEST_PG_UNSET is not set" in unset.stderr
    for result in (done, refused, nowhere, unset):
        assert SECRET not in result.output


def test_every_sqlite_table_is_copied_or_derived(tmp_path: Path, postgres_url: str) -> None:
    with Store.open(tmp_path / "fresh.db") as store:
        tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables <= set(TABLES) | DERIVED
        store.conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        with (
            PgStore.open(postgres_url) as pg,
            pytest.raises(StorageError, match="notes is neither copied nor derived"),
        ):
            plan(store.conn, pg.conn)


def test_a_row_postgresql_cannot_hold_stops_the_move_in_one_line_and_a_fix_resumes_it(
    source: Path, postgres_url: str
) -> None:
    last = "(SELECT max(id) FROM mentions)"
    with Store.open(
        source, create=False
    ) as store:  # a NUL character: SQLite keeps it, PostgreSQL's text cannot
        store.conn.execute(f"UPDATE mentions SET text = 'nul' || char(0) || 'here' WHERE id = {last}")
    result = move(source, postgres_url)
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()[-1:]
    assert line.startswith("Error: mentions: PostgreSQL refused a row of those from key [")
    assert "nothing of them was stored" in line
    with Store.open(source, create=False) as store:
        store.conn.execute(f"UPDATE mentions SET text = 'fixed' WHERE id = {last}")
    again = move(source, postgres_url)
    assert again.exit_code == 0, again.output
    assert pg_count(postgres_url, "mentions") == counts(source)["mentions"]


def test_a_table_postgresql_lacks_is_named_with_its_rows_and_the_rest_moves(
    source: Path, postgres_url: str
) -> None:
    with PgStore.open(postgres_url) as pg:
        pg.conn.execute("DROP TABLE digests")
    result = move(source, postgres_url)
    assert result.exit_code == 0, result.output
    rows = counts(source)["digests"]
    assert f"Warning: digests ({rows:,} rows) has no table in PostgreSQL yet: not copied" in result.stderr
    assert not any(line.startswith("digests ") for line in result.stdout.splitlines())
    assert pg_count(postgres_url, "alerts") == counts(source)["alerts"]


def test_rows_already_in_a_table_without_ids_are_merged_not_refused(source: Path, postgres_url: str) -> None:
    """As a singleton a migration inserts, or counts a trigger keeps: SQLite's rows win, none doubles."""
    with Store.open(source, create=False) as store:
        network, handle = store.conn.execute("SELECT network, handle FROM own_accounts LIMIT 1").fetchone()
    with PgStore.open(postgres_url) as pg:
        pg.conn.execute("INSERT INTO own_accounts (network, handle) VALUES (%s, %s)", (network, handle))
    result = move(source, postgres_url)
    assert result.exit_code == 0, result.output
    assert pg_count(postgres_url, "own_accounts") == counts(source)["own_accounts"]
    with connect(postgres_url) as conn:
        assert conn.execute(f"SELECT upsert FROM {LEDGER} WHERE table_name = 'own_accounts'").fetchone() == (
            True,
        )
