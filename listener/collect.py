"""One collection pass: every enabled network x watch (and feed), page by page into the store.

Collectors only fetch and normalise; this service owns the rest: it skips a
network until its rate-limit reset, keeps within monthly read budgets, links
each mention to every watch its text matches locally, stores each page with its
cursor in one transaction, and writes one ``runs`` row per source. A failing
source is recorded (slug, one-line message) and skipped; the others go on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import collectors
from collectors._common import REDACTOR
from collectors.base import BudgetSettings, Collector, Context, NetworkSettings
from listener.budgets import StoreLedger, period_start
from listener.errors import ListenerError, RateLimited, StorageError
from listener.model import Feed, Page, SaveResult, Watch
from listener.query import Query
from listener.records import utcnow
from storage.interfaces import ListenerStore

__all__ = ["Outcome", "Pass", "Source", "collect"]

log = logging.getLogger(__name__)
DEFAULT_BACKOFF = timedelta(minutes=15)  # when a 429 names no reset time


@dataclass(frozen=True, slots=True)
class Source:
    """One thing to collect: a watch's search on a network, or a feed (account mentions, a stream)."""

    network: str
    target: Watch | Feed

    @property
    def name(self) -> str:
        return self.target.name

    @property
    def feed(self) -> Feed | None:
        return self.target if isinstance(self.target, Feed) else None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one source did in this pass, for the summary table and the exit code."""

    network: str
    source: str
    fetched: int = 0
    new: int = 0
    duplicates: int = 0
    rejected: int = 0
    error: str | None = None  # the error's slug
    message: str | None = None
    retry_at: datetime | None = None
    skipped: bool = False
    seconds: float = 0.0


def _one_line(text: str) -> str:
    return REDACTOR.scrub(" ".join(text.split()))


def _budget_settings(cls: type[Collector], settings: NetworkSettings) -> BudgetSettings | None:
    """The settings as a ``BudgetSettings``, for a network that declares a monthly post budget."""
    if not cls.has_budget:
        return None
    if not isinstance(settings, BudgetSettings):
        raise TypeError(f"{cls.name}: has_budget needs Settings to extend BudgetSettings")
    return settings


class Pass:
    """A collection pass over configured networks; ``sources()`` then ``run(source)`` for each."""

    def __init__(
        self,
        store: ListenerStore,
        networks: Mapping[str, NetworkSettings],
        watches: Sequence[Watch],
        *,
        env: Mapping[str, str],
        now: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] | None = None,
        watch_networks: Mapping[str, Sequence[str] | None] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.store, self.watches = store, list(watches)
        self.networks = {name: s for name, s in networks.items() if s.enabled}
        self.watch_networks = watch_networks or {}
        self.env, self.now, self.sleep = env, now, sleep
        self.should_stop = should_stop  # checked between pages: a stop never splits a page from its cursor
        self.queries = {w.name: Query(w.root) for w in self.watches}
        self.collectors: dict[str, Collector] = {}
        self.broken: dict[str, ListenerError] = {}  # network -> why it cannot run this pass
        store.sync_watches([(w.name, w.query) for w in self.watches], now())

    def _collector(self, network: str) -> Collector | None:
        if network not in self.collectors and network not in self.broken:
            context = Context(clock=self.now, sleep=self.sleep, ledger=StoreLedger(self.store, network))
            try:
                self.collectors[network] = collectors.load(network)(self.networks[network], self.env, context)
            except ListenerError as exc:
                self.broken[network] = exc
        return self.collectors.get(network)

    def sources(self, network: str | None = None, watch: str | None = None) -> list[Source]:
        """Every (network, watch) pair and each network's feeds, optionally narrowed."""
        found: list[Source] = []
        for name in sorted(self.networks):
            if network is None or name == network:
                found += self._sources_of(name)
        return [s for s in found if watch is None or s.name == watch]

    def _sources_of(self, network: str) -> list[Source]:
        cls, collector = collectors.load(network), self._collector(network)
        found = [Source(network, w) for w in self.watches if cls.searches and self._covers(w.name, network)]
        feeds: list[Feed] = []
        if collector is not None and cls.has_feeds:
            feeds = collector.feeds()
        elif collector is None and not cls.searches:
            feeds = [Feed(network, keep_all=True)]  # a feed-only network that cannot start: record why
        if self.watches:  # feeds run alongside watches, as they always have
            found += [Source(network, f) for f in feeds]
        return found

    def _covers(self, watch: str, network: str) -> bool:
        only = self.watch_networks.get(watch)
        return only is None or network in only

    def run(self, source: Source) -> Outcome:
        """Collect one source into the store and record the run; never raises a collector's error."""
        started = time.perf_counter()
        network = source.network
        waiting = self.store.rate_limited_until(network, self.now())
        if waiting is not None:
            note = _in_context(f"{network}: rate limited until {waiting:%Y-%m-%d %H:%M} UTC; skipped", source)
            return Outcome(
                network, source.name, error=RateLimited.slug, message=note, retry_at=waiting, skipped=True
            )
        budget = self._budget(network)
        if budget is not None and budget <= 0:
            note = _in_context(
                f"{network}: monthly post budget used up; raise monthly_post_budget or wait for the reset",
                source,
            )
            return Outcome(network, source.name, error="budget", message=note, skipped=True)
        run_id = self.store.start_run(network, source.name, self.now())
        total, fetched, units = SaveResult(), 0, 0
        error: ListenerError | Exception | None = self.broken.get(network)
        try:
            if error is None:
                collector = self.collectors[network]
                for page in self._pages(collector, source, budget):
                    fetched += len(page.mentions) + len(page.rejects)
                    units += page.units
                    result = self.store.save_page(self._linked(page, source), self.now())
                    total = SaveResult(*(a + b for a, b in zip(_fields(total), _fields(result), strict=True)))
                    if self.should_stop():
                        break
        except StorageError:
            raise  # the database itself is failing: nothing else can be recorded either
        except ListenerError as exc:
            error = exc
        except Exception as exc:  # a bug in a collector must not stop the other sources
            log.exception("%s (%s) failed", network, source.name)
            error = exc
        slug: str | None = None
        message: str | None = None
        retry_at: datetime | None = None
        if error is not None:
            slug = getattr(error, "slug", "error")
            text = (
                str(error)
                if isinstance(error, ListenerError)
                else f"unexpected {type(error).__name__}: {error}"
            )
            message = _one_line(_in_context(text, source))
            if isinstance(error, RateLimited):
                retry_at = error.retry_at or self.now() + DEFAULT_BACKOFF
        self.store.finish_run(
            run_id,
            total,
            fetched,
            error=slug,
            error_message=message,
            rate_limit_reset=retry_at,
            units=units,
            now=self.now(),
        )
        (log.warning if error is not None else log.info)(
            "%s %s: fetched %d, new %d%s",
            network,
            source.name,
            fetched,
            total.new,
            f"; {message}" * bool(message),
        )
        return Outcome(
            network, source.name, fetched, total.new, total.duplicates + total.edited, total.rejected,
            slug, message, retry_at, seconds=time.perf_counter() - started,
        )  # fmt: skip

    def _budget(self, network: str) -> int | None:
        settings = _budget_settings(collectors.load(network), self.networks[network])
        if settings is None or not settings.monthly_post_budget:
            return None
        start = period_start(self.now(), settings.budget_day)
        return settings.monthly_post_budget - self.store.fetched_since(network, start)

    def _pages(self, collector: Collector, source: Source, budget: int | None) -> Iterator[Page]:
        cursor = self.store.get_cursor(source.network, source.name)
        return collector.fetch(source.target, cursor, budget)

    def _linked(self, page: Page, source: Source) -> Page:
        """The page with each mention linked to the watches it matches; stream noise dropped."""
        kept, matches = [], {}
        for mention in page.mentions:
            names = [name for name, query in self.queries.items() if query.matches(mention)]
            if source.feed is None and source.name not in names:
                names.append(source.name)  # the network found it for this watch
            if names or (source.feed is not None and source.feed.keep_all):
                kept.append(mention)
            if names:
                matches[mention.native_id] = names
        return replace(page, mentions=kept, matches=matches)


def _in_context(text: str, source: Source) -> str:
    """Make an error name the network and the watch: ``x (watch 'brand'): token rejected ...``."""
    network = source.network
    context = f"{network} ({source.name})" if source.feed else f"{network} (watch {source.name!r})"
    if text.startswith(f"{network} ("):
        return text
    if text.startswith(f"{network}:"):
        return context + text[len(network) :]
    return f"{context}: {text}"


def _fields(result: SaveResult) -> tuple[int, int, int, int]:
    return result.new, result.edited, result.duplicates, result.rejected


def collect(
    store: ListenerStore,
    networks: Mapping[str, NetworkSettings],
    watches: Sequence[Watch],
    *,
    env: Mapping[str, str],
    now: Callable[[], datetime] = utcnow,
    network: str | None = None,
    watch: str | None = None,
    sleep: Callable[[float], None] | None = None,
    watch_networks: Mapping[str, Sequence[str] | None] | None = None,
) -> list[Outcome]:
    """One pass over every source; see ``Pass`` to drive it step by step (progress bars)."""
    run = Pass(store, networks, watches, env=env, now=now, sleep=sleep, watch_networks=watch_networks)
    return [run.run(source) for source in run.sources(network, watch)]
