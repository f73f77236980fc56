"""The tests' own PostgreSQL server (tests/postgres.py): up, reachable by its URL, one database a test."""

from __future__ import annotations

from tests.postgres import PostgresServer


def test_each_test_gets_its_own_empty_database(postgres_server: PostgresServer, postgres_url: str) -> None:
    other = postgres_server.url(postgres_server.create_database())
    assert other != postgres_url
    done = postgres_server.run(
        "psql",
        postgres_url,
        "-XAtc",
        "SELECT current_database(), count(*) FROM pg_tables WHERE schemaname = 'public'",
    )
    name, tables = done.stdout.strip().split("|")
    assert postgres_url.split("?")[0].endswith("/" + name)
    assert tables == "0"


def test_the_server_listens_on_its_socket_only(postgres_server: PostgresServer, postgres_url: str) -> None:
    done = postgres_server.run("psql", postgres_url, "-XAtc", "SHOW listen_addresses")
    assert done.stdout.strip() == ""
    assert list(postgres_server.folder.glob(".s.PGSQL.*"))
