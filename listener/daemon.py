"""``listener run``: the APScheduler daemon that collects, scores, alerts and sends the digest.

One job per source (network x watch or feed) at its network's interval, with
jitter, ``max_instances=1`` and coalescing; jobs run one at a time on a single
worker thread, so the one SQLite connection is never shared by two writers.
A SIGTERM or SIGINT lets the running job finish its current page (each page is
stored with its cursor in one transaction) and exits. A SIGKILL loses at most
the page being fetched: the cursor was not advanced, so the next run fetches it
again and nothing is stored twice.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from listener.alerts.evaluate import LOOKBACK
from listener.collect import Pass, Source
from listener.config import Config
from listener.cycle import after_collect
from listener.digest.build import DigestOptions, due_day
from listener.digest.send import send_digest
from listener.errors import ListenerError
from listener.lock import DaemonLock
from listener.records import utcnow
from listener.scoring import score_in_child
from storage import Store

__all__ = ["Daemon"]

log = logging.getLogger("listener.daemon")
DIGEST_RETRY = timedelta(minutes=15)
CYCLE = timedelta(minutes=1)


class Daemon:
    def __init__(
        self, config: Config, database: Path, env: Mapping[str, str], interval_seconds: float | None = None
    ) -> None:
        self.config = config
        self.database = database
        self.env = env
        self.interval_seconds = interval_seconds  # overrides every network's interval (demo, tests)
        self.stop = threading.Event()
        self.dirty = threading.Event()  # something new was stored since the last cycle
        self.last_cycle: datetime | None = None
        self.lock = DaemonLock(database)

    # -- life cycle ------------------------------------------------------------

    def run(self, once: bool = False) -> int:
        self.lock.acquire()
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            with Store.open(self.database) as store:
                self.store = store
                self.collection = Pass(
                    store, self.config.networks, self.config.watches, env=self.env,
                    watch_networks=self.config.watch_networks, should_stop=self.stop.is_set,
                )  # fmt: skip
                sources = self.collection.sources()
                if not sources:
                    raise ListenerError("nothing to collect: enable a network and add a watch in the config")
                if once:
                    for source in sources:
                        if self.stop.is_set():
                            break
                        self.collect(source, cycle=False)
                    return 0 if self.cycle() else 3
                return self._serve(sources)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.lock.release()

    def _serve(self, sources: list[Source]) -> int:
        scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        now = datetime.now(UTC)  # the scheduler's time is the wall clock's, even under the demo's clock
        for i, source in enumerate(sources):
            seconds = self.interval_seconds or self.config.networks[source.network].interval_minutes * 60
            scheduler.add_job(
                self.collect, IntervalTrigger(seconds=seconds, jitter=max(1, int(seconds * 0.1)), timezone=UTC),
                args=[source], id=f"collect:{source.network}:{source.name}",
                next_run_time=now + timedelta(seconds=min(i, 30, seconds * i / len(sources))),  # staggered
            )  # fmt: skip
        if self.config.email is not None:
            when = self.config.digest.send_time()
            zone = DigestOptions.from_config(self.config).timezone
            # At the set time, and every 15 minutes after as a retry (a no-op once sent).
            trigger = OrTrigger(
                [
                    CronTrigger(hour=when.hour, minute=when.minute, timezone=zone),
                    IntervalTrigger(
                        seconds=self.interval_seconds or DIGEST_RETRY.total_seconds(), timezone=UTC
                    ),
                ]
            )
            # next_run_time=now: catch up at start if yesterday's digest is due and was not sent.
            scheduler.add_job(self.send_digest, trigger, id="digest", next_run_time=now)  # fmt: skip
        # Scoring and alerting follow collection in batches: one cycle for every source
        # that brought something new in the last minute, not one per source.
        cycle_seconds = self.interval_seconds or CYCLE.total_seconds()
        scheduler.add_job(self._cycle_if_dirty, IntervalTrigger(seconds=cycle_seconds, timezone=UTC),
                          id="cycle", next_run_time=now + timedelta(seconds=cycle_seconds))  # fmt: skip
        scheduler.start()
        log.info("listener run: %d jobs scheduled on %s", len(sources), self.database)
        # The schedule is published from this thread, on a connection of its own: jobs
        # never call the scheduler (its shutdown holds a lock that a job would wait on).
        with Store.open(self.database) as board:
            published: list[tuple[str, datetime | None]] | None = None
            try:
                while True:
                    schedule = [(job.id, job.next_run_time) for job in scheduler.get_jobs()]
                    if schedule != published:
                        board.set_jobs(schedule)
                        published = schedule
                    if self.stop.wait(1.0):
                        break
            finally:
                log.info("stopping: letting the running job finish its page")
                scheduler.shutdown(wait=True)
                board.set_jobs([])
        log.info("stopped")
        return 0

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("received %s", signal.Signals(signum).name)
        self.stop.set()

    # -- jobs --------------------------------------------------------------------

    def collect(self, source: Source, cycle: bool = True) -> None:
        if self.stop.is_set():
            return
        outcome = self.collection.run(source)
        text = outcome.message or f"fetched {outcome.fetched}, new {outcome.new}"
        self.store.job_ran(f"collect:{source.network}:{source.name}", text, utcnow())
        if cycle and outcome.new:
            self.dirty.set()

    def _cycle_if_dirty(self) -> None:
        if self.dirty.is_set() and not self.stop.is_set():
            self.dirty.clear()
            self.cycle()

    def cycle(self) -> bool:
        """Score what is new, evaluate alerts, deliver what is due; False if that failed.

        A failure here is logged and the daemon goes on: collection must not stop
        because, say, a channel's secret is missing.
        """
        now = utcnow()
        # After a long pause (a busy machine, a suspended laptop) look back to the last cycle.
        since = self.last_cycle if self.last_cycle and self.last_cycle < now - LOOKBACK else None
        try:
            report = after_collect(
                self.store,
                self.config,
                self.env,
                now,
                since=since,
                scorer=lambda _store: score_in_child(self.database, should_stop=self.stop.is_set),
            )
        except ListenerError as exc:
            log.error("alerts: %s", exc)
            return False
        except Exception:
            log.exception("alerts: unexpected failure; collection goes on")
            return False
        self.last_cycle = now
        log.info("%s", report.line())
        for error in report.errors:
            log.warning("%s (queued; retried later)", error)
        return not report.failed

    def send_digest(self) -> None:
        """Yesterday's digest once its time has come; sending twice is a no-op (``digests`` table)."""
        options = DigestOptions.from_config(self.config)
        now = utcnow()
        day = due_day(options, now)
        if day is None or self.stop.is_set():
            return
        try:
            result = send_digest(self.store, options, self.config.email, day, self.env, now=now)
        except ListenerError as exc:
            log.error("digest for %s: %s (retried within %s)", day, exc, DIGEST_RETRY)
            return
        if result.sent:
            log.info("digest for %s sent to %s", day, result.recipients)
