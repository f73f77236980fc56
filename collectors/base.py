"""The collector contract: what every network module provides, and what the runner gives it.

A collector turns a network's payloads into ``Mention`` records, a page at a
time, each page carrying the cursor to resume from after it. Collectors never
touch SQL: the runner in ``listener`` stores each page and its cursor in one
transaction. Failures are raised as ``listener.errors.CollectorError``
subclasses (``AuthError``, ``RateLimited(retry_at)``, ``SourceUnavailable``).

What a network can do is declared on its class (``searches``, ``has_feeds``,
``has_quota``, ``has_budget``), so the runner reads capabilities instead of
probing instances; what it needs from the runner (clock, sleep, ledger, an
HTTP transport) comes in one ``Context`` at construction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, Protocol

from pydantic import Field

from listener.model import Clock, Cursor, Feed, Page, Watch
from listener.records import utcnow
from listener.settings import Section

if TYPE_CHECKING:
    import httpx  # the Context's transport type only: validating a config imports no HTTP client

__all__ = [
    "BudgetSettings",
    "Collector",
    "Context",
    "Ledger",
    "NetworkSettings",
    "QuotaSettings",
]


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


class BudgetSettings(NetworkSettings):
    """Settings of a network whose plan caps the posts read a month (``has_budget``): the runner keeps within it."""

    monthly_post_budget: int | None = Field(default=None, ge=1)  # the plan's monthly read cap
    budget_day: int = Field(default=1, ge=1, le=28)  # day of the month the cap resets


class QuotaSettings(NetworkSettings):
    """Settings of a network with a daily unit quota (``has_quota``): they report its use without the collector."""

    def quota_status(self, ledger: Ledger, now: datetime) -> tuple[int, int, datetime]:
        """(units used, units allowed, when the allowance resets), for ``listener status``."""
        raise NotImplementedError


class Ledger(Protocol):
    """What a collector may read of its own network's past runs, to keep within a quota.

    The runner passes one in ``Context.ledger``. It is read-only and answers from
    the ``runs`` table, where each run records the ``units`` its pages declared:
    the collector never touches SQL.
    """

    def units_since(self, since: datetime) -> int: ...

    def sources_since(self, since: datetime) -> set[str]: ...


@dataclass(frozen=True, slots=True)
class Context:
    """What the runner lends a collector for its lifetime.

    ``clock`` is the time the runner reads (the demo's story, a test's hand-moved
    clock); ``sleep`` replaces the wait between retries (``None``: really wait);
    ``ledger`` is the collector's view of its past runs (``None`` when run outside
    the runner: nothing to count against); ``transport`` replaces the network for
    the collectors built on httpx (tests give an ``httpx.MockTransport``).
    """

    clock: Clock = utcnow
    sleep: Callable[[float], None] | None = None
    ledger: Ledger | None = None
    transport: httpx.BaseTransport | None = None


class Collector:
    """The base every collector class extends: declared capabilities, the context, and ``fetch``.

    ``fetch`` gets a ``Watch`` (the network's search for that query) or one of the
    collector's own ``feeds()``; ``budget``, for a network that ``has_budget``, is
    how many posts the run may still read (``None``: no cap).
    """

    name: ClassVar[str]  # config section, CLI value, mentions.network, runs.network
    Settings: ClassVar[type[NetworkSettings]]
    # False for networks without keyword search (Facebook Pages, Instagram): only their feeds run.
    searches: ClassVar[bool] = True
    has_feeds: ClassVar[bool] = False  # feeds() may list sources of its own (accounts, streams)
    has_quota: ClassVar[bool] = False  # quota_status() reports units for ``listener status``
    has_budget: ClassVar[bool] = False  # Settings is a BudgetSettings; fetch honours ``budget``

    def __init__(
        self, settings: NetworkSettings, env: Mapping[str, str], context: Context | None = None
    ) -> None:
        self.context = context or Context()

    @property
    def clock(self) -> Clock:
        return self.context.clock

    @property
    def sleep(self) -> Callable[[float], None] | None:
        return self.context.sleep

    @property
    def ledger(self) -> Ledger | None:
        return self.context.ledger

    def feeds(self) -> list[Feed]:
        """The sources besides the watches' searches, as configured (empty unless ``has_feeds``)."""
        return []

    @staticmethod
    def quota_status(settings: NetworkSettings, ledger: Ledger, now: datetime) -> tuple[int, int, datetime]:
        """(units used, units allowed, when the allowance resets), for a network that ``has_quota``."""
        raise NotImplementedError("this network declares no quota")

    def fetch(self, source: Watch | Feed, cursor: Cursor | None, budget: int | None = None) -> Iterator[Page]:
        """Pages newer than ``cursor``, newest first; each page carries the cursor to resume from after it."""
        raise NotImplementedError
