"""The quick commands start quickly: ``listener --version`` and ``listener sql`` leave the science stack alone.

pandas, scipy and scikit-learn take a second or more to import on a busy
machine; only the verbs that analyse need them. Read off ``-X importtime`` in a
fresh interpreter each, so no test's imports hide a regression. No timings here:
``bench/startup.py`` measures them.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = {"pandas", "scipy", "sklearn"}
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("LISTENER_", "PYTHONPROFILEIMPORTTIME"))}


def imported(*args: str) -> set[str]:
    """Every module ``python -X importtime ARGS`` imported; the run must succeed."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *args], capture_output=True, text=True, env=ENV, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {
        line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")
    }


def heavy(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules} & HEAVY


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "listener.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    return path


def test_importing_the_command_line_imports_no_verb_and_no_science() -> None:
    modules = imported("-c", "import listener.cli")
    assert heavy(modules) == set()
    assert "numpy" not in modules
    assert {m for m in modules if m.startswith("listener.cli.")} == {"listener.cli.app"}


def test_version_imports_no_science() -> None:
    modules = imported("-m", "listener.cli", "--version")
    assert heavy(modules) == set()
    assert "numpy" not in modules


def test_version_and_help_import_no_web_server() -> None:
    """``listener serve`` alone loads Datasette (and uvicorn); the browser tests' Playwright never."""
    for args in (["--version"], ["--help"], ["serve", "--help"]):
        modules = imported("-m", "listener.cli", *args)
        web = {"datasette", "uvicorn", "playwright"}
        assert [m for m in modules if m.split(".")[0] in web or m.startswith("listener.inbox")] == [], args


def test_sql_imports_no_science(db: Path) -> None:
    assert heavy(imported("-m", "listener.cli", "--db", str(db), "sql", "select 1")) == set()


def test_a_verb_is_imported_when_run_and_only_that_verb(db: Path) -> None:
    """Read off ``sys.modules``: ``-X importtime`` does not show what ``importlib`` imports."""
    code = (
        "import sys; from listener.cli import cli\n"
        f"cli(['--db', {str(db)!r}, 'sql', 'select 1'], standalone_mode=False)\n"
        "print(' '.join(m for m in sys.modules if m.startswith('listener.cli.')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=60)
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.splitlines()[-1].split()) == {"listener.cli.app", "listener.cli.sql"}


def test_every_verb_is_listed_without_being_imported() -> None:
    code = "import sys, listener.cli as c; print(sorted(c.cli.commands)); print(sorted(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=60)
    names, modules = done.stdout.splitlines()
    assert "'sql'" in names and "'backtest'" in names and "'demo'" in names
    assert "listener.cli.backtest" not in modules and "listener.cli.sql" not in modules


CLIENTS = {"tweepy", "praw", "mastodon", "atproto", "googleapiclient", "feedparser"}
ALL_NETWORKS = """
[database]
path = "listener.db"

[[watches]]
name = "brand"
query = '"Caffè Aurora" OR #caffeaurora'

[networks.x]
accounts = ["caffeaurora"]
monthly_post_budget = 10000
[networks.reddit]
stream_subreddits = ["italy"]
[networks.mastodon]
instances = ["https://mastodon.social"]
[networks.bluesky]
[networks.hackernews]
[networks.rss]
all_watches = ["https://example.org/feed"]
[networks.facebook]
page_id = "1234567890"
[networks.instagram]
user_id = "17841400000000000"
[networks.youtube]
channel_id = "UCabc"
"""


@pytest.mark.parametrize(
    "verb", [["status"], ["search", "aurora"], ["alerts"], ["watches"], ["digest", "--date", "2026-11-20"]]
)
def test_a_config_naming_every_network_imports_no_client_library(tmp_path: Path, verb: list[str]) -> None:
    """Validating the config reads each network's light settings module, never its collector."""
    config = tmp_path / "listener.toml"
    config.write_text(ALL_NETWORKS, encoding="utf-8")
    modules = imported("-m", "listener.cli", "--config", str(config), *verb)
    assert {name.split(".")[0] for name in modules} & (CLIENTS | HEAVY) == set()
    assert not {m for m in modules if m in {f"collectors.{n}" for n in ("x", "reddit", "youtube", "rss")}}


def test_status_imports_neither_tabulate_nor_the_smtp_client(tmp_path: Path) -> None:
    """tabulate costs ~20 ms to import and ~0.2 s on thousands of sources: status's table is plain.

    smtplib and ssl (~6 ms) wait for a message to send: reading ``[email]`` needs neither.
    """
    config = tmp_path / "listener.toml"
    config.write_text(ALL_NETWORKS, encoding="utf-8")
    modules = imported("-m", "listener.cli", "--config", str(config), "status")
    assert {"listener.output", "listener.config", "listener.mail"} <= modules
    assert {"tabulate", "smtplib", "ssl"} & modules == set()
