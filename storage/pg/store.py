"""The PostgreSQL twin of ``storage.Store``: one connection, the schema migrated on open.

Composed like ``Store``: the mention and watch/run methods are its own (one mixin per
concern, each in its module), the other tables hang off attributes (``store.alerts`` ...),
so that ``storage.interfaces.ListenerStore`` holds for both backends and the product never
asks which one it has.
"""

from __future__ import annotations

import psycopg

from storage.pg.accounts import PgAccounts
from storage.pg.alerts import PgAlerts
from storage.pg.authors import PgAuthors
from storage.pg.buckets import PgBuckets
from storage.pg.clusters import PgClusters
from storage.pg.connection import PgConnection, connect
from storage.pg.digest import PgDigest
from storage.pg.failures import guard_parts, pg_error, pg_guarded
from storage.pg.mentions import PgMentions
from storage.pg.migrations import migrate
from storage.pg.runs import PgRuns
from storage.pg.scoring import PgScoring
from storage.pg.search import PgSearch, index_unindexed
from storage.pg.stories import PgStories
from storage.pg.triage import PgTriage

__all__ = ["PgStore"]


@pg_guarded  # a server that fails is one StorageError line (storage/pg/failures.py)
class PgStore(PgMentions, PgScoring, PgBuckets, PgSearch, PgRuns):
    """A listener database on a PostgreSQL server."""

    def __init__(self, conn: PgConnection) -> None:
        super().__init__(conn)
        self.authors = PgAuthors(conn)
        self.accounts = PgAccounts(conn)
        self.alerts = PgAlerts(conn)
        self.clusters = PgClusters(conn)
        self.digest = PgDigest(conn)
        self.stories = PgStories(conn)
        self.triage = PgTriage(conn)

    @classmethod
    def open(cls, url: str, password: str | None = None) -> PgStore:
        """Connect and bring the schema up to date (as ``Store.open`` does for a SQLite file)."""
        conn = connect(url, password)
        try:
            migrate(conn)
            index_unindexed(conn)
        except (psycopg.Error, RuntimeError) as exc:  # e.g. a role that may not create tables
            conn.close()
            raise pg_error(exc, url) from None
        store = cls(conn)
        guard_parts(store)
        return store

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> PgStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
