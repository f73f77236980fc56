"""``listener status`` lays its table out without tabulate, and prints the same bytes.

tabulate took ~0.2 s over the 3,545 sources of the scale bench (#20);
``plain_table`` reproduces its ``simple`` layout with number parsing off, and
steps aside (None) where it cannot promise the same bytes. These tests hold it to
tabulate itself: on generated tables, and on a whole ``listener status`` run
against a representative config, where the only difference is who lays it out.
``listener sql`` keeps tabulate: its output is a contract.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st
from tabulate import tabulate

from listener import output
from listener.cli import cli
from listener.model import SaveResult
from storage import Store

TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
PRINTABLE_ASCII = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12)
TRICKY = st.sampled_from(
    ["", " ", "  a ", "True", "False", "1", "1,000", "-2.5e3", "0x1f", "nan", "é", "☕", "\x01"]
)
CELL = st.one_of(
    st.none(), TEXT, PRINTABLE_ASCII, TRICKY, st.integers(), st.floats(), st.booleans(), st.binary()
)


def tabulated(headers: list[str], rows: list[list[Any]]) -> str:
    return tabulate(rows, headers=headers, disable_numparse=True)


@st.composite
def tables(
    draw: st.DrawFn, cell: st.SearchStrategy[Any] = CELL, header: st.SearchStrategy[str] = TEXT | TRICKY
) -> tuple[list[str], list[list[Any]]]:
    headers = draw(st.lists(header, min_size=1, max_size=5))
    rows = draw(st.lists(st.lists(cell, min_size=len(headers), max_size=len(headers)), max_size=6))
    return headers, rows


@settings(max_examples=400, deadline=None)
@given(tables())
def test_plain_table_is_tabulate_or_steps_aside(table: tuple[list[str], list[list[Any]]]) -> None:
    headers, rows = table
    text = output.plain_table(headers, rows)
    assert text is None or text == tabulated(headers, rows)


@settings(max_examples=200, deadline=None)
@given(tables(st.none() | PRINTABLE_ASCII | st.integers() | st.floats() | st.booleans(), PRINTABLE_ASCII))
def test_printable_ascii_tables_take_the_fast_path(table: tuple[list[str], list[list[Any]]]) -> None:
    headers, rows = table
    assert output.plain_table(headers, rows) == tabulated(headers, rows)


def test_wide_text_measured_by_len_only_where_tabulate_does_so_too() -> None:
    rows = [["Caffè ☕", None], ["perché", 3]]
    text = output.plain_table(["watch", "n"], rows)
    if output._wide_chars():
        assert text is None  # wcwidth installed: tabulate measures columns, not characters
    else:
        assert text == tabulated(["watch", "n"], rows)


def test_ragged_rows_and_control_characters_step_aside() -> None:
    assert output.plain_table(["a", "b"], [["x"]]) is None
    assert output.plain_table(["a"], [["two\nlines"]]) is None
    assert output.plain_table(["a"], [["\x1b[31mred"]]) is None
    assert output.plain_table(["a"], [[b"raw"]]) is None
    assert output.plain_table([], []) is None


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """``listener init``'s config plus X with a budget; sources that ran, failed, were limited, never ran."""
    path = tmp_path / "listener.toml"
    assert invoke(path, "init").exit_code == 0
    path.write_text(path.read_text() + "\n[networks.x]\nmonthly_post_budget = 10000\n")
    now = datetime.now(UTC)
    with Store.open(tmp_path / "listener.db") as store:
        store.sync_watches([("brand", "aurora"), ("complaints", "rimborso")])
        ok = store.start_run("mastodon", "brand", now - timedelta(minutes=20))
        store.finish_run(ok, SaveResult(new=12), fetched=15, now=now - timedelta(minutes=19))
        failed = store.start_run("x", "brand", now - timedelta(minutes=10))
        store.finish_run(
            failed, SaveResult(), fetched=0, error="rate_limited", rate_limit_reset=now + timedelta(minutes=15),
            error_message="429 Too Many Requests:   try again\tlater " + "x" * 120, now=now - timedelta(minutes=9),
        )  # fmt: skip
        store.set_jobs(
            [("collect:mastodon:brand", now + timedelta(minutes=5)), ("digest", now + timedelta(hours=8))]
        )
    return path


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


@pytest.fixture(params=[False, True], ids=["daemon stopped", "daemon running"])
def daemon(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[bool]:
    """The running daemon adds the ``next_run`` column's values."""
    from listener.lock import DaemonLock

    monkeypatch.setattr(DaemonLock, "held_by_other", lambda self: request.param)
    yield request.param


def test_status_prints_what_tabulate_printed(
    config: Path, daemon: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    laid_out: list[str | None] = []

    def spy(headers: list[str], rows: list[list[Any]]) -> str | None:
        laid_out.append(text := plain_table(headers, rows))
        return text

    plain_table = output.plain_table
    monkeypatch.setattr(output, "plain_table", spy)
    fast = invoke(config, "status")
    monkeypatch.setattr(output, "plain_table", lambda headers, rows: None)
    slow = invoke(config, "status")
    assert fast.exit_code == slow.exit_code == 0
    assert laid_out and laid_out[0] is not None  # the fast path was taken...
    assert fast.stdout == slow.stdout  # ...and printed tabulate's bytes
    assert fast.stderr == slow.stderr
    assert "rate_limited" in fast.stdout and "429 Too Many Requests: try again later" in fast.stdout
    assert daemon == ("Next digest check" in fast.stderr)


def test_sql_tables_stay_with_tabulate(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(headers: list[str], rows: list[list[Any]]) -> str | None:
        raise AssertionError("listener sql must not use plain_table")

    monkeypatch.setattr(output, "plain_table", refuse)
    result = invoke(config, "sql", "SELECT network, watch, fetched, error FROM runs ORDER BY id")
    assert result.exit_code == 0
    rows = [["mastodon", "brand", 15, None], ["x", "brand", 0, "rate_limited"]]
    assert result.stdout == tabulated(["network", "watch", "fetched", "error"], rows) + "\n"
