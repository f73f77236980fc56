"""Checking a copy (``listener migrate``): each table's rows counted and summed on both sides.

Every row is put in one canonical text on both sides, driven by PostgreSQL's column type: a
time as UTC ISO-8601 with microseconds, ``jsonb`` re-serialised with sorted keys (it reorders
them and drops spaces; ``json`` is kept as written), numbers as their digits (a float as Python's ``repr``), flags as
``true``/``false``. SQLite's row goes through ``Plan.row`` first, the copy's own transformation,
so the computed columns are checked too. PostgreSQL renders what it can itself (times, numbers,
flags: ``_FORMS``' SQL), so only JSON and floats go through Python on its side. The checksum is
the sum of the rows' 128-bit BLAKE2 digests: independent of order (the two engines sort text
differently), changed by any row missing, extra, doubled or different.

The SQLite side is summed in a process of its own while this one sums PostgreSQL's: at 10M
mentions, hashing is most of the time the move takes.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from psycopg import sql

from storage.pg.connection import PgConnection
from storage.pg.copy import Plan, quoted

__all__ = ["Check", "canonical", "checksum", "sqlite_sums", "verify"]

_MOD = 1 << 128
_ITER = 10_000  # rows per fetch
_NULL = "\x00"  # PostgreSQL text never holds it: no value reads as NULL
_UTC_TEXT = 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'
_LEXEME = re.compile(r"'(?:[^']|'')*'(?::[0-9A-D,]+)?")  # 'lexeme':1,2 as tsvector's text writes it


def _time(value: Any) -> str:
    text = str(value)
    if len(text) == 25 and text.endswith("+00:00") and text[10] == "T":  # utc_iso's form: most of them
        return f"{text[:19]}.000000+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:  # SQLite text without an offset: PostgreSQL read it in the session's UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _json(value: Any) -> str:
    parsed = json.loads(value) if isinstance(value, str | bytes) else value
    return json.dumps(parsed, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _tsvector(value: Any) -> str:
    """A tsvector's lexemes with their positions, sorted (PostgreSQL sorts them its own way)."""
    return " ".join(sorted(_LEXEME.findall(str(value))))


def _int(value: Any) -> str:
    return str(int(value))


# PostgreSQL type: (SQLite's value to canonical text, PostgreSQL's expression for it, and whether
# PostgreSQL's value still needs the Python function).
_FORMS: dict[str, tuple[Callable[[Any], str], str, bool]] = {
    "timestamp with time zone": (_time, f"to_char({{}} AT TIME ZONE 'UTC', '{_UTC_TEXT}')", False),
    "jsonb": (_json, "{}::text", True),
    "json": (str, "{}::text", False),  # kept as written (alerts' ranked maps): compared as written
    "boolean": (lambda v: "true" if v else "false", "{}::text", False),
    "bigint": (_int, "{}::text", False),
    "integer": (_int, "{}::text", False),
    "smallint": (_int, "{}::text", False),
    "double precision": (lambda v: repr(float(v)), "{}", True),
    "real": (lambda v: repr(float(v)), "{}", True),
    "bytea": (lambda v: bytes(v).hex(), "encode({}, 'hex')", False),
    "tsvector": (_tsvector, "{}::text", True),
}
_TEXT = (str, "{}::text", False)  # text, and any other type as PostgreSQL writes it (a date)


def canonical(functions: Sequence[Callable[[Any], str] | None]) -> Callable[[Sequence[Any]], bytes]:
    """A row's canonical bytes, each value through its function (None: already canonical text)."""
    pairs = list(functions)

    def form(values: Sequence[Any]) -> bytes:
        cells = [_NULL if v is None else v if f is None else f(v) for f, v in zip(pairs, values, strict=True)]
        return "\x1f".join(cells).encode("utf-8", "surrogatepass")

    return form


def checksum(rows: Iterable[Sequence[Any]], form: Callable[[Sequence[Any]], bytes]) -> tuple[int, int]:
    """(rows, the sum of their digests mod 2**128)."""
    count = total = 0
    blake = hashlib.blake2b
    for values in rows:
        count += 1
        total += int.from_bytes(blake(form(values), digest_size=16).digest(), "big")
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
        yield from map(p.row, rows)


def sqlite_sums(path: str, plans: Sequence[Plan]) -> list[tuple[int, int]]:
    """(rows, checksum) of each planned table of the SQLite file at ``path`` (read-only)."""
    src = sqlite3.connect(f"{Path(path).as_uri()}?mode=ro", uri=True)
    try:
        return [
            checksum(_sqlite_rows(src, p), canonical([_FORMS.get(t, _TEXT)[0] for t in p.types]))
            for p in plans
        ]
    finally:
        src.close()


def _postgres_sum(dst: PgConnection, p: Plan) -> tuple[int, int]:
    forms = [_FORMS.get(t, _TEXT) for t in p.types]
    exprs = [sql.SQL(form[1]).format(sql.Identifier(c)) for form, c in zip(forms, p.target, strict=True)]
    query = sql.SQL("SELECT {} FROM {}").format(sql.SQL(", ").join(exprs), sql.Identifier(p.table))
    with dst.transaction(), dst.cursor(name=f"verify_{p.table}") as cur:
        cur.itersize = _ITER
        cur.execute(query)
        return checksum(cur, canonical([form[0] if form[2] else None for form in forms]))


def verify(path: str, dst: PgConnection, plans: Sequence[Plan]) -> list[Check]:
    """Counts and checksums of every planned table: the SQLite file at ``path`` beside PostgreSQL."""
    spawn = multiprocessing.get_context("spawn")  # never fork: the child would share the server's socket
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        ours = pool.submit(sqlite_sums, path, list(plans))
        theirs = [_postgres_sum(dst, p) for p in plans]
        sums = ours.result()
    return [Check(p.table, o[0], t[0], o[1], t[1]) for p, o, t in zip(plans, sums, theirs, strict=True)]
