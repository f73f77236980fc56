"""Spike and negative-share detection over bucketed mention counts.

    frame = build_buckets(rows, bucket)            # (created_at, is_negative) -> buckets
    findings = detect(frame, now)                  # what the latest bucket brings
    history = run(frame)                           # every finding over the history

``Finding`` and ``DetectorSettings`` are documented in ``findings``; the scoring in
``detectors.volume`` and ``detectors.negative``; the incident logic in ``incidents``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Imported on first use (PEP 562): ``listener.analysis.findings`` alone needs no pandas.
_HOMES = {
    "findings": ("DetectorSettings", "Finding", "Kind", "Severity", "State"),
    "incidents": ("available_kinds", "detect", "history_needed", "run", "score", "sent"),
    "series": (
        "DEFAULT_BUCKET", "build_bucket_groups", "build_buckets", "negative_share", "parse_bucket",
        "read_series_csv", "regular_buckets", "row_step",
    ),
}  # fmt: skip
_HOME = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    globals()[name] = value
    return value


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
