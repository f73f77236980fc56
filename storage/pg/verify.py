"""Checking a copy (``listener migrate``): each table's rows counted and summed on both sides.

Every row is put in one canonical form on both sides, driven by PostgreSQL's column type:
a time as UTC ISO-8601 with microseconds (SQLite's text parsed, PostgreSQL's ``datetime``
converted), JSON re-serialised with sorted keys (``jsonb`` reorders them), flags as ``t``/``f``,
numbers as Python prints them. SQLite's row goes through ``Plan.row`` first, the copy's own
transformation (so the computed columns are checked too). The checksum is the sum of the rows'
128-bit BLAKE2 digests: independent of order (the two engines sort text differently), changed
by any row missing, extra, doubled or different.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from psycopg import sql

from storage.pg.connection import PgConnection
from storage.pg.copy import Plan, quoted

__all__ = ["Check", "canonical", "checksum", "verify"]

_MOD = 1 << 128
_ITER = 10_000  # rows per fetch from PostgreSQL's server-side cursor


def _time(value: Any) -> str:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:  # SQLite text without an offset: PostgreSQL read it in the session's UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _json(value: Any) -> str:
    parsed = json.loads(value) if isinstance(value, str | bytes) else value
    return json.dumps(parsed, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


_FORMS: dict[str, Callable[[Any], str]] = {
    "timestamp with time zone": _time,
    "jsonb": _json,
    "json": _json,
    "boolean": lambda v: "t" if v else "f",
    "bigint": lambda v: str(int(v)),
    "integer": lambda v: str(int(v)),
    "smallint": lambda v: str(int(v)),
    "double precision": lambda v: repr(float(v)),
    "real": lambda v: repr(float(v)),
    "bytea": lambda v: bytes(v).hex(),
}


def canonical(types: Sequence[str]) -> Callable[[Sequence[Any]], bytes]:
    """The canonical form of a row whose columns have these PostgreSQL types."""
    forms = [_FORMS.get(t, str) for t in types]

    def form(values: Sequence[Any]) -> bytes:
        cells = ("\x00" if v is None else f(v) for f, v in zip(forms, values, strict=True))
        return "\x1f".join(cells).encode("utf-8", "surrogatepass")

    return form


def checksum(rows: Iterable[Sequence[Any]], form: Callable[[Sequence[Any]], bytes]) -> tuple[int, int]:
    """(rows, the sum of their digests mod 2**128)."""
    count = total = 0
    for values in rows:
        count += 1
        total += int.from_bytes(hashlib.blake2b(form(values), digest_size=16).digest(), "big")
    return count, total % _MOD


@dataclass(frozen=True)
class Check:
    """One table on both sides."""

    table: str
    sqlite_rows: int
    postgres_rows: int
    sqlite_sum: int
    postgres_sum: int

    @property
    def ok(self) -> bool:
        return (self.sqlite_rows, self.sqlite_sum) == (self.postgres_rows, self.postgres_sum)


def _sqlite_rows(src: sqlite3.Connection, p: Plan) -> Iterable[Sequence[Any]]:
    cursor = src.execute(f'SELECT {quoted(p.source)} FROM "{p.table}"')
    while rows := cursor.fetchmany(_ITER):
        yield from (p.row(r) for r in rows)


def _postgres_rows(dst: PgConnection, p: Plan) -> Iterable[Sequence[Any]]:
    query = sql.SQL("SELECT {} FROM {}").format(
        sql.SQL(", ").join(map(sql.Identifier, p.target)), sql.Identifier(p.table)
    )
    with dst.transaction(), dst.cursor(name=f"verify_{p.table}") as cur:
        cur.itersize = _ITER
        cur.execute(query)
        yield from cur


def verify(src: sqlite3.Connection, dst: PgConnection, plans: Sequence[Plan]) -> list[Check]:
    """Counts and checksums of every planned table, SQLite's beside PostgreSQL's."""
    checks = []
    for p in plans:
        form = canonical(p.types)
        ours = checksum(_sqlite_rows(src, p), form)
        theirs = checksum(_postgres_rows(dst, p), form)
        checks.append(Check(p.table, ours[0], theirs[0], ours[1], theirs[1]))
    return checks
