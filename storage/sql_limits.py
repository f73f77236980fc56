"""What ``listener sql`` promises on every backend: the caps, their one-line messages, the result.

SQLite (``storage.readonly``) and PostgreSQL (``storage.pg.readonly``) lock a query
down each in their own way, but stop its output at the same caps with the same words,
so that a script reading ``listener sql`` sees one contract whatever the config names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from listener.errors import StorageError

__all__ = [
    "MAX_BYTES",
    "MAX_ROWS",
    "ReadOnlyRefused",
    "SqlResult",
    "capped",
    "check_given",
    "mb",
    "no_statement",
    "timed_out",
    "too_big",
]

MAX_ROWS = 100_000
MAX_BYTES = 100_000_000  # of data read; also the longest one string or blob may be


class ReadOnlyRefused(StorageError):
    slug = "read-only"


@dataclass(frozen=True, slots=True)
class SqlResult:
    """The rows read; ``stopped`` says why there are no more when a cap cut them short."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    stopped: str | None = None


def mb(size: int) -> str:
    return f"{size / 1e6:g} MB"


def check_given(sql: str) -> None:
    if not sql.strip():
        raise StorageError(
            'no SQL given: pass one statement, e.g. listener sql "SELECT count(*) FROM mentions"'
        )


def no_statement() -> StorageError:
    return StorageError(
        'no SQL statement in the query, only a comment: pass one, e.g. "SELECT count(*) FROM mentions"'
    )


def timed_out(timeout: float) -> StorageError:
    return StorageError(
        f"query stopped after the {timeout:g}s time limit; add a LIMIT or WHERE, or raise --timeout"
    )


def too_big(limit: int) -> StorageError:
    return StorageError(
        f"a string or blob in the query is over the {mb(limit)} limit; "
        "select part of it with substr(), or raise --max-bytes"
    )


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes) else 8


def capped(columns: Sequence[str], rows: Iterable[Sequence[Any]], max_rows: int, max_bytes: int) -> SqlResult:
    """Rows one at a time, so that no more than one past a cap is ever read.

    A value longer than ``max_bytes`` on its own is refused (SQLite refuses to build one;
    a server sends it, and it stops here instead of reaching the output).
    """
    kept: list[tuple[Any, ...]] = []
    size = 0
    for row in rows:
        if len(kept) >= max_rows:
            return SqlResult(
                list(columns), kept,
                f"output stopped at the {max_rows:,}-row cap; add a LIMIT, or raise --max-rows",
            )  # fmt: skip
        sizes = [_size(v) for v in row]
        if any(s > max_bytes for s in sizes):
            raise too_big(max_bytes)
        size += sum(sizes)
        if size > max_bytes:
            return SqlResult(
                list(columns), kept,
                f"output stopped after {len(kept):,} rows at the {mb(max_bytes)} cap; "
                "add a LIMIT or select fewer columns, or raise --max-bytes",
            )  # fmt: skip
        kept.append(tuple(row))
    return SqlResult(list(columns), kept)
