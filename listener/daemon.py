"""``listener run``: the APScheduler daemon that collects, scores, alerts and sends the digest.

One job per source (network x watch or feed) at its network's interval, with
jitter. Two executors of one worker each, so collection never waits for
scoring: ``collect`` runs the sources one at a time, ``analysis`` runs the
cycle (sentiment, clusters, alerts) and the digest. On a busy machine scoring
falls behind and catches up in the background while the sources are still
read on time; alerts that need sentiment wait for the scored mentions. Each
worker has its own SQLite connection (WAL: short write transactions, one at a
time; readers never wait).

Misfires are handled on purpose: a job that fell behind runs once, not once
per missed tick (``coalesce``); it runs however late, since a late collection
is better than none (``misfire_grace_time=None``); and it never overlaps
itself (``max_instances=1``). A run skipped because the previous one is still
going is logged once, with that reason, until the job runs again.

A SIGTERM or SIGINT lets the running job finish its current page (each page is
stored with its cursor in one transaction) and exits. A SIGKILL loses at most
the page being fetched: the cursor was not advanced, so the next run fetches it
again and nothing is stored twice.

``--steps`` drives the same jobs from story times read one per line (the
demo): each step collects every source, runs the cycle if something came in or
failed, checks the digest, then answers, so the story's clock waits for the
work however slow the CPU.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import FrameType

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MAX_INSTANCES, JobEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from listener.alerts.evaluate import LOOKBACK
from listener.alerts.memory import SeriesMemory
from listener.collect import Outcome, Pass, Source
from listener.config import Config
from listener.cycle import after_collect
from listener.digest.build import DigestOptions, due_day
from listener.digest.send import send_digest
from listener.errors import ListenerError
from listener.fleet import (
    Database,
    Holding,
    Leases,
    describe,
    holder_id,
    lease_ttl,
    lock,
    open_store,
    source_job,
)
from listener.records import use_clock, utcnow
from listener.scoring import score_in_child
from storage.interfaces import ListenerStore

__all__ = ["Daemon", "SkipLog"]

log = logging.getLogger("listener.daemon")
DIGEST_RETRY = timedelta(minutes=15)
CYCLE = timedelta(minutes=1)
NOW = timedelta(0)  # a job run on demand (--once, --steps) is due whoever ran it last
JOB_DEFAULTS = {"coalesce": True, "misfire_grace_time": None, "max_instances": 1}
APSCHEDULER_SKIP = "skipped: maximum number of running instances"


class SkipLog:
    """A job's skipped runs, logged once per streak with the reason, not once per tick as APScheduler does."""

    def __init__(self) -> None:
        self.skipping: set[str] = set()

    def __call__(self, event: JobEvent) -> None:
        if event.code != EVENT_JOB_MAX_INSTANCES:
            self.skipping.discard(event.job_id)  # it ran: the next skip starts a new streak
        elif event.job_id not in self.skipping:
            self.skipping.add(event.job_id)
            log.warning(
                "%s: run skipped, the previous one is still running (a busy machine or a large backlog); "
                "missed runs are coalesced into one, and further skips are not logged until it runs",
                event.job_id,
            )

    @staticmethod
    def quiet_apscheduler(record: logging.LogRecord) -> bool:
        """A logging filter that drops APScheduler's own line per skipped tick."""
        return APSCHEDULER_SKIP not in record.getMessage()


class Daemon:
    def __init__(
        self,
        config: Config,
        database: Database,
        env: Mapping[str, str],
        interval_seconds: float | None = None,
    ) -> None:
        self.config = config
        self.database = database
        self.env = env
        self.interval_seconds = interval_seconds  # overrides every network's interval (demo, tests)
        self.stop = threading.Event()
        self.dirty = threading.Event()  # something new was stored since the last cycle
        self.memory = SeriesMemory()  # the watches' series and scores, kept from cycle to cycle
        self.last_cycle: datetime | None = None
        self.lock = lock(database)  # a SQLite file: one daemon; a server: leases instead
        self.server = not isinstance(database, Path)
        self.holder = holder_id()
        self.ttl = lease_ttl(database)
        self.holding: Holding | None = None  # the source being collected
        self.cycling: Holding | None = None  # the cycle's lease while it runs
        self.scorer: Callable[[ListenerStore], int] | None = self._score_in_child

    # -- life cycle ------------------------------------------------------------

    def run(self, once: bool = False, steps: Iterable[str] | None = None) -> int:
        """Serve on the scheduler; or one pass (``once``); or one pass per story time in ``steps``."""
        if self.lock is not None:
            self.lock.acquire()
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            store, leases = open_store(self.database, self.env)
            with store:
                self.store = self.analysis = store
                self.leases = self.analysis_leases = Leases(leases, self.holder, self.ttl)
                self.collection = Pass(
                    store, self.config.networks, self.config.watches, env=self.env,
                    watch_networks=self.config.watch_networks, should_stop=self._stop_after_page,
                )  # fmt: skip
                sources = self.collection.sources()
                if not sources:
                    raise ListenerError("nothing to collect: enable a network and add a watch in the config")
                if once:
                    outcomes = [self.collect(source, cycle=False) for source in sources]
                    failed = [o for o in outcomes if o is not None and o.error and not o.skipped]
                    cycled = self.cycle()  # the health alerts still see the failures
                    if failed:  # as 'listener collect': 1 when every source failed, 3 when some did
                        return 1 if len(failed) == len(outcomes) else 3
                    return 0 if cycled else 3
                if steps is not None:
                    return self._follow(sources, steps)
                analysis, leases = open_store(self.database, self.env)
                with analysis:
                    self.analysis = analysis  # the analysis worker's own connection
                    self.analysis_leases = Leases(leases, self.holder, self.ttl)
                    return self._serve(sources)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if self.lock is not None:
                self.lock.release()

    def _follow(self, sources: list[Source], steps: Iterable[str]) -> int:
        """One step per story time read from ``steps``; ``step <time> done`` on stdout after each.

        A step does what the scheduler does, in order and in this thread: every
        source once, the cycle if something came in or failed, the digest check.
        The sentiment model is loaded once, in this process: a driven daemon is
        short-lived, and reloading the model in a child at every step would
        dominate the demo's time.
        """
        self.scorer = None
        for line in steps:
            moment = _step_time(line)
            use_clock(_stopped_at(moment))
            for source in sources:
                self.collect(source)
            self._cycle_if_dirty()
            if self.config.email is not None:
                self.send_digest()
            if self.stop.is_set():
                break
            print(f"step {moment.isoformat()} done", flush=True)
        return 0

    def _serve(self, sources: list[Source]) -> int:
        scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={
                "default": ThreadPoolExecutor(max_workers=1),
                "analysis": ThreadPoolExecutor(max_workers=1),
            },
            job_defaults=JOB_DEFAULTS,
        )
        logging.getLogger("apscheduler.scheduler").addFilter(SkipLog.quiet_apscheduler)
        scheduler.add_listener(SkipLog(), EVENT_JOB_MAX_INSTANCES | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        now = datetime.now(UTC)  # the scheduler's time is the wall clock's
        for i, source in enumerate(sources):
            seconds = self.interval_seconds or self.config.networks[source.network].interval_minutes * 60
            scheduler.add_job(
                self.collect, IntervalTrigger(seconds=seconds, jitter=max(1, int(seconds * 0.1)), timezone=UTC),
                args=[source], kwargs={"every": timedelta(seconds=seconds)}, id=_job(source),
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
            retry = timedelta(seconds=self.interval_seconds or DIGEST_RETRY.total_seconds())
            scheduler.add_job(self.send_digest, trigger, kwargs={"every": retry}, id="digest",
                              executor="analysis", next_run_time=now)  # fmt: skip
        # Scoring and alerting follow collection in batches: one cycle for every source
        # that brought something new since the last one, not one per source.
        cycle_seconds = self.interval_seconds or CYCLE.total_seconds()
        scheduler.add_job(self._cycle_if_dirty, IntervalTrigger(seconds=cycle_seconds, timezone=UTC),
                          kwargs={"every": timedelta(seconds=cycle_seconds)}, id="cycle", executor="analysis",
                          next_run_time=now + timedelta(seconds=cycle_seconds))  # fmt: skip
        scheduler.start()
        log.info(
            "listener run: %d jobs scheduled on %s as %s", len(sources), describe(self.database), self.holder
        )
        # The schedule is published from this thread, on a connection of its own: jobs
        # never call the scheduler (its shutdown holds a lock that a job would wait on).
        board, _ = open_store(self.database, self.env)
        with board:
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

    def collect(self, source: Source, cycle: bool = True, every: timedelta = NOW) -> Outcome | None:
        """Run one source; None if the daemon is stopping, or if another daemon holds the source
        or collected it within ``every`` (its own interval: it is that daemon's, until late)."""
        if self.stop.is_set():
            return None
        with self.leases.hold(_job(source), every) as holding:
            if holding is None:
                log.debug("%s: another daemon's; skipped", _job(source))
                return None
            self.holding = holding
            try:
                outcome = self.collection.run(source)
            finally:
                self.holding = None
        text = outcome.message or f"fetched {outcome.fetched}, new {outcome.new}"
        self.store.job_ran(_job(source), text, utcnow())
        if cycle and (outcome.new or outcome.error):  # a failing source is news for the health alerts
            self.dirty.set()
        return outcome

    def _stop_after_page(self) -> bool:
        """Between pages: stop if the daemon stops or another daemon took the source (the lease is renewed)."""
        return self.stop.is_set() or (self.holding is not None and not self.holding.keep())

    def _cycle_if_dirty(self, every: timedelta = NOW) -> None:
        """The cycle if something came in; on a server at every tick, since the news may be another
        daemon's, and once per ``every`` across the fleet."""
        if (self.dirty.is_set() or self.server) and not self.stop.is_set():
            self.dirty.clear()
            self.cycle(every)

    def _score_in_child(self, _store: ListenerStore) -> int:
        return score_in_child(self.database, should_stop=self._stop_scoring)

    def _stop_scoring(self) -> bool:
        return self.stop.is_set() or (self.cycling is not None and not self.cycling.keep())

    def cycle(self, every: timedelta = NOW) -> bool:
        """Score what is new, evaluate alerts, deliver what is due; False if that failed.

        One daemon of a fleet at a time, at most once per ``every`` unless it ran the last
        one (the ``cycle`` lease); a cycle that another daemon runs is not a failure here.
        """
        with self.analysis_leases.hold("cycle", every) as holding:
            if holding is None:
                return True
            self.cycling = holding
            try:
                return self._cycle()
            finally:
                self.cycling = None

    def _cycle(self) -> bool:
        """A failure here is logged and the daemon goes on: collection must not stop
        because, say, a channel's secret is missing."""
        now = utcnow()
        # After a long pause (a busy machine, a suspended laptop) look back to the last cycle.
        since = self.last_cycle if self.last_cycle and self.last_cycle < now - LOOKBACK else None
        try:
            report = after_collect(
                self.analysis, self.config, self.env, now, since=since, scorer=self.scorer, memory=self.memory
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

    def send_digest(self, every: timedelta = NOW) -> None:
        """Yesterday's digest once its time has come; sending twice is a no-op (``digests`` table).

        One daemon of a fleet checks at a time, at most once per ``every`` unless it checked last
        (the ``digest`` lease), so that two never send the same digest at once.
        """
        options = DigestOptions.from_config(self.config)
        now = utcnow()
        day = due_day(options, now)
        if day is None or self.stop.is_set():
            return
        # A long lease: building and sending cannot renew it, and a digest may wait for a dead daemon.
        with self.analysis_leases.hold("digest", every, at_least=DIGEST_RETRY) as holding:
            if holding is not None:
                self._send_digest(options, day, now)

    def _send_digest(self, options: DigestOptions, day: date, now: datetime) -> None:
        try:
            result = send_digest(self.analysis, options, self.config.email, day, self.env, now=now)
        except ListenerError as exc:
            log.error("digest for %s: %s (retried within %s)", day, exc, DIGEST_RETRY)
            return
        if result.sent:
            log.info("digest for %s sent to %s", day, result.recipients)


def _job(source: Source) -> str:
    return source_job(source.network, source.name)


def _stopped_at(moment: datetime) -> Callable[[], datetime]:
    """A clock that reads ``moment`` until the next step sets another."""
    return lambda: moment


def _step_time(line: str) -> datetime:
    try:
        moment = datetime.fromisoformat(line.strip())
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ListenerError(
            f"--steps: {line.strip()!r} is not a time; give one ISO time with a zone per line"
        )
    return moment
