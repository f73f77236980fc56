"""What the daemon keeps between alert passes: each watch's bucket series and its scorers.

Without it, a pass reads about a month of 5-minute buckets per watch and scores them all
(``evaluate.series``): 500 watches cost seconds whatever changed. With it, a pass reads
only the buckets changed since the last one (``ListenerStore.bucket_changes``: new mentions, late
ones, sentiment arriving, erasure) and each scorer recomputes from the first changed
bucket (``VolumeScorer.update``), which gives the same scores at the cost of what changed.

A kept series begins where its first pass began it and grows; once it holds a day more
than the detectors read, it is read and scored again from the pass's own start (each
watch at its own hour of the day, so that no pass pays for every watch). The scores of
the latest buckets do not depend on how much older history there is (``history_needed``).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from listener.alerts.explain import Terms
from listener.analysis import DetectorSettings
from listener.analysis.detectors import KEPT_SCORERS, Scores
from storage.interfaces import ListenerStore

__all__ = ["KeptSeries", "SeriesMemory"]

SLACK = timedelta(days=1)  # how much older than needed a kept series may grow before it is cut


@dataclass(slots=True)
class KeptSeries:
    """One watch's complete buckets from ``first`` (epoch seconds) on, and its scorers' state.

    ``counts`` holds volume, negative and unscored per bucket; ``dirty[kind]`` is the first
    bucket that kind's scorer has not scored as it now is. The counts live in a buffer with a
    day of room, under one frame built once per buffer: a pass adds a bucket without copying
    the history or building a frame.
    """

    first: int
    settings: DetectorSettings
    n: int = 0
    dirty: dict[str, int] = field(default_factory=dict)
    scorers: dict[str, Any] = field(default_factory=dict)
    buffer: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), dtype=np.int32))
    _frame: pd.DataFrame | None = None

    @property
    def counts(self) -> np.ndarray:
        return self.buffer[: self.n]

    def resize(self, n: int, keep: int) -> None:
        """Keep the first ``keep`` buckets and zero the others up to ``n``."""
        if n > len(self.buffer):
            grown = np.zeros((n + self.settings.per_day, 3), dtype=np.int32)
            grown[:keep] = self.buffer[:keep]
            self.buffer, self._frame = grown, None
        self.buffer[keep:n] = 0
        self.n = n

    def frame(self) -> pd.DataFrame:
        if self._frame is None:
            index = pd.date_range(
                pd.Timestamp(self.first, unit="s", tz="UTC"), periods=len(self.buffer),
                freq=self.settings.bucket, name="bucket",
            )  # fmt: skip
            self._frame = pd.DataFrame(
                self.buffer[:, :2], index=index, columns=["volume", "negative"], copy=False
            )
        return self._frame.iloc[: self.n]

    def scored(self) -> int:
        """How many buckets, from the first, have every mention's sentiment."""
        pending = np.flatnonzero(self.counts[:, 2] > 0)
        return int(pending[0]) if len(pending) else len(self.counts)

    def scores(self, kind: str, frame: pd.DataFrame) -> Scores:
        """``kind``'s scores of ``frame`` (this series, or its first buckets), updated from the first change."""
        scorer = self.scorers.get(kind)
        if scorer is None:
            scorer = self.scorers[kind] = KEPT_SCORERS[kind](self.settings)
        found: Scores = scorer.update(frame, self.dirty.get(kind, 0))
        self.dirty[kind] = len(self.counts)
        return found


class SeriesMemory:
    """Kept series per watch, brought up to date from the changes since the last pass."""

    def __init__(self) -> None:
        self._seen = 0
        self._series: dict[str, KeptSeries] = {}
        self._changed: dict[str, int] = {}
        self._times: dict[tuple[str, str], Any] = {}
        self._watches: frozenset[str] = frozenset()
        # Open incidents' baseline terms by (watch, incident start), and those read this pass.
        self._baselines: dict[tuple[str, int], Terms] = {}
        self._used: set[tuple[str, int]] = set()

    @property
    def nbytes(self) -> int:
        """Memory kept for every watch: its bucket counts and its scorers' arrays."""
        return sum(
            kept.buffer.nbytes + sum(getattr(scorer, "nbytes", 0) for scorer in kept.scorers.values())
            for kept in self._series.values()
        )

    def begin(self, store: ListenerStore, watches: Sequence[str] = ()) -> None:
        """Read which watches changed since the last pass; once per pass, before anything else."""
        changes = store.bucket_changes(self._seen)
        if not changes.complete:
            self._series.clear()
            self._changed.clear()
            self._times.clear()
        for name, at in changes.since.items():
            self._changed[name] = min(at, self._changed.get(name, at))
        self._watches = frozenset(watches)
        # A watch gone from the config leaves nothing behind; a changed one's times are read again.
        self._series = {name: kept for name, kept in self._series.items() if name in self._watches}
        self._changed = {name: at for name, at in self._changed.items() if name in self._watches}
        self._times = {
            key: t for key, t in self._times.items() if key[1] in self._watches - changes.since.keys()
        }
        # A baseline lasts while its incident is explained pass after pass and nothing before
        # the incident's start changes (a count, or a text: migration 19).
        self._baselines = {
            key: terms
            for key, terms in self._baselines.items()
            if changes.complete and key in self._used and key[0] in self._watches
            and changes.since.get(key[0], key[1]) >= key[1]
        }  # fmt: skip
        self._used = set()
        store.forget_bucket_changes(changes.latest)
        self._seen = changes.latest

    def baseline(self, watch: str, start: datetime, count: Callable[[], Terms]) -> Terms:
        """The terms of the week before an incident of ``watch`` that began at ``start``, counted once."""
        key = (watch, int(start.timestamp()))
        terms = self._baselines.get(key)
        if terms is None:
            terms = self._baselines[key] = count()
        self._used.add(key)
        return terms

    def times(self, network: str, watch: str) -> Any:
        """A source's mention times kept from an earlier pass, if its watch got nothing since."""
        return self._times.get((network, watch))

    def keep_times(self, network: str, watch: str, times: Any) -> None:
        """Keep a watch's source's mention times (a feed's are not: no change of theirs is logged)."""
        if watch in self._watches:
            self._times[(network, watch)] = times

    def series(
        self, store: ListenerStore, watch: str, start: datetime, now: datetime, settings: DetectorSettings
    ) -> KeptSeries | None:
        """``watch``'s complete buckets since ``start`` (or its first mention), kept; None without any."""
        size = int(settings.bucket.total_seconds())
        end = int(now.timestamp()) // size * size
        kept = self._series.get(watch)
        changed = self._changed.pop(watch, None)
        if kept is not None and (kept.settings != settings or self._too_old(kept, watch, start)):
            kept = None
        if kept is not None and changed is not None and changed < kept.first:
            kept = None  # a mention older than the series' start: read it all again
        if kept is None:
            kept = self._load(store, watch, start, end, settings)
        else:
            self._extend(store, watch, kept, end, changed)
        if kept is None:
            self._series.pop(watch, None)
            return None
        self._series[watch] = kept
        return kept

    def _too_old(self, kept: KeptSeries, watch: str, start: datetime) -> bool:
        """Past its day of slack (spread over the day by the watch's name, so watches are cut apart)."""
        stagger = timedelta(minutes=zlib.crc32(watch.encode()) % (24 * 60))
        return kept.first < (start - SLACK - stagger).timestamp()

    def _load(
        self, store: ListenerStore, watch: str, start: datetime, end: int, settings: DetectorSettings
    ) -> KeptSeries | None:
        size = int(settings.bucket.total_seconds())
        rows = store.bucket_counts(watch, start, datetime.fromtimestamp(end, UTC), size)
        if not rows or rows[0][0] >= end:
            return None
        first = int(rows[0][0])
        kept = KeptSeries(first, settings)
        kept.resize((end - first) // size, 0)
        _fill(kept, rows, size)
        return kept

    def _extend(
        self, store: ListenerStore, watch: str, kept: KeptSeries, end: int, changed: int | None
    ) -> None:
        """Read the buckets from the earliest change (or the old end) to ``end`` into ``kept``."""
        size = int(kept.settings.bucket.total_seconds())
        old_end = kept.first + len(kept.counts) * size
        lo = old_end if changed is None else min(old_end, changed // size * size)
        if lo >= end and len(kept.counts) == (end - kept.first) // size:
            return
        at = (lo - kept.first) // size
        kept.resize((end - kept.first) // size, at)
        rows = store.bucket_counts(
            watch, datetime.fromtimestamp(lo, UTC), datetime.fromtimestamp(end, UTC), size
        )  # fmt: skip
        _fill(kept, rows, size)
        for kind in kept.dirty:
            kept.dirty[kind] = min(kept.dirty[kind], at)


def _fill(kept: KeptSeries, rows: list[tuple[int, int, int, int]], size: int) -> None:
    if not rows:
        return
    counts = np.asarray(rows, dtype=np.int64)
    at = (counts[:, 0] - kept.first) // size  # epoch seconds need 64 bits; counts fit in 32
    inside = (at >= 0) & (at < len(kept.counts))
    kept.counts[at[inside]] = counts[inside, 1:]
