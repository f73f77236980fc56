"""The PostgreSQL schema (#22): migrations run once, in order, and make the core tables."""

from __future__ import annotations

import psycopg
import pytest

from storage.pg import SCHEMA_VERSION, connect, migrate
from storage.pg.migrations import current_version

CORE = {"mentions", "mention_versions", "watches", "mention_watches", "cursors", "runs", "rejects",
        "authors", "own_accounts", "schema_version"}  # fmt: skip


def test_a_new_database_migrates_to_the_last_version_and_a_second_run_is_a_no_op(postgres_url: str) -> None:
    with connect(postgres_url) as conn:
        assert current_version(conn) == 0
        assert migrate(conn) == SCHEMA_VERSION
        assert current_version(conn) == SCHEMA_VERSION
        tables = {
            row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        assert migrate(conn) == 0
        again = {
            row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_version ORDER BY version")]
    assert tables >= CORE
    assert again == tables
    assert versions == list(range(1, SCHEMA_VERSION + 1))


def test_mentions_keep_raw_as_jsonb_and_times_as_timestamptz(postgres_url: str) -> None:
    with connect(postgres_url) as conn:
        migrate(conn)
        types = dict(conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'mentions'"
        ).fetchall())  # fmt: skip
    assert types["raw"] == "jsonb"
    assert types["created_at"] == types["deleted_at"] == "timestamp with time zone"
    assert types["id"] == "bigint"


def test_a_database_newer_than_this_listener_is_refused(postgres_url: str) -> None:
    with connect(postgres_url) as conn:
        migrate(conn)
        conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (SCHEMA_VERSION + 1,))
        with pytest.raises(RuntimeError, match="newer than this listener"):
            migrate(conn)


def test_a_failing_migration_leaves_the_previous_version(postgres_url: str) -> None:
    scripts = ["CREATE TABLE a (x integer);", "CREATE TABLE b (y integer); SELECT 1 / 0;"]
    with connect(postgres_url) as conn:
        with pytest.raises(psycopg.errors.DivisionByZero):
            migrate(conn, scripts)
        assert current_version(conn) == 1
        assert conn.execute("SELECT to_regclass('b')").fetchone() == (None,)
