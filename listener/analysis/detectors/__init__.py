"""Built-in detectors: each scores a bucket frame into per-bucket evidence (``Scores``).

A scorer is vectorised over the whole history but causal: the value at bucket ``t``
depends on buckets ``<= t`` only, so scoring a prefix gives the same numbers. The incident
logic in ``listener.analysis.incidents`` turns scores into findings. ``SCORERS`` maps a
finding kind to its scorer (``KEPT_SCORERS`` to one that is updated in place); ``detectors.series`` registers each as a detector
(``register_detectors``, see ``listener.plugins``). This package imports no storage: the
evaluation loads the series first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from listener.analysis.detectors.base import Scores, wilson
from listener.analysis.detectors.negative import NegativeScorer, score_negative
from listener.analysis.detectors.volume import VolumeScorer, score_volume
from listener.analysis.findings import DetectorSettings

__all__ = [
    "KEPT_SCORERS",
    "SCORERS",
    "Scorer",
    "Scores",
    "score_negative",
    "score_volume",
    "wilson",
]

Scorer = Callable[[pd.DataFrame, DetectorSettings], Scores]
SCORERS: dict[str, Scorer] = {"volume": score_volume, "negative": score_negative}
# The scorers that keep their state between updates (``update(frame, changed_from)``), for
# the daemon's kept series (``listener.alerts.memory``): every kind has one, and
# ``SCORERS`` is the update from the first bucket (backtest and daemon share the code).
KEPT_SCORERS: dict[str, Callable[[DetectorSettings], Any]] = {
    "volume": VolumeScorer,
    "negative": NegativeScorer,
}
