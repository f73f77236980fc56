"""Every error listener raises on purpose.

Each message is one line: the thing, what happened, the fix. Each class has a
stable ``slug`` that is stored in ``runs.error`` as data. This module imports
nothing of ours so that every package may use it.
"""

from __future__ import annotations

from datetime import datetime

__all__ = [
    "AuthError",
    "CollectorError",
    "ConfigError",
    "DeliveryError",
    "ListenerError",
    "MalformedPayload",
    "QueryError",
    "RateLimited",
    "SourceUnavailable",
    "StorageError",
]


class ListenerError(Exception):
    """Base class: caught once, at the CLI edge, and printed as ``Error: <message>``."""

    slug = "error"


class ConfigError(ListenerError):
    slug = "config"


class StorageError(ListenerError):
    slug = "storage"


class QueryError(ListenerError):
    """A query that does not parse; ``column`` is 1-based."""

    slug = "query"

    def __init__(self, message: str, query: str, column: int) -> None:
        self.query = query
        self.column = column
        self.reason = message
        super().__init__(f"{message} at column {column}")


class DeliveryError(ListenerError):
    """A channel could not deliver; the message stays queued and is retried."""

    slug = "delivery"


class CollectorError(ListenerError):
    """A source failed; the run is recorded and skipped, other sources go on."""

    slug = "collector"


class AuthError(CollectorError):
    slug = "auth"


class RateLimited(CollectorError):
    """The source said to come back later; the scheduler skips it until ``retry_at``."""

    slug = "rate-limited"

    def __init__(self, message: str, retry_at: datetime | None) -> None:
        self.retry_at = retry_at
        super().__init__(message)


class SourceUnavailable(CollectorError):
    slug = "unavailable"


class MalformedPayload(CollectorError):
    slug = "malformed"
