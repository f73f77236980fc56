"""The inbox's chart per watch: mentions per local day, negative ones in red, as inline SVG.

Counts come from the per-watch hourly and 5-minute tables the digest reads
(``store.digest.watch_days``), so a chart costs the days and watches shown, never
the mentions kept. ``listener.charts`` draws it with real text.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from markupsafe import Markup

from listener.charts import ChartLabels, daily_chart
from listener.localtime import day_bounds
from storage.interfaces import ListenerStore
from storage.mentions import BASE_BUCKET

__all__ = ["MAX_CHARTS", "watch_charts"]

MAX_CHARTS = 6  # watches charted at once; a filter on one watch charts that one
# daily_chart sets matplotlib's global rcParams for its drawing: one page's charts at a time.
_DRAWING = threading.Lock()


def watch_charts(
    store: ListenerStore, watches: Sequence[str], now: datetime, zone: str, days: int
) -> list[tuple[str, Markup]]:
    """(watch, SVG) for the first ``MAX_CHARTS`` of ``watches``, over the ``days`` local days up to today."""
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    dates = [today - timedelta(days=days - 1 - i) for i in range(days)]
    buckets = [(int(lo.timestamp()) // BASE_BUCKET, int(hi.timestamp()) // BASE_BUCKET)
               for lo, hi in (day_bounds(d, tz) for d in dates)]  # fmt: skip
    chosen = list(watches)[:MAX_CHARTS]
    counts = {(w, i): (0, 0) for w in chosen for i in range(days)}
    for row in store.digest.watch_days(buckets, chosen) if chosen else ():
        volume, negative = counts[row.watch, row.day]
        counts[row.watch, row.day] = (volume + row.volume, negative + row.negative)
    charts = []
    with _DRAWING:
        for watch in chosen:
            series = [counts[watch, i] for i in range(days)]
            svg = daily_chart(dates, [v for v, _ in series], [n for _, n in series], ChartLabels.of("en"),
                              width_px=480, fmt="svg").decode("utf-8")  # fmt: skip
            charts.append((watch, Markup(svg[svg.index("<svg") :])))  # noqa: S704 (drawn here, text escaped by matplotlib)
    return charts
