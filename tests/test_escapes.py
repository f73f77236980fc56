"""Terminal escapes from outside (posts, server errors) never reach the terminal raw."""

from __future__ import annotations

import csv
import io
import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from listener.cli import cli
from listener.logs import JsonFormatter, TextFormatter
from listener.model import Mention, Page
from listener.output import inert, inert_json, render
from storage import Store

TITLE = "\x1b]0;pwned\x07"  # retitles the terminal
CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4=\x07"  # writes the clipboard
HOSTILE = f"aurora {TITLE}{CLIPBOARD}\x1b[2J \x9b31m \x7f \u202eevil\u202c\r"
RAW = ["\x1b", "\x07", "\x9b", "\x7f", "\u202e", "\u202c", "\r"]


def no_raw_controls(text: str) -> bool:
    return not any(c in text for c in RAW)


def test_inert_escapes_c0_c1_del_and_bidi_but_keeps_tab_and_newline() -> None:
    assert inert("a\x1b[2Jb\x07\x9b\x7f\u202e\u2066") == "a\\x1b[2Jb\\x07\\x9b\\x7f\\u202e\\u2066"
    assert inert("tab\there\nnext line") == "tab\there\nnext line"
    assert inert("one\nline\r", one_line=True) == "one\\nline\\r"
    assert inert("Caffè ☕ perché") == "Caffè ☕ perché"


def test_inert_json_is_the_same_data_with_nothing_a_terminal_obeys() -> None:
    text = inert_json({"text": HOSTILE})
    assert no_raw_controls(text)
    assert json.loads(text) == {"text": HOSTILE}
    assert inert_json(["perché"]) == '["perché"]'


def test_an_error_line_shows_a_server_message_inert_on_one_line(tmp_path: Path) -> None:
    db = tmp_path / "listener.db"
    Store.open(db).close()
    result = CliRunner().invoke(cli, ["--db", str(db), "sql", f'SELECT 1 FROM "{TITLE}\nError: forged"'])
    assert result.exit_code == 1
    assert result.stderr == "Error: SQL error: no such table: \\x1b]0;pwned\\x07\\nError: forged\n"


def test_the_text_log_escapes_messages_and_tracebacks() -> None:
    formatter = TextFormatter("%(levelname)s %(message)s")
    record = logging.makeLogRecord(
        {"levelname": "WARNING", "msg": "server said %s", "args": (f"{TITLE}{CLIPBOARD}\nINFO forged line",)}
    )
    assert formatter.format(record) == (
        "WARNING server said \\x1b]0;pwned\\x07\\x1b]52;c;cm0gLXJmIH4=\\x07\\nINFO forged line"
    )
    try:
        raise ValueError(f"bad {TITLE}")
    except ValueError:
        failed = logging.makeLogRecord(
            {"levelname": "ERROR", "msg": "run failed", "exc_info": sys.exc_info()}
        )
    lines = formatter.format(failed).splitlines()
    assert lines[0] == "ERROR run failed" and lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: bad \\x1b]0;pwned\\x07"


def test_the_json_log_escapes_what_json_leaves_raw() -> None:
    record = logging.makeLogRecord({"levelname": "WARNING", "name": "x", "msg": HOSTILE})
    line = JsonFormatter().format(record)
    assert no_raw_controls(line) and json.loads(line)["message"] == HOSTILE


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_csv_and_tsv_escape_controls_and_keep_newlines_quoted(fmt: str) -> None:
    out = io.StringIO()
    render(["id", f"text{TITLE}"], [(1, HOSTILE), (2, "line one\nline\ttwo"), (3, b"\x1b")], fmt, out=out)
    assert no_raw_controls(out.getvalue())
    rows = list(csv.reader(io.StringIO(out.getvalue()), dialect="excel" if fmt == "csv" else "excel-tab"))
    assert rows[0] == ["id", "text\\x1b]0;pwned\\x07"]
    assert rows[1][1] == inert(HOSTILE) and rows[1][1].startswith("aurora \\x1b]0;pwned\\x07\\x1b]52;")
    assert rows[2] == ["2", "line one\nline\ttwo"] and rows[3] == ["3", "1b"]


@pytest.mark.parametrize("fmt", ["json", "nl", "table"])
def test_json_nl_and_table_output_carry_no_raw_controls(fmt: str) -> None:
    out = io.StringIO()
    render([f"text{TITLE}"], [(HOSTILE,)], fmt, out=out)
    assert no_raw_controls(out.getvalue())
    if fmt == "json":
        assert json.loads(out.getvalue()) == [{f"text{TITLE}": HOSTILE}]
    elif fmt == "nl":
        assert json.loads(out.getvalue()) == {f"text{TITLE}": HOSTILE}


def test_posts_reach_every_sql_format_inert(tmp_path: Path) -> None:
    db = tmp_path / "listener.db"
    with Store.open(db) as store:
        store.save_page(Page("x", "brand", [Mention("x", "9", HOSTILE, datetime.now(UTC))]))
    for fmt in ("--table", "--json", "--nl", "--csv", "--tsv"):
        result = CliRunner().invoke(cli, ["--db", str(db), "sql", "SELECT text FROM mentions", fmt])
        assert result.exit_code == 0 and no_raw_controls(result.stdout), fmt
    parsed = CliRunner().invoke(cli, ["--db", str(db), "sql", "SELECT text FROM mentions", "--json"])
    assert json.loads(parsed.stdout) == [{"text": HOSTILE}]
