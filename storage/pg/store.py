"""The PostgreSQL twin of ``storage.Store``: one connection, the schema migrated on open.

Composed like ``Store``: the mention and watch/run methods are its own (one mixin per
concern, each in its module), the other tables hang off attributes (``store.alerts`` ...),
so that ``storage.interfaces.ListenerStore`` holds for both backends and the product never
asks which one it has.
"""

from __future__ import annotations

from storage.pg.authors import PgAuthors
from storage.pg.buckets import PgBuckets
from storage.pg.connection import PgConnection, connect
from storage.pg.mentions import PgMentions
from storage.pg.migrations import migrate
from storage.pg.scoring import PgScoring

__all__ = ["PgStore"]


class PgStore(PgMentions, PgScoring, PgBuckets):
    """A listener database on a PostgreSQL server."""

    def __init__(self, conn: PgConnection) -> None:
        super().__init__(conn)
        self.authors = PgAuthors(conn)

    @classmethod
    def open(cls, url: str, password: str | None = None) -> PgStore:
        """Connect and bring the schema up to date (as ``Store.open`` does for a SQLite file)."""
        conn = connect(url, password)
        migrate(conn)
        return cls(conn)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> PgStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
