"""The collector contract: what every network module provides.

A collector turns a network's payloads into ``Mention`` records, a page at a
time, each page carrying the cursor to resume from after it. Collectors never
touch SQL: the runner in ``listener`` stores each page and its cursor in one
transaction. Failures are raised as ``listener.errors.CollectorError``
subclasses (``AuthError``, ``RateLimited(retry_at)``, ``SourceUnavailable``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Protocol

from pydantic import Field

from listener.query import Node
from listener.records import Page
from listener.settings import Section

__all__ = ["Collector", "Ledger", "NetworkSettings", "Watch"]


class NetworkSettings(Section):
    """Settings every network section of the config has; collectors subclass it.

    Secrets are never values here, only the names of environment variables
    (keys ending in ``_env``).
    """

    enabled: bool = True
    interval_minutes: int = Field(default=15, ge=1, le=24 * 60)
    timeout_seconds: float = Field(default=15.0, gt=0)  # per request
    retry_attempts: int = Field(default=3, ge=1, le=10)  # tries of a request that failed transiently
    retry_backoff_seconds: float = Field(default=2.0, ge=0)  # first wait between them, doubling


@dataclass(frozen=True, slots=True)
class Watch:
    """A named query, as the collectors see it."""

    name: str
    query: str
    root: Node


class Ledger(Protocol):
    """What a collector may read of its own network's past runs, to keep within a quota.

    The runner sets ``collector.ledger`` when the collector has that attribute.
    It is read-only and answers from the ``runs`` table, where each run records
    the ``units`` its pages declared: the collector never touches SQL.
    """

    def units_since(self, since: datetime) -> int: ...

    def sources_since(self, since: datetime) -> set[str]: ...


class Collector(Protocol):
    name: ClassVar[str]  # config section, CLI value, mentions.network, runs.network
    Settings: ClassVar[type[NetworkSettings]]
    # False for networks without keyword search (Facebook Pages, Instagram): only their feeds run.
    searches: ClassVar[bool]

    def __init__(self, settings: NetworkSettings, env: Mapping[str, str]) -> None: ...

    def fetch(self, watch: Watch, cursor: str | None) -> Iterator[Page]:
        """Pages newer than ``cursor``, oldest first is not required; each page has its next cursor."""
        ...
