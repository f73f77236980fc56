"""People's tables fit the terminal, wrap long text, and print every link whole on a line of its own.

They used to cut every cell at 80 characters, so links ended in "…" and could not
be opened, and ``listener search`` was about 330 columns wide. Text from posts is
still inert: control characters escaped, rich's markup (``[bold red]``,
``[link=...]``) printed as written. The machine formats are unchanged, and so are
``listener sql`` (tabulate: a contract) and ``listener status`` (thousands of rows).
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from listener.cli import cli
from listener.model import Mention, Page
from listener.output import inert
from listener.tables import fit
from storage import Store

NOW = datetime.now(UTC).replace(microsecond=0)
LONG_URL = "https://www.reddit.com/r/italy/comments/1abcdef/app_di_caffe_aurora_doppio_addebito_che_disastro/kx12345/"
LONG_TEXT = (
    "App di Caffè Aurora: doppio addebito, che disastro. Oggi mi hanno preso 4,80€ due volte e nessuno "
    "risponde alle email; chiedo il rimborso da tre giorni e il numero verde suona a vuoto. finequi"
)
MARKUP = ["[bold red]ciao[/bold red]", "[link=https://evil.example]click[/link]", ":smile: [/] [blink]"]


def save(db: Path, texts: list[str], url: str | None = LONG_URL) -> None:
    with Store.open(db) as store:
        mentions = [
            Mention("reddit", f"t1_{i}", text, NOW - timedelta(minutes=i), url=url, author_handle="marta_l")
            for i, text in enumerate(texts)
        ]
        store.save_page(Page("reddit", "brand", mentions))


def search(db: Path, *args: str, columns: int | None = 100) -> Result:
    env = {"COLUMNS": str(columns)} if columns else {}
    return CliRunner(env=env).invoke(cli, ["--db", str(db), "search", *args], catch_exceptions=False)


def test_search_fits_the_width_wraps_the_text_and_prints_the_link_whole(tmp_path: Path) -> None:
    db = tmp_path / "listener.db"
    save(db, [LONG_TEXT])
    for columns in (100, 80, 132):
        result = search(db, "aurora", columns=columns)
        assert result.exit_code == 0
        lines = result.stdout.splitlines()
        assert f"  {LONG_URL}" in lines  # on its own line, whole
        assert all(len(line) <= columns for line in lines if LONG_URL not in line), result.stdout
        assert "…" not in result.stdout
        words = " ".join(line[line.index("App") if "App" in line else 0 :] for line in lines)
        assert "finequi" in result.stdout and len(lines) > 3  # the whole text, wrapped over lines
        assert "rimborso" in words


def test_a_pipe_without_columns_gets_a_sensible_width(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "listener.db"
    save(db, [LONG_TEXT])
    monkeypatch.delenv("COLUMNS", raising=False)
    lines = search(db, "aurora", columns=None).stdout.splitlines()
    assert max(len(line) for line in lines if LONG_URL not in line) <= 100
    assert max(len(line) for line in lines if LONG_URL not in line) > 80  # the width is used, not 80


def test_markup_and_controls_in_posts_print_as_written(tmp_path: Path, shared_dir: Path) -> None:
    blns = [
        line
        for line in (shared_dir / "data/hostile/blns.txt").read_text(encoding="utf-8").split("\n")
        if line.strip() and not line.startswith("#")
    ]
    hostile = [line for line in blns if "[" in line or "\x1b" in line or "\u202e" in line] + MARKUP
    assert len(hostile) > 10
    db = tmp_path / "listener.db"
    save(db, [f"aurora {line}" for line in hostile], url=None)
    result = search(db, "aurora", "--limit", "1000", columns=10_000)  # wide enough for one line a post
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout and "\x07" not in result.stdout
    for line in hostile:
        assert inert(" ".join(f"aurora {line}".split())) in result.stdout, line
    assert (
        "[bold red]ciao[/bold red]" in result.stdout
        and "[link=https://evil.example]click[/link]" in result.stdout
    )
    assert "\\x1b[0;31mred" in result.stdout  # blns's colour codes, shown escaped


def test_the_machine_formats_carry_every_field_whole(tmp_path: Path) -> None:
    db = tmp_path / "listener.db"
    save(db, [LONG_TEXT])
    hit = json.loads(search(db, "aurora", "--json").stdout)[0]
    assert list(hit) == [
        "id", "created_at", "network", "native_id", "author_handle", "text", "url", "language", "sentiment_label",
    ]  # fmt: skip
    assert hit["text"] == LONG_TEXT and hit["url"] == LONG_URL and hit["created_at"] == NOW.isoformat()
    rows = list(csv.reader(io.StringIO(search(db, "aurora", "--csv").stdout)))
    assert rows[0] == list(hit) and rows[1][5] == LONG_TEXT and rows[1][6] == LONG_URL
    nl = search(db, "aurora", "--nl").stdout
    assert json.loads(nl) == hit
    tsv = search(db, "aurora", "--tsv").stdout.splitlines()
    assert tsv[1].split("\t")[6] == LONG_URL
    assert search(db, "nothing", "--csv").stdout == "id,created_at,network,author_handle,text\n"


def test_sql_keeps_its_tabulate_format(tmp_path: Path) -> None:
    db = tmp_path / "listener.db"
    save(db, [LONG_TEXT])
    from tabulate import tabulate

    result = CliRunner().invoke(cli, ["--db", str(db), "sql", "SELECT native_id, text, url FROM mentions"])
    expected = tabulate(
        [["t1_0", LONG_TEXT[:79] + "…", LONG_URL[:79] + "…"]], headers=["native_id", "text", "url"],
        disable_numparse=True,
    )  # fmt: skip
    assert result.stdout == expected + "\n"


def test_other_tables_fit_too(tmp_path: Path) -> None:
    db = tmp_path / "listener.db"
    save(db, [LONG_TEXT, "aurora again"])
    for verb in (["authors"], ["watches"], ["alerts"]):
        result = CliRunner(env={"COLUMNS": "80"}).invoke(cli, ["--db", str(db), *verb])
        assert result.exit_code == 0, result.output
        assert all(len(line) <= 80 for line in result.stdout.splitlines()), result.stdout
    authors = CliRunner(env={"COLUMNS": "80"}).invoke(cli, ["--db", str(db), "authors"]).stdout.splitlines()
    assert authors[0].split() == [
        "network", "handle", "names", "mentions", "neg", "neu", "pos", "replies", "first_seen", "last_seen",
    ]  # fmt: skip
    assert authors[2].split()[:4] == ["reddit", "marta_l", "2", "0"]


def test_fit_narrows_prose_first_and_keeps_words_whole() -> None:
    natural, least = [2, 16, 7, 120], [2, 16, 7, 120]
    assert fit([2, 16, 7, 20], 100, least, [False, False, False, True]) == [2, 16, 7, 20]
    widths = fit(natural, 90, least, [False, False, False, True])
    assert widths == [2, 16, 7, 65] and sum(widths) == 90
    assert fit([10, 10, 10], 20, [10, 10, 10], [False] * 3) is None  # one-word cells do not fit whole
    assert fit([12, 30], 30, [7, 30], [False, False]) is None
    assert fit([12, 20], 30, [7, 20], [False, False]) == [7, 20]  # the header wraps at its underscore


def test_the_version_imports_no_rich_and_a_table_does(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LISTENER_", "PYTHONPROFILEIMPORTTIME"))}

    def modules(*args: str) -> set[str]:
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "listener.cli", *args],
            capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        return {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines() if "|" in line}

    db = tmp_path / "listener.db"
    save(db, ["aurora"])
    assert "rich" not in modules("--version")
    assert "rich" not in modules("--db", str(db), "sql", "SELECT 1")
    assert "rich" not in modules("--db", str(db), "search", "aurora", "--json")
    assert "rich" in modules("--db", str(db), "search", "aurora")


def test_prose_that_would_be_squeezed_goes_under_its_row(monkeypatch: pytest.MonkeyPatch) -> None:
    from listener.tables import print_table

    headers = ["id", "severity", "state", "kind", "watch", "network", "started_at", "updated_at", "summary"]
    summary = "@caffe_aurora on x: 4 post(s) that do not look like the account: posted at 03:10, " * 2
    row = [
        "3",
        "critical",
        "open",
        "own-account",
        "@caffe_aurora",
        "x",
        "2026-12-05 02:10",
        "2026-12-05 08:00",
    ]
    out = io.StringIO()
    monkeypatch.setenv("COLUMNS", "100")
    print_table(headers, [[*row, summary.strip()]], out)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == headers[:-1] and lines[1] == "    summary"
    assert lines[3].split() == " ".join(row).split()  # every one-word cell whole, on one line
    below = lines[4:]
    assert all(line.startswith("    ") and len(line) <= 100 for line in below)
    assert " ".join(line.strip() for line in below) == summary.strip()
