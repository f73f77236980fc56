"""What goes into one day's digest: gathered from storage into plain records.

The day is a local date in the digest's time zone: a day in Rome starts at
23:00 or 22:00 UTC. Comparisons are with the previous day and with the mean of
the seven days before; the chart covers the seven days ending with the day.
Rendering is elsewhere (``render``), so this module is testable without HTML.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from listener.digest.dealt import Dealt, read_dealt
from listener.digest.settings import DigestSettings
from listener.localtime import day_bounds
from listener.stories import RankedStory, TrollRule, answer_first, author_kind
from storage.authors import AuthorRow
from storage.digest import AlertRow, NetworkRuns
from storage.interfaces import DigestReads, ListenerStore
from storage.rows import AuthorHistory

if TYPE_CHECKING:
    from listener.config import Config

__all__ = [
    "Digest",
    "DigestOptions",
    "DigestSettings",
    "HealthLine",
    "Troll",
    "WatchLine",
    "build_digest",
    "day_bounds",
    "default_day",
    "due_day",
]

BUCKET = 300  # seconds, as in watch_buckets
HISTORY = 7  # days the average and the chart cover
COUNTED = 50  # stories read to count those that need an answer ("at least 50" beyond)
TROLL_CANDIDATES = 30  # repeat-negative authors of the day checked against the troll rule


@dataclass(frozen=True, slots=True)
class DigestOptions:
    """The settings with their fallbacks resolved against the rest of the config."""

    timezone: str = "UTC"
    language: str = "en"
    recipients: tuple[str, ...] = ()
    own_accounts: tuple[tuple[str, str], ...] = ()  # (network, handle or author id)
    watches: tuple[str, ...] = ()  # () = every watch in the database
    sources: tuple[tuple[str, str], ...] = ()  # expected (network, watch) pairs
    settings: DigestSettings = field(default_factory=DigestSettings)
    inbox_url: str | None = None  # [serve] public_url: the inbox, to answer from

    @classmethod
    def from_config(cls, config: Config, section: DigestSettings | None = None) -> DigestOptions:
        section = section or config.digest
        email = config.email
        return cls(
            timezone=section.timezone or config.alerts.timezone,
            language=section.language or (email.language if email else "en"),
            recipients=tuple(section.recipients or (email.recipients if email else ())),
            own_accounts=config.own_accounts(),
            watches=tuple(w.name for w in config.watches),
            sources=tuple(config.sources()),
            settings=section,
            inbox_url=config.serve.inbox_url(),
        )


@dataclass(frozen=True, slots=True)
class WatchLine:
    """One watch (or the total) on the day, the day before and the 7-day mean."""

    name: str
    volume: int
    negative: int
    scored: int
    prev_volume: int
    prev_negative: int
    prev_scored: int
    mean_volume: float
    mean_negative: int  # over the seven days together
    mean_scored: int

    @property
    def share(self) -> float | None:
        return self.negative / self.scored if self.scored else None

    @property
    def prev_share(self) -> float | None:
        return self.prev_negative / self.prev_scored if self.prev_scored else None

    @property
    def mean_share(self) -> float | None:
        return self.mean_negative / self.mean_scored if self.mean_scored else None


@dataclass(frozen=True, slots=True)
class HealthLine:
    """One network's collection on the day; ``status`` is ok, failed, errors, quiet or idle."""

    network: str
    status: str
    runs: int
    failed: int
    volume: int
    mean_volume: float
    last_error: str | None
    last_success: str | None


@dataclass(frozen=True, slots=True)
class Troll:
    """An author negative on many days (the troll rule): listed once, "do not feed"."""

    author: AuthorRow  # replies_received: our replies to their mentions of the day
    history: AuthorHistory  # negative_days: over the rule's window
    url: str | None  # their story of the day when it is among the stories read, else their latest negative


@dataclass(frozen=True, slots=True)
class Digest:
    day: date
    options: DigestOptions
    start: datetime  # UTC bounds of the local day
    end: datetime
    total: WatchLine
    watches: list[WatchLine]
    chart: list[tuple[date, int, int]]  # (day, mentions, negative), the last seven days
    alerts: list[AlertRow]
    stories: list[RankedStory]  # to answer first, at most [digest] stories
    to_answer: int  # stories that need an answer (negative, unanswered, not a troll's, not done)...
    to_answer_more: bool  # ...or at least that many: more than the stories read
    trolls: list[Troll]
    health: list[HealthLine]
    health_alerts: list[AlertRow]
    rule: TrollRule = field(default_factory=TrollRule)
    dealt: Dealt = field(default_factory=Dealt)  # marked in the inbox: handled, escalated, ignored


def default_day(now: datetime, timezone: str) -> date:
    """Yesterday, locally: the last complete day."""
    return now.astimezone(ZoneInfo(timezone)).date() - timedelta(days=1)


def due_day(options: DigestOptions, now: datetime) -> date | None:
    """The day whose digest is due at ``now``: yesterday, once the local clock passed ``[digest] time``.

    For the daemon: calling ``send_digest`` for it on every tick is safe, since the
    ``digests`` table makes the second call a no-op.
    """
    local = now.astimezone(ZoneInfo(options.timezone))
    if local.time() < options.settings.send_time():
        return None
    return local.date() - timedelta(days=1)


def _line(name: str, days: Mapping[int, tuple[int, int, int]], first: int = 0) -> WatchLine:
    """``days`` maps day index (0..7, 7 = the day) to (volume, negative, unscored).

    The mean covers the history from day ``first``, the watch's first day: days
    before a watch existed are not quiet days.
    """

    def get(i: int) -> tuple[int, int, int]:
        volume, negative, unscored = days.get(i, (0, 0, 0))
        return volume, negative, volume - unscored

    history = [get(i) for i in range(min(first, HISTORY - 1), HISTORY)]
    return WatchLine(name, *get(HISTORY), *get(HISTORY - 1),
                     mean_volume=sum(v for v, _, _ in history) / len(history),
                     mean_negative=sum(n for _, n, _ in history), mean_scored=sum(s for _, _, s in history))  # fmt: skip


def build_digest(store: ListenerStore, options: DigestOptions, day: date) -> Digest:
    """Everything the digest of ``day`` shows, read from the database."""
    zone = ZoneInfo(options.timezone)
    s = options.settings
    ranges = [day_bounds(day - timedelta(days=HISTORY - i), zone) for i in range(HISTORY + 1)]
    start, end = ranges[-1]
    q = store.digest
    buckets = [(int(lo.timestamp()) // BUCKET, int(hi.timestamp()) // BUCKET) for lo, hi in ranges]
    firsts = q.first_buckets()

    def first_day(bucket: int | None) -> int:
        return next((i for i, (_, hi) in enumerate(buckets) if bucket is not None and bucket < hi), HISTORY)

    runs = _runs(q, options, start, end)
    networks = sorted(set(runs) | {net for net, _ in options.sources})
    # Distinct mentions: one that matched two watches counts once here.
    totals = q.daily_totals(ranges, networks)
    total = _line(
        "*",
        {i: (t[0], t[1], t[2]) for i, t in enumerate(totals)},
        first_day(min(firsts.values(), default=None)),
    )
    alerts = q.alerts_during(start, end)
    health = [_health_line(net, runs.get(net), totals, s) for net in networks]
    stories, to_answer, more = _stories(store, options, start, end)
    return Digest(
        day=day, options=options, start=start, end=end, total=total,
        watches=_watch_lines(q, options, buckets, lambda name: first_day(firsts.get(name))),
        chart=[(day - timedelta(days=HISTORY - i), totals[i][0], totals[i][1]) for i in range(1, HISTORY + 1)],
        alerts=[a for a in alerts if not a.kind.startswith("health:")],
        stories=stories[: s.stories], to_answer=to_answer, to_answer_more=more,
        trolls=_trolls(store, options, start, end, stories),
        health=health, health_alerts=[a for a in alerts if a.kind.startswith("health:")],
        dealt=read_dealt(store, options.own_accounts, start, end, s.stories, COUNTED),
    )  # fmt: skip


def needs_answer(r: RankedStory) -> bool:
    """Negative, not answered by our accounts, not a troll's (handled and ignored ones are not read)."""
    return bool(r.story.negative) and not r.story.answered and r.author != "troll"


def _stories(
    store: ListenerStore, options: DigestOptions, start: datetime, end: datetime
) -> tuple[list[RankedStory], int, bool]:
    """The day's stories ranked as the inbox ranks them (at the day's end), and how many need an answer.

    Reads ``COUNTED`` stories (or the number shown, if more), never the day's every mention:
    past that, the count says "at least".
    """
    read = max(COUNTED, options.settings.stories)
    ranked = answer_first(store, options.own_accounts, start, end, end, options.timezone, limit=read)
    return ranked, sum(map(needs_answer, ranked)), len(ranked) >= read


def _trolls(
    store: ListenerStore, options: DigestOptions, start: datetime, end: datetime, stories: list[RankedStory]
) -> list[Troll]:
    """Authors of the day who are trolls by the rule: repeat-negative authors active that day,
    checked day by day over the rule's window (many posts on one crisis day are one day)."""
    rule = TrollRule()
    candidates = store.digest.repeat_authors(
        start, end, at_least=rule.min_negative_days, limit=TROLL_CANDIDATES
    )
    own = {(n, h.lower().lstrip("@")) for n, h in options.own_accounts}
    candidates = [
        a for a in candidates if (a.network, (a.handle or a.author_key).lower().lstrip("@")) not in own
    ]
    histories = store.stories.author_history(
        [(a.network, a.author_key) for a in candidates],
        end - timedelta(days=rule.window_days),
        options.timezone,
    )
    links = {(r.story.lead.network, r.story.lead.author_id or r.story.lead.author_handle): r.open_url
             for r in stories if r.author == "troll"}  # fmt: skip
    trolls = [
        Troll(a, h, links.get((a.network, a.author_key)) or h.last_negative_url)
        for a in candidates
        if (h := histories.get((a.network, a.author_key))) is not None and author_kind(h, rule) == "troll"
    ]
    trolls.sort(
        key=lambda t: (-t.history.negative_days, -t.history.negative, t.author.network, t.author.author_key)
    )
    return trolls[: options.settings.trolls]


def _runs(q: DigestReads, options: DigestOptions, start: datetime, end: datetime) -> dict[str, NetworkRuns]:
    """Each network's runs of the day: of its watches, else of its feeds.

    A network without search (Facebook, Instagram) collects feeds only (a Page's posts,
    its tags), whose runs carry the feed's name, not a watch's: for a network whose
    watches did not run, every source of it counts, so it is not reported idle.
    """
    runs = {r.network: r for r in q.network_runs(start, end, options.sources)}
    idle = {net for net, _ in options.sources if net not in runs or not runs[net].runs}
    if idle:
        runs |= {r.network: r for r in q.network_runs(start, end, ()) if r.network in idle and r.runs}
    return runs


def _watch_lines(
    q: DigestReads, options: DigestOptions, buckets: list[tuple[int, int]], first_day: Callable[[str], int]
) -> list[WatchLine]:
    per_watch: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    for row in q.watch_days(buckets, options.watches):
        cell = per_watch[row.watch][row.day]
        cell[0] += row.volume
        cell[1] += row.negative
        cell[2] += row.unscored
    names = list(options.watches) or sorted(per_watch)
    return [
        _line(name, {i: (v[0], v[1], v[2]) for i, v in per_watch.get(name, {}).items()}, first_day(name))
        for name in names
    ]


def _health_line(net: str, r: NetworkRuns | None, totals: list[Any], s: DigestSettings) -> HealthLine:
    volume = totals[HISTORY][3][net]
    mean = sum(totals[i][3][net] for i in range(HISTORY)) / HISTORY
    status = "ok"
    if r is None or r.runs == 0:
        status = "idle"
    elif r.failed == r.runs:
        status = "failed"
    elif mean >= s.quiet_min_mean and volume < s.quiet_share * mean:
        status = "quiet"
    elif r.failed:
        status = "errors"
    return HealthLine(net, status, r.runs if r else 0, r.failed if r else 0, volume, mean,
                      r.last_error_message if r else None, r.last_success if r else None)  # fmt: skip
