"""A PostgreSQL server that fails: each way is one ``StorageError`` line naming the server and the fix (#22).

Real failures on the tests' own server (tests/postgres.py) or on a closed port of
127.0.0.1: a refused connection, a database or role that does not exist, a wrong or
missing password (a role of its own that must give one), a connection killed mid-run,
a lock held by another connection, conflicts raised by the server itself.
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from click.testing import CliRunner

from listener.cli import cli
from listener.errors import StorageError
from listener.model import Mention, Page
from storage.pg.connection import connect
from storage.pg.store import PgStore
from tests.postgres import PostgresServer

PASSWORD = "right-horse-battery"
WRONG = "hunter2-not-it"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def url_as(server: PostgresServer, user: str, database: str) -> str:
    return f"postgresql://{user}@/{database}?host={quote(str(server.folder), safe='')}"


def opening(url: str, password: str | None = None) -> str:
    with pytest.raises(StorageError) as caught:
        PgStore.open(url, password)
    return str(caught.value)


@pytest.fixture(scope="module")
def password_role(postgres_server: PostgresServer) -> Iterator[str]:
    """A role that must give its password (scram), on the trust-auth test server: its own pg_hba line, first."""
    role = "listener_with_password"
    hba = postgres_server.folder / "data" / "pg_hba.conf"
    line = f"local all {role} scram-sha-256\n"
    original = hba.read_text()
    hba.write_text(line + original)
    with connect(postgres_server.url("postgres")) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {role}")
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'")
        conn.execute("SELECT pg_reload_conf()")
        _until_password_is_asked(url_as(postgres_server, role, "postgres"))
        try:
            yield role
        finally:
            hba.write_text(original)
            conn.execute("SELECT pg_reload_conf()")


def _until_password_is_asked(url: str) -> None:
    """The postmaster reads pg_hba.conf on its signal: wait until it asks this role (90 s: a safety net)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            psycopg.connect(url).close()
        except psycopg.OperationalError as exc:
            if "password" in str(exc):
                return
            raise
        time.sleep(0.05)
    raise AssertionError("the server never asked for the password")


def test_a_closed_port_is_one_line_naming_host_and_port(tmp_path: Path) -> None:
    port = closed_port()
    url = f"postgresql://listener@127.0.0.1:{port}/listener"
    expected = (
        f"PostgreSQL database listener on 127.0.0.1:{port}: Connection refused; "
        "nothing listens there: start PostgreSQL, or fix the host and port in [database] url"
    )
    assert opening(url) == expected
    config = tmp_path / "listener.toml"
    config.write_text(f'[database]\nurl = "{url}"\n')
    for args in (["status"], ["sql", "SELECT 1"], ["watches"]):
        result = CliRunner().invoke(cli, ["--config", str(config), *args])
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr == f"Error: {expected}\n"


def test_a_database_that_does_not_exist_is_named_with_the_fix(postgres_server: PostgresServer) -> None:
    message = opening(url_as(postgres_server, postgres_server.user, "no_such_db"))
    assert message == (
        f'PostgreSQL database no_such_db on {postgres_server.folder}: database "no_such_db" does not exist; '
        "create it (createdb, see docs/deployment.md), or fix the database in [database] url"
    )


def test_a_role_that_does_not_exist_is_named_with_the_fix(postgres_server: PostgresServer) -> None:
    message = opening(url_as(postgres_server, "ghost", "postgres"))
    assert message == (
        f'PostgreSQL database postgres on {postgres_server.folder}: role "ghost" does not exist; '
        "create the role (CREATE ROLE ... LOGIN, see docs/deployment.md), or fix the user in [database] url"
    )


def test_a_wrong_or_missing_password_is_one_line_that_never_shows_it(
    postgres_server: PostgresServer, password_role: str
) -> None:
    url = url_as(postgres_server, password_role, "postgres")
    wrong = opening(url, WRONG)
    assert wrong == (
        f'PostgreSQL database postgres on {postgres_server.folder}: password authentication failed for user "{password_role}"; '
        "wrong password: put the role's password in the variable [database] password_env names"
    )
    assert WRONG not in wrong and PASSWORD not in wrong
    assert opening(url).endswith(
        "fe_sendauth: no password supplied; the server asks for a password: "
        "set [database] password_env to a variable that holds it"
    )
    with connect(url, PASSWORD) as conn:  # the right one gets in
        assert conn.execute("SELECT current_user").fetchone() == (password_role,)


def test_the_cli_reads_the_password_from_password_env_and_never_prints_it(
    tmp_path: Path, postgres_server: PostgresServer, password_role: str
) -> None:
    config = tmp_path / "listener.toml"
    url = url_as(postgres_server, password_role, "postgres")
    config.write_text(f'[database]\nurl = "{url}"\npassword_env = "LISTENER_TEST_PG_PASSWORD"\n')
    result = CliRunner().invoke(
        cli, ["--config", str(config), "sql", "SELECT 1"], env={"LISTENER_TEST_PG_PASSWORD": WRONG}
    )
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "password authentication failed" in result.stderr and WRONG not in result.stderr
    right = CliRunner().invoke(
        cli, ["--config", str(config), "sql", "SELECT current_user AS u", "--csv"],
        env={"LISTENER_TEST_PG_PASSWORD": PASSWORD},
    )  # fmt: skip
    assert (right.exit_code, right.stdout) == (0, f"u\n{password_role}\n")


@pytest.fixture
def store(postgres_url: str) -> Iterator[PgStore]:
    with PgStore.open(postgres_url) as pg:
        yield pg


def test_a_server_gone_mid_run_is_one_line_and_the_next_call_too(store: PgStore, postgres_url: str) -> None:
    with connect(postgres_url) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (store.conn.info.backend_pid,))
    name = f"PostgreSQL database {store.conn.info.dbname} on {store.conn.info.host}"
    fix = "the connection to the server was lost: check that PostgreSQL is up, then retry (a write in progress was rolled back)"
    with pytest.raises(StorageError) as first:
        store.count_mentions()
    assert str(first.value) == f"{name}: terminating connection due to administrator command; {fix}"
    with pytest.raises(StorageError) as second:
        store.sync_watches([("brand", "aurora")])
    assert str(second.value) == f"{name}: the connection is lost; {fix}"


def test_a_lock_held_by_another_connection_is_one_line(store: PgStore, postgres_url: str) -> None:
    store.conn.execute("SET lock_timeout = '50ms'")  # the holder never lets go within the test
    with connect(postgres_url) as holder, holder.transaction():
        holder.execute("LOCK TABLE mentions IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(StorageError) as caught:
            store.count_mentions()
    assert str(caught.value).endswith(
        "canceling statement due to lock timeout; another connection holds a lock it needs: "
        "wait for it (pg_stat_activity shows it), then retry"
    )
    assert store.count_mentions() == 0  # the store goes on once the lock is gone


@pytest.mark.parametrize(
    ("code", "words"),
    [("40001", "could not serialize access due to concurrent update"), ("40P01", "deadlock detected")],
)
def test_a_conflict_the_server_raises_is_one_line_saying_to_run_it_again(
    store: PgStore, postgres_url: str, code: str, words: str
) -> None:
    with connect(postgres_url) as admin:  # the server raises it on the store's own insert
        admin.execute(
            "CREATE FUNCTION conflict() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{words}' USING ERRCODE = '{code}'; END $$"
        )
        admin.execute(
            "CREATE TRIGGER conflict BEFORE INSERT ON mentions FOR EACH ROW EXECUTE FUNCTION conflict()"
        )
    at = datetime(2026, 11, 20, tzinfo=UTC)
    with pytest.raises(StorageError) as caught:
        store.save_page(Page("x", "brand", [Mention("x", "1", "aurora", at)]))
    assert re.fullmatch(
        rf"PostgreSQL database \w+ on \S+: {words}; it conflicted with another writer and was rolled back: run it again",
        str(caught.value),
    )
    assert store.count_mentions() == 0


def test_errors_of_the_data_keep_their_type(store: PgStore) -> None:
    at = datetime(2026, 11, 20, tzinfo=UTC)
    with pytest.raises(psycopg.DataError):  # a NUL byte: the collector's payload, not the server, failed
        store.save_page(Page("x", "brand", [Mention("x", "1", "nul \x00 here", at)]))


def test_every_part_of_the_store_is_guarded_whoever_wrote_it(store: PgStore) -> None:
    """``store.alerts``, ``store.authors`` ...: their classes get the same guard when the store opens."""
    parts = [type(v) for v in vars(store).values() if type(v).__module__.startswith("storage.pg.")]
    assert all(part.__dict__.get("_pg_guarded") for part in [PgStore, *parts])


def test_a_role_without_the_privileges_it_needs_is_told_to_get_them(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    role, database = f"listener_no_rights_{os.getpid()}", postgres_url.split("?")[0].rsplit("/", 1)[1]
    with connect(postgres_url) as owner:
        owner.execute(f"CREATE ROLE {role} LOGIN")
    url = url_as(postgres_server, role, database)
    name = f"PostgreSQL database {database} on {postgres_server.folder}"
    fix = "the role lacks a privilege: grant it (docs/deployment.md), or use the owner's role"
    # It may connect, but not create the tables (PostgreSQL 15 and later: public's CREATE is the owner's).
    assert opening(url) == f"{name}: permission denied for schema public; {fix}"
    with connect(postgres_url) as owner:
        owner.execute(f"REVOKE CONNECT ON DATABASE {database} FROM PUBLIC")
    assert opening(url) == f'{name}: permission denied for database "{database}"; {fix}'
