"""``listener sql`` on both backends: the same output, caps and errors from a SQLite file and a PostgreSQL server (#22).

On PostgreSQL the config names the server (``[database] url``); the query runs in a
read-only transaction on a read-only session, with ``statement_timeout``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result

from listener.cli import cli
from listener.model import Mention, Page
from storage import Store
from storage.pg.connection import connect
from storage.pg.store import PgStore
from tests.postgres import PostgresServer

AT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
COUNTER = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20)"
ENDLESS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"


@dataclass
class Target:
    name: str  # "sqlite" or "postgresql"
    args: list[str]  # what points the CLI at the database
    store: Any

    def sql(self, *args: str) -> Result:
        return CliRunner().invoke(cli, [*self.args, "sql", *args], catch_exceptions=False)

    def text(self, size: int) -> str:
        """A string of ``size`` characters, built by the database."""
        return f"hex(zeroblob({size // 2}))" if self.name == "sqlite" else f"repeat('x', {size})"


def seed(store: Any) -> None:
    store.sync_watches([("brand", "aurora")])
    mentions = [
        Mention("x", "1", "Il Caffè Aurora è buonissimo, perché?", AT, language="it", author_handle="mario"),
        Mention("reddit", "t1_a", "Aurora coffee, never again", AT, language="en", author_handle="jane"),
    ]
    store.save_page(Page("x", "brand", mentions[:1], matches={"1": ["brand"]}))
    store.save_page(Page("reddit", "brand", mentions[1:]))


def pg_config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "listener.toml"
    path.write_text(f'[database]\nurl = "{url}"\n\n[[watches]]\nname = "brand"\nquery = "aurora"\n')
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    if request.param == "sqlite":
        with Store.open(tmp_path / "listener.db") as store:
            seed(store)
            yield Target("sqlite", ["--db", str(tmp_path / "listener.db")], store)
    else:
        url = request.getfixturevalue("postgres_url")
        with PgStore.open(url) as pg:
            seed(pg)
            yield Target("postgresql", ["--config", str(pg_config(tmp_path, url))], pg)


def test_the_three_formats_are_the_same_on_both_backends(target: Target) -> None:
    query = "SELECT network, native_id, text, created_at FROM mentions ORDER BY id"
    table = target.sql(query)
    assert (table.exit_code, table.stderr) == (0, "")
    assert table.stdout.splitlines() == [
        "network    native_id    text                                   created_at",
        "---------  -----------  -------------------------------------  -------------------------",
        "x          1            Il Caffè Aurora è buonissimo, perché?  2026-11-20T10:00:00+00:00",
        "reddit     t1_a         Aurora coffee, never again             2026-11-20T10:00:00+00:00",
    ]
    assert json.loads(target.sql(query, "--json").stdout)[1] == {
        "network": "reddit", "native_id": "t1_a", "text": "Aurora coffee, never again",
        "created_at": "2026-11-20T10:00:00+00:00",
    }  # fmt: skip
    rows = list(csv.reader(io.StringIO(target.sql(query, "--csv").stdout)))
    assert rows[0] == ["network", "native_id", "text", "created_at"] and len(rows) == 3
    named = target.sql("SELECT text FROM mentions WHERE native_id = :id", "-p", "id", "1", "--json")
    assert json.loads(named.stdout) == [{"text": "Il Caffè Aurora è buonissimo, perché?"}]
    counted = target.sql("SELECT count(*) AS n, sum(length(text)) AS chars FROM mentions", "--json")
    assert json.loads(counted.stdout) == [{"n": 2, "chars": 63}]


def test_a_small_query_and_an_empty_result_keep_their_columns(target: Target) -> None:
    table = target.sql("SELECT 1 AS n, 'a' AS s")
    assert (table.exit_code, table.stdout, table.stderr) == (0, "n    s\n---  ---\n1    a\n", "")
    assert target.sql("SELECT 1 AS n, 'a' AS s", "--tsv").stdout == "n\ts\n1\ta\n"
    empty = target.sql("SELECT native_id FROM mentions WHERE native_id = 'none'", "--csv")
    assert (empty.exit_code, empty.stdout) == (0, "native_id\n")


def test_output_stops_at_the_row_cap_with_one_line_and_exit_3(target: Target) -> None:
    result = target.sql(f"{COUNTER} SELECT x, 'row' AS v FROM c", "--max-rows", "5", "--csv")
    assert result.exit_code == 3
    assert list(csv.reader(io.StringIO(result.stdout))) == [["x", "v"]] + [
        [str(i), "row"] for i in range(1, 6)
    ]
    assert result.stderr == "Stopped: output stopped at the 5-row cap; add a LIMIT, or raise --max-rows\n"


def test_output_stops_at_the_byte_cap_and_one_long_value_is_refused(target: Target) -> None:
    result = target.sql(
        f"{COUNTER} SELECT x, {target.text(300000)} AS v FROM c", "--max-bytes", "1000000", "--json"
    )
    assert result.exit_code == 3
    assert [row["x"] for row in json.loads(result.stdout)] == [1, 2, 3]
    assert result.stderr == (
        "Stopped: output stopped after 3 rows at the 1 MB cap; "
        "add a LIMIT or select fewer columns, or raise --max-bytes\n"
    )
    alone = target.sql(f"SELECT {target.text(2000000)} AS v", "--max-bytes", "1000000")
    assert (alone.exit_code, alone.stdout) == (1, "")
    assert alone.stderr == (
        "Error: a string or blob in the query is over the 1 MB limit; "
        "select part of it with substr(), or raise --max-bytes\n"
    )


def test_a_query_stops_at_its_time_limit(target: Target) -> None:
    result = target.sql(ENDLESS, "--timeout", "0.3")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "Error: query stopped after the 0.3s time limit; add a LIMIT or WHERE, or raise --timeout\n"
    )


@pytest.mark.parametrize("query", ["", "   \n", "-- only a comment", "/* nothing */ ;"])
def test_an_empty_query_is_one_line(target: Target, query: str) -> None:
    result = target.sql("--", query)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("Error: no S") and result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    "statement", ["DELETE FROM mentions", "UPDATE mentions SET text = 'x'", "DROP TABLE mentions"]
)
def test_a_write_is_one_line_and_changes_nothing(target: Target, statement: str) -> None:
    result = target.sql(statement)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith(f"Error: listener sql is read-only: {statement.split()[0]}")
    assert result.stderr.count("\n") == 1
    assert target.store.count_mentions() == 2


@pytest.fixture
def pg(tmp_path: Path, postgres_url: str) -> Iterator[Target]:
    with PgStore.open(postgres_url) as store:
        seed(store)
        yield Target("postgresql", ["--config", str(pg_config(tmp_path, postgres_url))], store)


@pytest.mark.parametrize(
    ("statement", "refused"),
    [
        # Refused by the server: the transaction and the session are read-only.
        ("WITH gone AS (DELETE FROM mentions RETURNING id) SELECT count(*) FROM gone", "a write inside WITH"),
        ("EXPLAIN ANALYZE UPDATE mentions SET text = 'rewritten'", "UPDATE"),
        ("SELECT nextval(pg_get_serial_sequence('mentions', 'id'))", "nextval()"),
        ("SELECT id FROM mentions FOR UPDATE", "SELECT FOR UPDATE"),
        # Refused before the server sees them: a read-only transaction does not stop what they do.
        ("COPY mentions TO PROGRAM 'touch /tmp/listener-sql-copy'", "COPY"),
        ("DO $$ BEGIN DELETE FROM mentions; END $$", "DO"),
        ("SET default_transaction_read_only = off", "SET"),
        ("  /* hidden */ (TRUNCATE mentions)", "TRUNCATE"),
    ],
)
def test_postgresql_refuses_writes_in_one_line(pg: Target, statement: str, refused: str) -> None:
    result = pg.sql(statement)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"Error: listener sql is read-only: {refused} is refused; use SELECT instead\n"
    assert pg.store.count_mentions() == 2
    assert not Path("/tmp/listener-sql-copy").exists()


def test_postgresql_runs_one_statement_in_a_read_only_transaction_with_the_time_limit(pg: Target) -> None:
    two = pg.sql("SELECT 1; DELETE FROM mentions")
    assert two.exit_code == 1
    assert two.stderr == (
        "Error: SQL error: cannot insert multiple commands into a prepared statement; run one statement at a time\n"
    )
    settings = "SELECT current_setting('transaction_read_only') AS t, current_setting('default_transaction_read_only') AS d"
    assert json.loads(pg.sql(settings, "--json").stdout) == [{"t": "on", "d": "on"}]
    assert pg.sql("SHOW transaction_read_only", "--csv").stdout == "transaction_read_only\non\n"
    assert pg.sql("SHOW statement_timeout", "--timeout", "7", "--csv").stdout == "statement_timeout\n7s\n"
    into = pg.sql("SELECT * INTO copied FROM mentions")
    assert into.exit_code == 1 and into.stderr.startswith("Error: SQL error: SELECT ... INTO is not allowed")
    assert pg.store.count_mentions() == 2


def test_postgresql_values_come_out_as_sqlite_keeps_them(pg: Target) -> None:
    query = (
        "SELECT '2026-11-20 11:00:00+01'::timestamptz AS at, 2.5::numeric AS half, 10::numeric AS ten, "
        "'{\"a\": [1, \"è\"]}'::jsonb AS doc, true AS yes, '\\x4142'::bytea AS raw, NULL AS nothing"
    )
    assert json.loads(pg.sql(query, "--json").stdout) == [
        {"at": "2026-11-20T10:00:00+00:00", "half": 2.5, "ten": 10, "doc": '{"a":[1,"è"]}', "yes": True,
         "raw": "4142", "nothing": None}
    ]  # fmt: skip
    assert pg.sql("SELECT raw->>'x' AS x FROM mentions", "--csv").exit_code == 0


def test_postgresql_binds_colon_names_past_casts_literals_and_percent_signs(pg: Target) -> None:
    query = (
        "SELECT native_id, ':id' AS literal, 5::text AS cast FROM mentions "
        "WHERE native_id = :id AND text LIKE '%Aurora%' -- not :this\n"
    )
    result = pg.sql(query, "-p", "id", "1", "--json")
    assert json.loads(result.stdout) == [{"native_id": "1", "literal": ":id", "cast": "5"}]
    missing = pg.sql("SELECT :nope AS x", "-p", "id", "1")
    assert missing.exit_code == 1 and missing.stderr.startswith("Error: SQL error: ")


def test_the_analyst_role_of_the_deployment_page_reads_with_listener_sql(
    tmp_path: Path, pg: Target, postgres_server: PostgresServer, postgres_url: str
) -> None:
    """docs/deployment.md's statements, run as written (names made unique), then listener sql as that role."""
    page = (Path(__file__).resolve().parent.parent / "docs" / "deployment.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```text\n(.*?)```", page, re.S) if "CREATE ROLE analyst" in b)
    role, database = f"analyst_{os.getpid()}", postgres_url.split("?")[0].rsplit("/", 1)[1]
    statements = (
        block.replace("analyst", role).replace("DATABASE listener", f"DATABASE {database}")
        .replace("FOR ROLE listener", f"FOR ROLE {postgres_server.user}")
    )  # fmt: skip
    with connect(postgres_url) as owner:
        for statement in statements.strip().split(";\n"):
            owner.execute(statement.rstrip(";"))
    url = postgres_url.replace(f"{postgres_server.user}@", f"{role}@")
    config = tmp_path / "analyst.toml"
    config.write_text(f'[database]\nurl = "{url}"\n')
    read = CliRunner().invoke(
        cli, ["--config", str(config), "sql", "SELECT count(*) AS n FROM mentions", "--csv"]
    )
    assert (read.exit_code, read.stdout) == (0, "n\n2\n")
    with connect(url) as analyst:  # the role alone, without listener sql, cannot write either
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            analyst.execute("DELETE FROM mentions")
        analyst.execute("SET default_transaction_read_only = off")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            analyst.execute("DELETE FROM mentions")
    assert pg.store.count_mentions() == 2


def test_postgresql_losing_the_server_mid_query_is_one_line_naming_it(pg: Target) -> None:
    result = pg.sql("SELECT pg_terminate_backend(pg_backend_pid())")
    assert (result.exit_code, result.stdout) == (1, "")
    info = pg.store.conn.info
    assert result.stderr == (
        f"Error: PostgreSQL database {info.dbname} on {info.host}: terminating connection due to administrator "
        "command; the connection to the server was lost: check that PostgreSQL is up, then retry "
        "(a write in progress was rolled back)\n"
    )
