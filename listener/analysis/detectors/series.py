"""The volume and negative-share detectors, as registered: a scorer over a watch's bucket series.

Each wraps its scorer in ``SCORERS`` and the incident state machine of
``listener.analysis.incidents``, exactly as ``listener backtest`` runs them, and adds what
evaluation needs beyond the series: the watch, a one-line summary, and which of the
incident's mentions the explanation reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from listener.analysis.findings import Finding
from listener.analysis.incidents import detect, history_needed, replay

if TYPE_CHECKING:
    from listener.plugins import Inputs

__all__ = ["NEGATIVE", "VOLUME", "SeriesDetector"]


def volume_summary(watch: str, f: Finding) -> str:
    ratio = f" ({f.observed / f.expected:.1f}x)" if f.expected >= 0.05 else ""
    return f"{watch}: {f.observed:g} mentions vs {f.expected:.1f} expected{ratio}"


def negative_summary(watch: str, f: Finding) -> str:
    return (
        f"{watch}: negative share {f.observed_share or 0:.0%} (95% interval {f.share_low or 0:.0%}-"
        f"{f.share_high or 0:.0%}) vs {f.expected_share or 0:.0%} expected; {f.observed:g} negative mentions"
    )


@dataclass(frozen=True, slots=True)
class SeriesDetector:
    """One kind of ``SCORERS`` over one watch's bucket frame.

    ``scored_only``: read only the buckets whose mentions all have a sentiment
    (unscored is not neutral). ``sentiment``: the explanation reads only the incident's
    mentions with this label.
    """

    name: str
    summary: Callable[[str, Finding], str]
    scored_only: bool = False
    sentiment: str | None = None
    inputs: tuple[str, ...] = ("series",)

    def history(self, inputs: Inputs) -> timedelta:
        return history_needed(inputs.detector, self.name)

    def explains(self, mention: Any) -> bool:
        return self.sentiment is None or mention.sentiment_label == self.sentiment

    def detect(self, inputs: Inputs, now: datetime) -> list[Finding]:
        frame, watch = inputs.series, inputs.watch
        if frame is None or watch is None:
            return []
        if self.scored_only:
            frame = frame.iloc[: inputs.scored]
        if inputs.kept is not None:
            scores = inputs.kept.scores(self.name, frame)
            index = (
                frame.index if isinstance(frame.index, pd.DatetimeIndex) else pd.DatetimeIndex(frame.index)
            )
            found = replay(self.name, scores, index, inputs.detector, inputs.since)
        else:
            found = detect(frame, now, inputs.detector, since=inputs.since, kinds=[self.name])
        return [replace(f, watch=watch.name, summary=self.summary(watch.name, f)) for f in found]


VOLUME = SeriesDetector("volume", volume_summary)
NEGATIVE = SeriesDetector("negative", negative_summary, scored_only=True, sentiment="negative")
