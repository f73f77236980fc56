"""The records that cross package boundaries: defined once, imported everywhere.

This module imports nothing of ours, so collectors and storage can both use it
without depending on each other. The shared records themselves (``Mention``,
``Page``, ...) are in ``listener.model``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "SEVERITY_RANK",
    "clock_from_env",
    "use_clock",
    "utc_iso",
    "utcnow",
]


# Alert severities, weakest first: comparisons go through this one table.
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


_clock: Callable[[], datetime] | None = None


def utcnow() -> datetime:
    """The time everything in listener reads: the wall clock, unless the demo set its own."""
    return _clock() if _clock is not None else datetime.now(UTC)


def use_clock(clock: Callable[[], datetime] | None) -> None:
    """Replace the clock for this process (``None``: the wall clock again)."""
    global _clock
    _clock = clock


def clock_from_env(value: str) -> Callable[[], datetime]:
    """A story clock from ``LISTENER_CLOCK="<start ISO>@<epoch seconds>x<speed>"``.

    It reads ``start`` until the wall clock reaches ``epoch``, then runs ``speed``
    times faster. The demo and the README's test stop it at a story time (speed 0),
    so every process they start (the daemon, the scoring child) reads the same time
    from the same string; the demo's daemon is then driven step by step. Not meant
    for anything else.
    """
    try:
        start_text, rest = value.split("@")
        epoch_text, speed_text = rest.split("x")
        start, epoch, speed = datetime.fromisoformat(start_text), float(epoch_text), float(speed_text)
        start = start.astimezone(UTC) if start.tzinfo else start
    except ValueError:
        raise ValueError(
            f"LISTENER_CLOCK={value!r}: expected '<start ISO>@<epoch seconds>x<speed>'"
        ) from None
    if start.tzinfo is None:
        raise ValueError(f"LISTENER_CLOCK={value!r}: the start needs a time zone")

    def clock() -> datetime:
        return start + timedelta(seconds=max(0.0, time.time() - epoch) * speed)

    return clock


def utc_iso(moment: datetime) -> str:
    """ISO-8601 in UTC with a ``Z``-free ``+00:00`` offset, seconds precision.

    One fixed format so that string comparison in SQL orders correctly.
    """
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: give a time zone")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class AlertChange:
    """A detector's news about one incident, as storage records it.

    ``state`` is ``opened`` for a new incident, ``updated`` while it grows or
    shrinks, ``resolved`` when the series is back to normal. An incident is
    identified by (watch, network, kind, started_at); ``network`` is ``""`` for
    all networks together.
    """

    watch: str
    network: str
    kind: str
    state: str
    severity: str
    started_at: datetime
    at: datetime
    observed: float
    expected: float
    summary: str
    explanation: Mapping[str, Any] = field(default_factory=dict)
