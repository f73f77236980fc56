"""Spike and negative-share detection over bucketed mention counts.

    frame = build_buckets(rows, bucket)            # (created_at, is_negative) -> buckets
    findings = detect(frame, now)                  # what the latest bucket brings
    history = run(frame)                           # every finding over the history

``Finding`` and ``DetectorSettings`` are documented in ``findings``; the scoring in
``detectors.volume`` and ``detectors.negative``; the incident logic in ``incidents``.
"""

from __future__ import annotations

from listener.analysis.findings import DetectorSettings, Finding, Kind, Severity, State
from listener.analysis.incidents import available_kinds, detect, history_needed, run, score, sent
from listener.analysis.series import (
    DEFAULT_BUCKET,
    build_bucket_groups,
    build_buckets,
    negative_share,
    parse_bucket,
    read_series_csv,
    regular_buckets,
    row_step,
)

__all__ = [
    "DEFAULT_BUCKET",
    "DetectorSettings",
    "Finding",
    "Kind",
    "Severity",
    "State",
    "available_kinds",
    "build_bucket_groups",
    "build_buckets",
    "detect",
    "history_needed",
    "negative_share",
    "parse_bucket",
    "read_series_csv",
    "regular_buckets",
    "row_step",
    "run",
    "score",
    "sent",
]
