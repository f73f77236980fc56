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
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from listener.clusters import collapse
from listener.digest.settings import DigestSettings
from storage import Store
from storage.authors import AuthorRow
from storage.clusters import Spread
from storage.digest import AlertRow, DigestQueries, NegativeAuthor, NetworkRuns, TopMention

if TYPE_CHECKING:
    from listener.config import Config

__all__ = [
    "Digest",
    "DigestOptions",
    "DigestSettings",
    "HealthLine",
    "WatchLine",
    "build_digest",
    "day_bounds",
    "default_day",
    "due_day",
]

BUCKET = 300  # seconds, as in watch_buckets
HISTORY = 7  # days the average and the chart cover


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
class Digest:
    day: date
    options: DigestOptions
    start: datetime  # UTC bounds of the local day
    end: datetime
    total: WatchLine
    watches: list[WatchLine]
    chart: list[tuple[date, int, int]]  # (day, mentions, negative), the last seven days
    alerts: list[AlertRow]
    top: list[TopMention]
    unanswered_total: int
    unanswered: list[TopMention]
    trolls: list[NegativeAuthor]
    health: list[HealthLine]
    health_alerts: list[AlertRow]
    # Near-duplicate stories: each list shows one mention per cluster; its spread by mention id.
    spreads: dict[int, Spread] = field(default_factory=dict)
    repeat_authors: list[AuthorRow] = field(default_factory=list)  # repeat-negative, active on the day


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants where a local day starts and ends (23 or 25 hours at DST changes)."""
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


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


def build_digest(store: Store, options: DigestOptions, day: date) -> Digest:
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

    runs = {r.network: r for r in q.network_runs(start, end, options.sources)}
    networks = sorted(set(runs) | {net for net, _ in options.sources})
    # Distinct mentions: one that matched two watches counts once here.
    totals = q.daily_totals(ranges, networks)
    total = _line(
        "*",
        {i: (t[0], t[1], t[2]) for i, t in enumerate(totals)},
        first_day(min(firsts.values(), default=None)),
    )
    alerts = q.alerts_during(start, end)
    # Fetched three times over, then one per near-duplicate cluster: copies do not crowd out stories.
    unanswered_total, unanswered = q.unanswered_negative(start, end, options.own_accounts, 3 * s.unanswered)
    top = q.top_mentions(start, end, options.own_accounts, 3 * s.top_mentions)
    spreads = store.clusters.spread_of(m.id for m in [*top, *unanswered])
    health = [_health_line(net, runs.get(net), totals, s) for net in networks]
    return Digest(
        day=day, options=options, start=start, end=end, total=total,
        watches=_watch_lines(q, options, buckets, lambda name: first_day(firsts.get(name))),
        chart=[(day - timedelta(days=HISTORY - i), totals[i][0], totals[i][1]) for i in range(1, HISTORY + 1)],
        alerts=[a for a in alerts if not a.kind.startswith("health:")],
        top=_one_per_story(top, spreads, s.top_mentions),
        unanswered_total=unanswered_total, unanswered=_one_per_story(unanswered, spreads, s.unanswered),
        trolls=q.negative_authors(start, end, options.own_accounts, s.troll_min_negative),
        health=health, health_alerts=[a for a in alerts if a.kind.startswith("health:")], spreads=spreads,
        repeat_authors=q.repeat_authors(start, end, at_least=s.repeat_min_negative, limit=s.repeat_authors),
    )  # fmt: skip


def _watch_lines(
    q: DigestQueries, options: DigestOptions, buckets: list[tuple[int, int]], first_day: Callable[[str], int]
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


def _one_per_story(mentions: list[TopMention], spreads: Mapping[int, Spread], limit: int) -> list[TopMention]:
    """The first mention of each near-duplicate cluster, in the given order, at most ``limit``."""
    return [m for m, _ in collapse(mentions, spreads)][:limit]
