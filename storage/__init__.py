"""The SQLite schema and every read and write listener makes."""

from storage.search import SearchFilters
from storage.store import Hit, StatusRow, Store, WatchRow

__all__ = ["Hit", "SearchFilters", "StatusRow", "Store", "WatchRow"]
