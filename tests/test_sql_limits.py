"""``listener sql`` within one call: time, length of a value, memory, rows and bytes of output."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from listener.cli import cli
from listener.model import Mention, Page
from storage import Store
from storage.readonly import printf_size, run_readonly

PRINTF_BOMB = "SELECT instr(printf('%.*c', 500000000, 'a'), printf('%.*c', 100000, 'a') || 'b')"
# Quadratic inside one step of SQLite, within every length limit: hours if nothing stops it.
INSTR_BOMB = "SELECT instr(printf('%.*c', 20000000, 'a'), printf('%.*c', 10000000, 'a') || 'b')"


def twenty(value: str) -> str:
    counter = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20)"
    return f"{counter} SELECT x, {value} AS v FROM c"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "listener.db"
    Store.open(path).close()
    return path


def sql(db: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", str(db), "sql", *args], catch_exceptions=False)


def heap_limit() -> int:
    with sqlite3.connect(":memory:") as conn:
        return conn.execute("PRAGMA hard_heap_limit").fetchone()[0]


def test_the_printf_bomb_is_refused_at_once_with_one_line(db: Path) -> None:
    # Refused from printf's arguments, before SQLite pads anything (no race with the clock).
    result = sql(db, PRINTF_BOMB, "--timeout", "3")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == (
        "Error: printf() would make a string of 500,000,000 characters, over the 100 MB limit; "
        "ask for a shorter one, or raise --max-bytes\n"
    )


def test_a_400_mb_value_is_refused_at_the_length_limit(db: Path) -> None:
    for value in ("zeroblob(400000000)", "randomblob(400000000)"):
        result = sql(db, twenty(value), "--timeout", "3")
        assert result.exit_code == 1 and result.stdout == ""
        assert result.stderr == (
            "Error: a string or blob in the query is over the 100 MB limit; "
            "select part of it with substr(), or raise --max-bytes\n"
        )


def test_output_stops_at_the_byte_cap_with_one_line_and_exit_3(db: Path) -> None:
    result = sql(db, twenty("randomblob(300000)"), "--max-bytes", "1000000", "--json")
    assert result.exit_code == 3
    assert [row["x"] for row in json.loads(result.stdout)] == [1, 2, 3]
    assert result.stderr == (
        "Stopped: output stopped after 3 rows at the 1 MB cap; "
        "add a LIMIT or select fewer columns, or raise --max-bytes\n"
    )
    # A value over --max-bytes on its own is refused by SQLite, before it is built.
    alone = sql(db, twenty("zeroblob(2000000)"), "--max-bytes", "1000000")
    assert alone.exit_code == 1 and "over the 1 MB limit" in alone.stderr


def test_output_stops_at_the_row_cap_with_one_line_and_exit_3(db: Path) -> None:
    result = sql(db, twenty("'row'"), "--max-rows", "5", "--csv")
    assert result.exit_code == 3
    assert list(csv.reader(io.StringIO(result.stdout))) == [["x", "v"]] + [
        [str(i), "row"] for i in range(1, 6)
    ]
    assert result.stderr == "Stopped: output stopped at the 5-row cap; add a LIMIT, or raise --max-rows\n"
    assert sql(db, twenty("'row'"), "--max-rows", "20", "--csv").exit_code == 0


def test_a_query_under_the_caps_keeps_its_output(db: Path) -> None:
    table = sql(db, "SELECT 1 AS n, 'a' AS s")
    assert (table.exit_code, table.stdout, table.stderr) == (0, "n    s\n---  ---\n1    a\n", "")
    assert sql(db, "SELECT 1 AS n, 'a' AS s", "--tsv").stdout == "n\ts\n1\ta\n"


def test_sqlite_memory_has_a_ceiling_that_is_put_back_after(db: Path) -> None:
    before = heap_limit()
    # 100 values of 0.9 MB in one row: each is under the 1 MB length limit, the row is over
    # the 67 MB heap (three times --max-bytes, plus 64 MB).
    wide = "SELECT " + ", ".join(["zeroblob(900000)"] * 100)
    result = sql(db, wide, "--max-bytes", "1000000")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: query needed more than 67 MB of memory; add a LIMIT or WHERE, or raise --max-bytes\n"
    )
    assert heap_limit() == before
    assert sql(db, "SELECT 1").exit_code == 0


@pytest.mark.parametrize("query", ["", "   \n", "-- only a comment", "/* nothing */ ;"])
def test_an_empty_query_is_an_error(db: Path, query: str) -> None:
    result = sql(db, "--", query)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("Error: no S") and result.stderr.count("\n") == 1


def test_a_query_stuck_inside_one_step_is_given_up_at_the_time_limit(db: Path) -> None:
    # In a process of its own: the stuck thread ends with it.
    command = [sys.executable, "-m", "listener.cli", "--db", str(db), "sql", INSTR_BOMB, "--timeout", "1"]
    # The query takes hours; only the time limit can end it, and only it prints this line.
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == (
        "Error: query stopped after the 1s time limit; add a LIMIT or WHERE, or raise --timeout\n"
    )


@pytest.mark.parametrize(
    ("fmt", "args", "size"),
    [
        ("%s and %d", ("a", 1), 0),
        ("%10s|%-5d|%05.2f", ("a", 1, 2.0), 22),
        ("%.*c", (500000000, "a"), 500000000),
        ("%*d", (-7, 1), 7),
        ("%.*s", (10**9, "short"), 0),  # precision cuts a string, never pads it
        ("%%%.*c", (3, "a"), 3),
        ("%.*c", ("12abc", "a"), 12),
        ("%.*c", (2**32 + 5, "a"), 5),  # SQLite reads a 32-bit int
        ("%.*c", (), 0),
    ],
)
def test_printf_size_counts_the_padding_sqlite_would_build(
    fmt: str, args: tuple[object, ...], size: int
) -> None:
    assert printf_size(fmt, args) == size


def test_printf_within_the_limit_is_sqlite_own(db: Path) -> None:
    query = (
        "SELECT printf('%5.2f|%-5s|%05d|%%|%q|%.3s|%,d', 3.14159, 'ab', 42, 'it''s', 'abcdef', 1234567), "
        "format('%d', 7), printf(NULL), printf(5), printf('%s', x'4142'), printf('%.*c', 3, 'z')"
    )
    with sqlite3.connect(":memory:") as plain:
        expected = plain.execute(query.replace("format(", "printf(")).fetchall()
    assert run_readonly(db, query).rows == expected


def test_the_full_text_index_reads_as_search_does(tmp_path: Path) -> None:
    """Its words come through listener's own tokenizer, which listener sql registers."""
    db = tmp_path / "fts.db"
    with Store.open(db) as store:
        store.sync_watches([("brand", "rimborso")])
        now = datetime(2026, 11, 20, tzinfo=UTC)
        store.save_page(Page("x", "brand", [Mention("x", "1", "Voglio il RIMBORSO🤬 subito", now)]))
    result = run_readonly(db, "SELECT rowid, text FROM mentions_fts WHERE mentions_fts MATCH 'rimborso'")
    assert result.rows == [(1, "voglio il rimborso subito")]
