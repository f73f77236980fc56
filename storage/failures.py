"""Storage speaks one error: a failing disk or file leaves it as one ``StorageError`` line with the fix.

The CLI prints a ``ListenerError`` as one line and the daemon logs it; an
``sqlite3.Error`` escaping from here would be a traceback that names neither
the file nor what to do. So every public method of the storage classes is
wrapped (``@guarded``), and ``describe`` turns SQLite's words into the fix.
"""

from __future__ import annotations

import errno
import functools
import inspect
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from listener.errors import StorageError

__all__ = ["describe", "guard_methods", "guarded", "storage_error"]

T = TypeVar("T", bound=type)
# Errors of the data or of our SQL, not of the disk: they keep their type, so
# that a collector's bad payload fails its own source and not the whole pass.
_NOT_FAILURES = (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.DataError, sqlite3.InterfaceError)
FULL_BELOW = 1 << 20  # bytes free under which an I/O error is most likely a full disk


def _free(path: Path) -> int | None:
    try:
        return shutil.disk_usage(path.parent if not path.is_dir() else path).free
    except OSError:
        return None


# (words in SQLite's message, error-name prefixes, the fix), first match wins.
_FIXES: list[tuple[tuple[str, ...], tuple[str, ...], str]] = [
    (("locked", "busy"), ("SQLITE_BUSY", "SQLITE_LOCKED"),
     "another process is writing: wait for it or stop it, then retry"),
    (("not a database",), ("SQLITE_NOTADB",), "point --db (or database.path) at a listener database"),
    (("malformed",), ("SQLITE_CORRUPT",),
     "the file is damaged: restore it from a backup, or salvage it with sqlite3's .recover"),
    (("readonly", "read-only"), ("SQLITE_READONLY",),
     "the database cannot be written here: check the file's permissions and the mount"),
    (("unable to open", "Permission denied"), ("SQLITE_CANTOPEN",), "check the path exists and is writable"),
    ((), ("SQLITE_IOERR",), "the disk or the file failed: check the disk (dmesg) and free space, then retry"),
]  # fmt: skip


def _disk_full(exc: BaseException, name: str, free: int | None) -> bool:
    """SQLITE_FULL, ENOSPC, or a failure to write or make a file (-wal, -shm) with almost no space left."""
    if name == "SQLITE_FULL" or "disk is full" in str(exc) or getattr(exc, "errno", None) == errno.ENOSPC:
        return True
    cannot_write = name.startswith(("SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN"))
    return cannot_write and free is not None and free < FULL_BELOW


def describe(exc: BaseException, path: Path | None) -> str:
    """What went wrong with the database at ``path``, and what to do about it, on one line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    name = getattr(exc, "sqlite_errorname", "") or ""
    free = _free(path) if path is not None else None
    if _disk_full(exc, name, free):
        return (
            f"the disk is full ({free or 0:,} bytes free); free some space, then retry "
            "(the last write was rolled back: nothing half-written was kept)"
        )
    for words, names, fix in _FIXES:
        if any(word in text for word in words) or (names and name.startswith(names)):
            return f"{text}; {fix}"
    return text


def storage_error(exc: BaseException, path: Path | None) -> StorageError:
    where = f"database {path}" if path is not None else "database"
    return StorageError(f"{where}: {describe(exc, path)}")


def _path_of(owner: Any) -> Path | None:
    """The database file, for the message: the store knows it; a table asks its connection."""
    path = getattr(owner, "path", None)
    if path is not None:
        return Path(path)
    conn = getattr(owner, "conn", None)
    try:
        row = conn.execute("PRAGMA database_list").fetchone() if conn is not None else None
    except sqlite3.Error:
        return None
    return Path(row[2]) if row and row[2] else None


def _sqlite_failure(owner: Any, exc: BaseException) -> StorageError | None:
    if isinstance(exc, _NOT_FAILURES) or not isinstance(exc, sqlite3.Error | OSError):
        return None
    return storage_error(exc, _path_of(owner))


Translate = Callable[[Any, BaseException], "StorageError | None"]


def _wrap(method: Callable[..., Any], translate: Translate) -> Callable[..., Any]:
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def generator(self: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from method(self, *args, **kwargs)
            except Exception as exc:
                error = translate(self, exc)
                if error is None:
                    raise
                raise error from exc

        return generator

    @functools.wraps(method)
    def plain(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            error = translate(self, exc)
            if error is None:
                raise
            raise error from exc

    return plain


def guard_methods(cls: T, translate: Translate, inherited: bool = False) -> T:
    """Wrap the public methods of ``cls`` (with ``inherited``, its bases' too) so that the
    errors ``translate`` knows leave as the ``StorageError`` it makes; others keep their type."""
    owners = [c for c in reversed(cls.__mro__) if c is not object] if inherited else [cls]
    members = {name: member for owner in owners for name, member in vars(owner).items()}
    for name, member in members.items():
        if not name.startswith("_") and inspect.isfunction(member):
            setattr(cls, name, _wrap(member, translate))
    return cls


def guarded(cls: T) -> T:
    """Wrap every public method of ``cls`` so that SQLite and OS errors leave as ``StorageError``."""
    return guard_methods(cls, _sqlite_failure)
