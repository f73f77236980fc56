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
from datetime import UTC, datetime, timedelta
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
from listener.lock import DaemonLock
from listener.records import use_clock, utcnow
from listener.scoring import score_in_child
from storage import Store
from storage.interfaces import ListenerStore

__all__ = ["Daemon", "SkipLog"]

log = logging.getLogger("listener.daemon")
DIGEST_RETRY = timedelta(minutes=15)
CYCLE = timedelta(minutes=1)
BUSY_TIMEOUT = 60.0  # seconds a writer waits for the other worker's transaction on a slow machine
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
        self, config: Config, database: Path, env: Mapping[str, str], interval_seconds: float | None = None
    ) -> None:
        self.config = config
        self.database = database
        self.env = env
        self.interval_seconds = interval_seconds  # overrides every network's interval (demo, tests)
        self.stop = threading.Event()
        self.dirty = threading.Event()  # something new was stored since the last cycle
        self.memory = SeriesMemory()  # the watches' series and scores, kept from cycle to cycle
        self.last_cycle: datetime | None = None
        self.lock = DaemonLock(database)
        self.scorer: Callable[[ListenerStore], int] | None = self._score_in_child

    # -- life cycle ------------------------------------------------------------

    def run(self, once: bool = False, steps: Iterable[str] | None = None) -> int:
        """Serve on the scheduler; or one pass (``once``); or one pass per story time in ``steps``."""
        self.lock.acquire()
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            with Store.open(self.database, busy_timeout=BUSY_TIMEOUT) as store:
                self.store = self.analysis = store
                self.collection = Pass(
                    store, self.config.networks, self.config.watches, env=self.env,
                    watch_networks=self.config.watch_networks, should_stop=self.stop.is_set,
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
                with Store.open(self.database, busy_timeout=BUSY_TIMEOUT) as analysis:
                    self.analysis = analysis  # the analysis worker's own connection
                    return self._serve(sources)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
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
            scheduler.add_job(self.send_digest, trigger, id="digest", executor="analysis", next_run_time=now)
        # Scoring and alerting follow collection in batches: one cycle for every source
        # that brought something new since the last one, not one per source.
        cycle_seconds = self.interval_seconds or CYCLE.total_seconds()
        scheduler.add_job(self._cycle_if_dirty, IntervalTrigger(seconds=cycle_seconds, timezone=UTC),
                          id="cycle", executor="analysis", next_run_time=now + timedelta(seconds=cycle_seconds))  # fmt: skip
        scheduler.start()
        log.info("listener run: %d jobs scheduled on %s", len(sources), self.database)
        # The schedule is published from this thread, on a connection of its own: jobs
        # never call the scheduler (its shutdown holds a lock that a job would wait on).
        with Store.open(self.database, busy_timeout=BUSY_TIMEOUT) as board:
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

    def collect(self, source: Source, cycle: bool = True) -> Outcome | None:
        """Run one source; None if the daemon is stopping."""
        if self.stop.is_set():
            return None
        outcome = self.collection.run(source)
        text = outcome.message or f"fetched {outcome.fetched}, new {outcome.new}"
        self.store.job_ran(f"collect:{source.network}:{source.name}", text, utcnow())
        if cycle and (outcome.new or outcome.error):  # a failing source is news for the health alerts
            self.dirty.set()
        return outcome

    def _cycle_if_dirty(self) -> None:
        if self.dirty.is_set() and not self.stop.is_set():
            self.dirty.clear()
            self.cycle()

    def _score_in_child(self, _store: ListenerStore) -> int:
        return score_in_child(self.database, should_stop=self.stop.is_set)

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

    def send_digest(self) -> None:
        """Yesterday's digest once its time has come; sending twice is a no-op (``digests`` table)."""
        options = DigestOptions.from_config(self.config)
        now = utcnow()
        day = due_day(options, now)
        if day is None or self.stop.is_set():
            return
        try:
            result = send_digest(self.analysis, options, self.config.email, day, self.env, now=now)
        except ListenerError as exc:
            log.error("digest for %s: %s (retried within %s)", day, exc, DIGEST_RETRY)
            return
        if result.sent:
            log.info("digest for %s sent to %s", day, result.recipients)


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
