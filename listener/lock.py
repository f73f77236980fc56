"""One daemon per database: an advisory lock file beside it.

``flock`` locks belong to the open file, so the kernel releases them when the
process dies, however it dies: a lock left by a SIGKILLed daemon is stale by
construction and never blocks a restart. The file holds the owner's pid, for
the error message.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from listener.errors import ListenerError

__all__ = ["DaemonLock", "LockHeld"]


class LockHeld(ListenerError):
    slug = "locked"


class DaemonLock:
    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".lock")
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        try:  # private, like the database beside it
            handle = os.fdopen(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), "a+", encoding="ascii")
        except OSError as exc:
            raise LockHeld(
                f"cannot create the lock file {self.path} ({exc.strerror}); the database's folder must be "
                "writable by the daemon"
            ) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid = handle.read().strip() or "?"
            handle.close()
            raise LockHeld(
                f"another 'listener run' (pid {pid}) is already using {self.path.with_suffix('')}; "
                "stop it first, or point --db at another database"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def held_by_other(self) -> bool:
        """Whether a daemon is running on this database right now (a stale file does not count)."""
        if not self.path.exists():
            return False
        with self.path.open("r", encoding="ascii") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
        return False
