"""The PostgreSQL backend (#22): the same storage interfaces as the SQLite ``Store``, on a server.

For teams past one machine: several daemons writing one store, several readers, and a
database their operations already back up and replicate. SQLite stays the default. The
schema is its own numbered series (``storage/pg/schema``), applied by ``storage.pg.migrations``.
"""

from __future__ import annotations

from storage.pg.connection import connect
from storage.pg.migrations import SCHEMA_VERSION, migrate

__all__ = ["SCHEMA_VERSION", "connect", "migrate"]
