"""The SQLite schema and every read and write listener makes.

``Store`` is the SQLite backend; ``storage.interfaces`` holds the Protocols it
implements, which a second backend implements too.
"""

from storage.interfaces import (
    AccountReads,
    AlertStore,
    AuthorStore,
    ClusterStore,
    DigestReads,
    ListenerStore,
    MentionStore,
    WatchRunStore,
)
from storage.rows import SearchFilters
from storage.store import Hit, StatusRow, Store, WatchRow

__all__ = [
    "AccountReads",
    "AlertStore",
    "AuthorStore",
    "ClusterStore",
    "DigestReads",
    "Hit",
    "ListenerStore",
    "MentionStore",
    "SearchFilters",
    "StatusRow",
    "Store",
    "WatchRow",
    "WatchRunStore",
]
