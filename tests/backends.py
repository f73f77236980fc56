"""Both storage backends for one test: the storage contract (#22).

A test that takes ``backend`` runs twice, on SQLite's ``Store`` (a real file) and on
PostgreSQL's ``PgStore`` (a fresh database on the tests' own server, tests/postgres.py:
skipped with the reason where PostgreSQL is not installed, failed under CI). It talks to
the store only through ``storage.interfaces``; what the interfaces do not show is read with
``backend.rows(sql)``, the same SQL on both, values normalised (times as ``utc_iso``, JSON as
text) so the two compare equal.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from listener.records import utc_iso
from storage import Store
from storage.base import dumps
from storage.pg.store import PgStore

__all__ = ["Backend", "backend"]


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return utc_iso(value)
    if isinstance(value, dict | list):
        return dumps(value)
    return value


@dataclass
class Backend:
    name: str  # "sqlite" or "postgresql"
    store: Any  # Store or PgStore: both are storage.interfaces.ListenerStore
    failure: type[Exception]  # what a row the database refuses raises

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        return [tuple(_plain(v) for v in row) for row in self.store.conn.execute(sql).fetchall()]


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        with Store.open(tmp_path / "listener.db") as store:
            yield Backend("sqlite", store, sqlite3.IntegrityError)
    else:
        with PgStore.open(request.getfixturevalue("postgres_url")) as pg:
            yield Backend("postgresql", pg, psycopg.DataError)
