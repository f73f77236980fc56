"""The command line, run through click on real config and database files."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from listener import __version__
from listener.cli import cli
from listener.model import Mention, Page
from storage import Store


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "brand" / "listener.toml"
    result = invoke(path, "init")
    assert result.exit_code == 0, result.output
    return path


def invoke(config: Path | None, *args: str, input: str | None = None) -> Result:
    prefix = ["--config", str(config)] if config else []
    return CliRunner().invoke(cli, [*prefix, *args], input=input, catch_exceptions=False)


def seed(config: Path) -> None:
    now = datetime.now(UTC)
    with Store.open(config.parent / "listener.db") as store:
        store.sync_watches([("brand", "aurora")])
        mentions = [
            Mention("x", "1", "Il Caffè Aurora è buonissimo, perché?", now - timedelta(hours=1), language="it",
                    author_handle="mario", url="https://x.com/mario/status/1"),
            Mention("reddit", "t1_a", "Aurora coffee, never again", now - timedelta(days=3), language="en",
                    author_handle="jane"),
        ]  # fmt: skip
        store.save_page(Page("x", "brand", mentions[:1], matches={"1": ["brand"]}))
        store.save_page(Page("reddit", "brand", mentions[1:]))


def test_init_writes_a_config_and_a_database_and_will_not_overwrite(config: Path) -> None:
    assert config.exists()
    assert (config.parent / "listener.db").exists()
    again = invoke(config, "init")
    assert again.exit_code == 1
    assert "exists; edit it, or pass --force" in again.output
    assert invoke(config, "init", "--force").exit_code == 0


def test_version() -> None:
    assert invoke(None, "--version").output.strip() == f"listener, version {__version__}"


def test_every_command_has_help_with_an_example() -> None:
    for name, command in cli.commands.items():
        result = invoke(None, name, "--help")
        assert result.exit_code == 0
        assert "Example" in result.output, f"'listener {name} --help' shows no example"
        assert command.help


def test_watches_lists_the_configured_queries_with_counts(config: Path) -> None:
    seed(config)
    rows = json.loads(invoke(config, "watches", "--json").output)
    assert [(r["name"], r["mentions"]) for r in rows] == [("brand", 1), ("complaints", 0)]
    assert rows[1]["query"].startswith('("Caffè Aurora" OR #caffeaurora)')


def test_status_runs_on_a_fresh_database(config: Path) -> None:
    result = invoke(config, "status")
    assert result.exit_code == 0
    assert "network" in result.stdout and "last_success" in result.stdout
    assert "0 mentions stored" in result.stderr


def test_search_finds_accented_and_unaccented_forms(config: Path) -> None:
    seed(config)
    for query in ("perche", "perché", "CAFFE aurora", '"caffè aurora"'):
        hits = json.loads(invoke(config, "search", query, "--json").output)
        assert [h["native_id"] for h in hits] == ["1"], query
    hits = json.loads(invoke(config, "search", "aurora", "--since", "24h", "--json").output)
    assert [h["native_id"] for h in hits] == ["1"]
    hits = json.loads(
        invoke(config, "search", "aurora", "--network", "reddit", "--lang", "en", "--json").output
    )
    assert [h["native_id"] for h in hits] == ["t1_a"]


def test_search_reports_a_bad_query_with_its_column(config: Path) -> None:
    result = invoke(config, "search", "aurora (caffè")
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: unbalanced parenthesis: missing ')' at column 8"


def test_sql_outputs_table_json_and_csv(config: Path) -> None:
    seed(config)
    query = "SELECT network, native_id, text FROM mentions ORDER BY id"
    table = invoke(config, "sql", query).output
    assert table.splitlines()[0].split() == ["network", "native_id", "text"]
    assert json.loads(invoke(config, "sql", query, "--json").output)[1] == {
        "network": "reddit", "native_id": "t1_a", "text": "Aurora coffee, never again",
    }  # fmt: skip
    rows = list(csv.reader(io.StringIO(invoke(config, "sql", query, "--csv").output)))
    assert rows[0] == ["network", "native_id", "text"] and len(rows) == 3
    named = invoke(
        config, "sql", "SELECT text FROM mentions WHERE native_id = :id", "-p", "id", "1", "--json"
    )
    assert json.loads(named.output) == [{"text": "Il Caffè Aurora è buonissimo, perché?"}]


@pytest.mark.parametrize(
    ("statement", "refused"),
    [
        ("INSERT INTO watches (name, query, created_at) VALUES ('x', 'y', 'z')", "INSERT"),
        ("UPDATE mentions SET text = 'rewritten'", "UPDATE"),
        ("DELETE FROM mentions", "DELETE"),
        ("DROP TABLE mentions", "DROP TABLE"),
        ("ATTACH DATABASE 'other.db' AS other", "ATTACH"),
        ("PRAGMA user_version = 99", "PRAGMA user_version = 99"),
        ("PRAGMA journal_mode = DELETE", "PRAGMA journal_mode = DELETE"),
        ("SELECT load_extension('mod_spatialite')", "the function load_extension()"),
        ("CREATE TABLE notes (x)", "CREATE TABLE"),
        ("VACUUM", "VACUUM"),
    ],
)
def test_sql_refuses_every_write_with_a_clear_message(config: Path, statement: str, refused: str) -> None:
    seed(config)
    db = config.parent / "listener.db"
    before = db.read_bytes()
    result = invoke(config, "sql", statement)
    assert result.exit_code == 1
    assert result.stderr == f"Error: listener sql is read-only: {refused} is refused; " + (
        "use SELECT (or a copy of the database with the sqlite3 shell) instead\n"
    )
    assert db.read_bytes() == before
    assert json.loads(invoke(config, "sql", "SELECT count(*) AS n FROM mentions", "--json").output) == [
        {"n": 2}
    ]


def test_sql_allows_reading_pragmas_and_full_text_search(config: Path) -> None:
    seed(config)
    columns = json.loads(
        invoke(config, "sql", "SELECT name FROM pragma_table_info('mentions')", "--json").output
    )
    assert {"network", "native_id", "deleted_at"} <= {c["name"] for c in columns}
    found = invoke(
        config, "sql", "SELECT rowid FROM mentions_fts WHERE mentions_fts MATCH 'perche'", "--json"
    )
    assert json.loads(found.output) == [{"rowid": 1}]


def test_sql_stops_at_its_time_limit(config: Path) -> None:
    endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    result = invoke(config, "sql", endless, "--timeout", "0.3")
    assert result.exit_code == 1
    assert "stopped after the 0.3s time limit; add a LIMIT or WHERE, or raise --timeout" in result.stderr


def test_sql_needs_an_existing_database(tmp_path: Path) -> None:
    result = invoke(None, "--db", str(tmp_path / "none.db"), "sql", "SELECT 1")
    assert result.exit_code == 1
    assert "does not exist: run 'listener init' or pass --db" in result.stderr


def test_a_broken_config_is_one_line_on_stderr_and_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "listener.toml"
    path.write_text("watchs = []\n")
    result = invoke(path, "status")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {path}: watchs: unknown key; did you mean 'watches'?\n"


def test_terminal_escapes_in_posts_are_shown_inert(config: Path) -> None:
    with Store.open(config.parent / "listener.db") as store:
        evil = "aurora \x1b[2J\x1b]0;pwned\x07 \u202eevil"
        store.save_page(Page("x", "brand", [Mention("x", "9", evil, datetime.now(UTC))]))
    for args in (("search", "aurora"), ("sql", "SELECT text FROM mentions")):
        output = invoke(config, *args).output
        assert "\x1b" not in output and "\x07" not in output and "\u202e" not in output
        assert "\\x1b[2J" in output


def test_alerts_are_listed_and_acknowledged(config: Path) -> None:
    from listener.records import AlertChange

    at = datetime.now(UTC)
    with Store.open(config.parent / "listener.db") as store:
        store.alerts.record(
            AlertChange(
                "brand", "", "volume", "opened", "warning", at, at, 40, 6, "mentions 40 vs expected 6"
            ),
            [],
        )
    rows = json.loads(invoke(config, "alerts", "--json").output)
    assert [(r["id"], r["state"], r["summary"]) for r in rows] == [(1, "open", "mentions 40 vs expected 6")]
    assert invoke(config, "alerts", "ack", "1").output == "Alert 1 acknowledged.\n"
    assert json.loads(invoke(config, "alerts", "--state", "acknowledged", "--json").output)[0]["id"] == 1
    missing = invoke(config, "alerts", "ack", "7")
    assert missing.exit_code == 1 and "no open alert with id 7" in missing.output


def test_status_shows_the_monthly_x_budget_used_and_left(config: Path) -> None:
    from listener.model import SaveResult

    config.write_text(config.read_text() + "\n[networks.x]\nmonthly_post_budget = 10000\n")
    with Store.open(config.parent / "listener.db") as store:
        run_id = store.start_run("x", "brand")
        store.finish_run(run_id, SaveResult(new=120), fetched=150)
    result = invoke(config, "status")
    assert result.exit_code == 0
    assert re.search(r"x: 150 of 10000 posts used since \d{4}-\d\d-01 00:00 UTC, 9850 left", result.stderr)
    assert re.search(r"^x +brand ", result.stdout, re.M) and re.search(
        r"^x +complaints ", result.stdout, re.M
    )


def test_status_shows_youtube_units_used_today_and_left(config: Path) -> None:
    from listener.model import SaveResult

    config.write_text(config.read_text() + "\n[networks.youtube]\ndaily_unit_share = 2000\n")
    with Store.open(config.parent / "listener.db") as store:
        run_id = store.start_run("youtube", "brand")
        store.finish_run(run_id, SaveResult(new=3), fetched=3, units=203)
    result = invoke(config, "status")
    assert result.exit_code == 0
    assert re.search(
        r"youtube: 203 of 2000 units used since \d{4}-\d\d-\d\d 0[78]:00 UTC, 1797 left", result.stderr
    )


def test_forget_deletes_an_author_everywhere_and_nothing_else(config: Path) -> None:
    from listener.model import Mention, Page

    now = datetime.now(UTC)
    with Store.open(config.parent / "listener.db") as store:
        store.sync_watches([("brand", "aurora")])
        mentions = [Mention("x", str(i), f"aurora {who} {i}", now - timedelta(minutes=i), author_id=f"id-{who}",
                            author_handle=who) for i, who in enumerate(["Troll_1", "giulia", "troll_1"])]  # fmt: skip
        store.save_page(Page("x", "brand", mentions, matches={m.native_id: ["brand"] for m in mentions}))
        edited = Mention("x", "0", "aurora edited", mentions[0].created_at, author_handle="Troll_1")
        store.save_page(Page("x", "brand", [edited]))
    refused = invoke(config, "forget", "x", "@troll_1", input="n\n")
    assert refused.exit_code == 1 and "Aborted" in refused.output
    done = invoke(config, "forget", "x", "@troll_1", "--yes")
    assert done.output == "Deleted 2 mentions by @troll_1 on x.\n"
    with Store.open(config.parent / "listener.db") as store:
        left = store.conn.execute("SELECT author_handle FROM mentions").fetchall()
        versions = store.conn.execute("SELECT count(*) FROM mention_versions").fetchone()
        buckets = store.conn.execute("SELECT sum(volume) FROM watch_buckets").fetchone()
        authors = store.conn.execute("SELECT handle FROM authors").fetchall()
    assert (left, versions, buckets, authors) == ([("giulia",)], (0,), (1,), [("giulia",)])
    assert "troll" not in invoke(config, "search", "aurora", "--json").output.lower()
