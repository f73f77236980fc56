"""Copying a SQLite listener database into PostgreSQL, for ``listener migrate --to`` (#22).

Driven by the tables and columns both databases have. ``TABLES`` names the tables that hold
facts (what collectors stored, what people decided, what was sent), parents before children so
that every foreign key holds at every step; ``DERIVED`` names what SQLite keeps from them (the
full-text index, trigger-kept counts), which PostgreSQL keeps its own way and which is never
copied. A column only PostgreSQL has is computed here by the very function its backend's writes
call (``COMPUTED``), so a copied row is the row ``save_page`` would have written.

Resumable: each batch is one PostgreSQL transaction that also records, in the ledger table
``listener_move``, the SQLite key of its last row; the next run continues after it, so a run
killed at any point stores nothing twice. Ids are kept (the identities are ``BY DEFAULT``) and
each sequence is moved past the largest at the end.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from listener.errors import StorageError
from storage.pg.connection import PgConnection
from storage.pg.mentions import author_handle_key
from storage.pg.search import search_columns, url_host

__all__ = [
    "COMPUTED", "DERIVED", "LEDGER", "TABLES", "Computed", "Plan", "Progress", "copy_table", "copy_tables",
    "exclusive", "ledger", "left_behind", "plan", "quoted", "refuse_other_data", "remaining", "reset_sequences",
    "unfilled",
]  # fmt: skip

# Facts, parents first. A table only one side has is left out (and named by ``plan``).
# source_health and run_days are kept by triggers in SQLite but by the application in PostgreSQL
# (storage/pg/schema/004.sql: in the transaction that writes the run): nothing there rebuilds
# them, and runs older than 35 days are pruned, so they are copied like facts.
TABLES = (
    "watches", "mentions", "mention_versions", "mention_watches", "cursors", "runs", "source_health",
    "run_days", "rejects", "jobs", "authors", "own_accounts", "alerts", "deliveries", "delivery_attempts",
    "digests", "triage", "triage_log", "mention_clusters", "cluster_bands", "cluster_pruned",
)  # fmt: skip
# What SQLite derives from TABLES by triggers (or SQLite's own bookkeeping): never copied.
DERIVED = frozenset({
    "mentions_fts", "mentions_fts_config", "mentions_fts_data", "mentions_fts_docsize", "mentions_fts_idx",
    "mention_buckets", "watch_buckets", "watch_hours", "watch_totals", "watch_times", "source_hours",
    "bucket_changes", "run_hours", "search_blocks", "sqlite_sequence",
})  # fmt: skip


@dataclass(frozen=True)
class Computed:
    """PostgreSQL columns the application writes: ``function`` of SQLite's ``needs`` (a tuple if several)."""

    table: str
    columns: tuple[str, ...]
    needs: tuple[str, ...]
    function: Callable[..., Any]


# Each is the function the backend's own writes call (``save_page``), never a copy of it.
COMPUTED = (
    Computed("mentions", ("author_handle_key",), ("author_handle",), author_handle_key),
    Computed("mentions", ("search_vector", "search_words"), ("text", "author_handle"), search_columns),
    Computed("mentions", ("url_host",), ("url",), url_host),
)

LEDGER = "listener_move"
_MOVE_LOCK = 0x6C6D6F7665  # "lmove": held by the one move running
_LEDGER_DDL = f"""
CREATE TABLE IF NOT EXISTS {LEDGER} (
    table_name text PRIMARY KEY,
    source text NOT NULL,           -- the SQLite file copied from
    upsert boolean NOT NULL,        -- the table had rows first (kept by a trigger): merged, not appended
    after jsonb,                    -- the SQLite key of the last row copied, in SQLite's order
    copied bigint NOT NULL DEFAULT 0,
    done boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
)"""


@dataclass(frozen=True)
class Plan:
    """How one table is copied: read ``source`` from SQLite in ``key`` order, write ``target``."""

    table: str
    key: tuple[str, ...]  # SQLite's primary key (rowid tables: their INTEGER PRIMARY KEY)
    source: tuple[str, ...]  # read from SQLite: the shared columns, then what computed ones need
    target: tuple[str, ...]  # written to PostgreSQL: the shared columns, then the computed ones
    types: tuple[str, ...]  # PostgreSQL's type of each target column
    shared: int  # how many columns both have: the first of ``source`` and of ``target``
    computed: tuple[tuple[Computed, tuple[int, ...]], ...]  # each with where its ``needs`` are in a row
    identity: tuple[str, ...]  # PostgreSQL identity columns, whose sequences follow the copied ids
    pg_key: tuple[str, ...]  # PostgreSQL's primary key (the conflict target of a merge)

    def row(self, values: Sequence[Any]) -> Sequence[Any]:
        """A SQLite row as PostgreSQL takes it: the shared values, then the computed ones."""
        as_read = not self.computed and len(self.source) == len(self.target)  # no extra key column either
        if as_read:
            return values
        out = list(values[: self.shared])
        for c, at in self.computed:
            value = c.function(*(values[i] for i in at))
            out.extend(value) if len(c.columns) > 1 else out.append(value)
        return out

    def key_of(self, values: Sequence[Any]) -> list[Any]:
        return [values[self.source.index(k)] for k in self.key]


def quoted(names: Sequence[str]) -> str:
    """SQLite column names, quoted, comma-separated."""
    return ", ".join(f'"{name}"' for name in names)


def _sqlite_columns(src: sqlite3.Connection, table: str) -> list[tuple[str, int]]:
    """(name, position in the primary key, 0 if none) of each column."""
    return [(str(r[1]), int(r[5])) for r in src.execute(f'PRAGMA table_info("{table}")').fetchall()]


def _pg_columns(dst: PgConnection, table: str) -> list[tuple[str, str, bool]]:
    """(name, type, has a sequence: an identity or a serial) of each column, in order."""
    rows = dst.execute(
        "SELECT column_name, data_type, is_identity = 'YES' OR coalesce(column_default LIKE 'nextval(%%', false) "
        "FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return [(str(n), str(t), bool(i)) for n, t, i in rows]


def _pg_key(dst: PgConnection, table: str) -> tuple[str, ...]:
    rows = dst.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = to_regclass(%s) AND i.indisprimary "
        "ORDER BY array_position(i.indkey, a.attnum)",
        (table,),
    ).fetchall()
    return tuple(str(r[0]) for r in rows)


def plan(src: sqlite3.Connection, dst: PgConnection) -> list[Plan]:
    """What to copy: each table of ``TABLES`` both databases have, its columns both have plus the computed.

    A SQLite column PostgreSQL lacks would be lost: that is a ``StorageError`` naming it (the
    two schemas must be brought level first), as is a table neither listed nor derived.
    """
    tables = {str(r[0]) for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    unknown = sorted(tables - set(TABLES) - DERIVED)
    if unknown:
        raise StorageError(f"SQLite table {unknown[0]} is neither copied nor derived (storage/pg/copy.py)")
    plans = (_plan_table(src, dst, table) for table in TABLES if table in tables)
    return [p for p in plans if p is not None]


def _plan_table(src: sqlite3.Connection, dst: PgConnection, table: str) -> Plan | None:
    theirs = _pg_columns(dst, table)
    if not theirs:
        return None
    ours = _sqlite_columns(src, table)
    names = {name for name, _ in ours}
    types = {name: kind for name, kind, _ in theirs}
    lost = sorted(names - set(types))
    if lost:
        raise StorageError(f"{table}.{lost[0]} has no column in PostgreSQL: it would not be copied")
    shared = [name for name, _, _ in theirs if name in names]
    computed = [c for c in COMPUTED if c.table == table and set(c.columns) <= set(types)]
    key = _sqlite_key(ours)
    source = tuple(dict.fromkeys([*shared, *(n for c in computed for n in c.needs), *key]))
    target = (*shared, *(name for c in computed for name in c.columns))
    return Plan(
        table, key, source, target, tuple(types[n] for n in target), len(shared),
        _placed(computed, source), tuple(name for name, _, seq in theirs if seq), _pg_key(dst, table),
    )  # fmt: skip


def _sqlite_key(columns: Sequence[tuple[str, int]]) -> tuple[str, ...]:
    """The primary key's columns in key order (rowid for a table without one)."""
    return tuple(name for name, at in sorted(columns, key=lambda c: c[1]) if at) or ("rowid",)


def _placed(
    computed: Sequence[Computed], source: Sequence[str]
) -> tuple[tuple[Computed, tuple[int, ...]], ...]:
    """Each computed entry with where its ``needs`` are in a source row."""
    return tuple((c, tuple(source.index(n) for n in c.needs)) for c in computed)


# -- the ledger ------------------------------------------------------------------


@dataclass
class Progress:
    """One table's row in the ledger."""

    upsert: bool
    after: list[Any] | None
    copied: int
    done: bool


def ledger(dst: PgConnection) -> dict[str, tuple[str, Progress]]:
    """Every table's progress with the source it came from (empty before a first run)."""
    exists = dst.execute("SELECT to_regclass(%s) IS NOT NULL", (LEDGER,)).fetchone()
    if not exists or not exists[0]:
        return {}
    rows = dst.execute(f"SELECT table_name, source, upsert, after, copied, done FROM {LEDGER}").fetchall()
    return {str(t): (str(s), Progress(bool(u), a, int(c), bool(d))) for t, s, u, a, c, d in rows}


def _has_rows(dst: PgConnection, table: str) -> bool:
    row = dst.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table))).fetchone()
    return bool(row and row[0])


def refuse_other_data(dst: PgConnection, plans: Sequence[Plan], source: str, where: str) -> None:
    """A target holding rows that no move of ``source`` put there is refused, in one line.

    Rows in a table without ids (a singleton a migration inserts, counts a trigger keeps) are
    merged when their turn comes (``_start``), never refused.
    """
    started = ledger(dst)
    others = sorted({s for s, _ in started.values() if s != source})
    if others:
        raise StorageError(
            f"{where} holds a move from {others[0]}, not from {source}: give an empty database"
        )
    # Tables with ids only: a fresh schema may hold a row or two of its own (a singleton such as
    # cluster_pruned's), and a database anyone used has watches (every command syncs them).
    filled = [p.table for p in plans if p.identity and not started and _has_rows(dst, p.table)]
    if filled:
        raise StorageError(f"{where} already holds data ({filled[0]} has rows): give an empty database")


def exclusive(dst: PgConnection, where: str) -> None:
    """One move into a database at a time: a second one is refused while the first runs (session lock)."""
    row = dst.execute("SELECT pg_try_advisory_lock(%s)", (_MOVE_LOCK,)).fetchone()
    if not row or not row[0]:
        raise StorageError(f"{where}: another listener migrate is copying into it; wait for it to end")


# -- copying -----------------------------------------------------------------------


def _batches(src: sqlite3.Connection, p: Plan, after: list[Any] | None, size: int) -> Iterator[list[Any]]:
    """SQLite's rows of ``p`` after the key ``after`` (from the start: None), in key order, ``size`` at a time."""
    cols, key = quoted(p.source), quoted(p.key)
    first = f'SELECT {cols} FROM "{p.table}" ORDER BY {key} LIMIT ?'
    rest = f'SELECT {cols} FROM "{p.table}" WHERE ({key}) > ({", ".join("?" * len(p.key))}) ORDER BY {key} LIMIT ?'
    while True:
        rows = (
            src.execute(first, (size,)) if after is None else src.execute(rest, (*after, size))
        ).fetchall()
        if not rows:
            return
        yield rows
        after = p.key_of(rows[-1])


def _write(dst: PgConnection, p: Plan, rows: Sequence[Sequence[Any]], upsert: bool) -> None:
    """COPY the rows in; a merge goes through a staging table and ``ON CONFLICT DO UPDATE``."""
    table = sql.Identifier(p.table)
    cols = sql.SQL(", ").join(map(sql.Identifier, p.target))
    into = sql.Identifier(f"_move_{p.table}") if upsert else table
    if upsert:
        dst.execute(
            sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
                into, cols, table
            )
        )
    with dst.cursor() as cur, cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(into, cols)) as copy:
        for values in rows:
            copy.write_row(p.row(values))
    if upsert:
        sets = [
            sql.SQL("{0} = excluded.{0}").format(sql.Identifier(c)) for c in p.target if c not in p.pg_key
        ]
        action = (
            sql.SQL("DO UPDATE SET {}").format(sql.SQL(", ").join(sets)) if sets else sql.SQL("DO NOTHING")
        )
        dst.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT ({}) {}").format(
                table, cols, cols, into, sql.SQL(", ").join(map(sql.Identifier, p.pg_key)), action
            )
        )


def _start(dst: PgConnection, p: Plan, source: str) -> Progress:
    """The table's progress; at its first batch, a merge if rows are already there (put by triggers)."""
    row = dst.execute(
        f"SELECT upsert, after, copied, done FROM {LEDGER} WHERE table_name = %s", (p.table,)
    ).fetchone()
    if row is not None:
        return Progress(bool(row[0]), row[1], int(row[2]), bool(row[3]))
    upsert = _has_rows(dst, p.table)
    if upsert and not p.pg_key:
        raise StorageError(f"{p.table} already has rows in PostgreSQL and no primary key to merge on")
    dst.execute(
        f"INSERT INTO {LEDGER} (table_name, source, upsert) VALUES (%s, %s, %s)", (p.table, source, upsert)
    )
    return Progress(upsert, None, 0, False)


def copy_table(
    src: sqlite3.Connection,
    dst: PgConnection,
    p: Plan,
    source: str,
    batch: int,
    progress: Callable[[str, int], None],
) -> int:
    """Copy what is left of one table, one transaction per batch; how many rows this run copied."""
    state = _start(dst, p, source)
    if state.done:
        return 0
    copied = 0
    for rows in _batches(src, p, state.after, batch):
        try:
            with dst.transaction():
                _write(dst, p, rows, state.upsert)
                dst.execute(
                    f"UPDATE {LEDGER} SET after = %s::jsonb, copied = copied + %s, updated_at = now() "
                    "WHERE table_name = %s",
                    (json.dumps(p.key_of(rows[-1])), len(rows), p.table),
                )
        except psycopg.DataError as exc:  # e.g. a NUL character, which PostgreSQL's text cannot hold
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise StorageError(
                f"{p.table}: PostgreSQL refused a row of those from key {p.key_of(rows[0])} to "
                f"{p.key_of(rows[-1])} ({reason}); nothing of them was stored"
            ) from None
        copied += len(rows)
        progress(p.table, len(rows))
    dst.execute(f"UPDATE {LEDGER} SET done = true, updated_at = now() WHERE table_name = %s", (p.table,))
    return copied


def reset_sequences(dst: PgConnection, p: Plan) -> None:
    """Each identity continues after the largest copied id (a new row never takes a copied one's)."""
    for column in p.identity:
        dst.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence(%s, %s), coalesce(max({}), 0) + 1, false) FROM {}"
            ).format(sql.Identifier(column), sql.Identifier(p.table)),
            (p.table, column),
        )


def copy_tables(
    src: sqlite3.Connection,
    dst: PgConnection,
    plans: Sequence[Plan],
    source: str,
    batch: int = 5000,
    progress: Callable[[str, int], None] = lambda table, rows: None,
) -> int:
    """Copy every planned table (what earlier runs left), then move the sequences; rows copied now."""
    dst.execute(_LEDGER_DDL)
    # A commit need not wait for the disk: a crash loses the last batches with their ledger rows
    # (one transaction each), and the next run copies them again.
    dst.execute("SET synchronous_commit = off")
    copied = sum(copy_table(src, dst, p, source, batch, progress) for p in plans)
    for p in plans:
        reset_sequences(dst, p)
    if copied:  # the planner's statistics, before the first query rather than whenever autovacuum comes
        dst.execute("ANALYZE")
    return copied


def unfilled(src: sqlite3.Connection, dst: PgConnection) -> list[tuple[str, int]]:
    """Derived tables PostgreSQL has, empty after the copy, whose SQLite twin has rows: (table, rows).

    Kept by triggers, they filled while their facts were copied; empty, they are kept by the
    application on its writes, and nothing here rebuilds them.
    """
    present = {str(r[0]) for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    found = []
    for table in sorted(DERIVED & present):
        exists = dst.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
        if exists and exists[0] and not _has_rows(dst, table):
            rows = int(src.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
            found += [(table, rows)] if rows else []
    return found


def left_behind(src: sqlite3.Connection, plans: Sequence[Plan]) -> list[tuple[str, int]]:
    """Tables of ``TABLES`` with rows in SQLite that PostgreSQL's schema lacks: (table, rows)."""
    planned = {p.table for p in plans}
    present = {str(r[0]) for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    counts = [
        (t, int(src.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0])) for t in TABLES if t in present
    ]
    return [(t, n) for t, n in counts if n and t not in planned]


def remaining(src: sqlite3.Connection, dst: PgConnection, plans: Sequence[Plan]) -> int:
    """Rows left to copy (for the progress bar's length)."""
    done = {t: (p.copied, p.done) for t, (_, p) in ledger(dst).items()}
    total = 0
    for p in plans:
        copied, finished = done.get(p.table, (0, False))
        if not finished:
            total += max(0, int(src.execute(f'SELECT count(*) FROM "{p.table}"').fetchone()[0]) - copied)
    return total
