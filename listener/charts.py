"""Mentions per day as a bar chart with real text: the digest's PNG, the inbox's chart per watch.

matplotlib draws it (its Agg renderer, DejaVu Sans, which ships with it), imported
inside ``daily_chart`` so that starting the CLI does not pay for it. Mail
clients show neither SVG nor (Gmail) ``data:`` images: the digest attaches a PNG;
a browser page can take the SVG, whose labels stay text (selectable, readable by
a screen reader, sharp at any zoom).

The layout is drawn on a 5-inch-wide figure whatever ``width_px`` is: a wider
image is the same chart at a higher resolution, so a 1200 px PNG shown 600 px
wide is sharp on a phone and its text keeps its size. Output is byte-for-byte
the same for the same input (no timestamps, a fixed SVG id salt): tests compare it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["NEGATIVE", "OTHER", "ChartLabels", "daily_chart", "short_number"]

NEGATIVE = "#c53030"
OTHER = "#638cc4"
MEAN = "#777777"
INK = "#444444"
GRID = "#e4e4e4"
WIDTH_IN = 4.0  # inches: the layout's width, whatever the pixels
MAX_VALUE_LABELS = 14  # more bars than this: no value above each bar, the y axis says it
_WEEKDAYS = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "it": ("lun", "mar", "mer", "gio", "ven", "sab", "dom"),
}
_WORDS = {
    "en": {"negative": "negative", "other": "other", "mean": "previous 7-day mean"},
    "it": {"negative": "negative", "other": "altre", "mean": "media 7 giorni prima"},
}


@dataclass(frozen=True, slots=True)
class ChartLabels:
    """The chart's words, in the reader's language; ``of("it")`` gives the built-in ones."""

    language: str = "en"
    negative: str = "negative"
    other: str = "other"
    mean: str = "previous 7-day mean"
    title: str = ""
    weekdays: tuple[str, ...] = field(default=_WEEKDAYS["en"])

    @classmethod
    def of(cls, language: str, title: str = "") -> ChartLabels:
        lang = language if language in _WORDS else "en"
        return cls(language=lang, title=title, weekdays=_WEEKDAYS[lang], **_WORDS[lang])

    def day(self, day: date) -> str:
        """``Fri 04/12`` / ``ven 04/12``: short, and the same in every locale of the server."""
        return f"{self.weekdays[day.weekday()]}\n{day.day:02d}/{day.month:02d}"


def short_number(n: int, language: str = "en") -> str:
    """1234 -> 1.2k (1,2k in Italian), so a value fits above its bar."""
    if n >= 1_000_000:
        text = f"{n / 1_000_000:.1f}M".replace(".0M", "M")
    elif n >= 10_000:
        text = f"{n // 1000}k"
    elif n >= 1000:
        text = f"{n / 1000:.1f}k".replace(".0k", "k")
    else:
        text = str(n)
    return text.replace(".", ",") if language == "it" else text


def daily_chart(
    days: Sequence[date],
    mentions: Sequence[int],
    negative: Sequence[int],
    labels: ChartLabels | None = None,
    width_px: int = 600,
    fmt: Literal["png", "svg"] = "png",
    mean: float | None = None,
) -> bytes:
    """Stacked bars per day (negative at the bottom, in red), ``width_px`` wide and half as high.

    ``mean`` draws a dashed line at that level (the digest: the mean of the days
    before the last). Values stand above the bars when there are few of them.
    """
    if not len(days) == len(mentions) == len(negative):
        raise ValueError("daily_chart: days, mentions and negative must be as long as each other")
    labels = labels or ChartLabels()
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dpi = width_px / WIDTH_IN
    with rc_context({"font.family": "DejaVu Sans", "font.size": 10, "svg.fonttype": "none",
                     "svg.hashsalt": "listener", "text.parse_math": False, "axes.edgecolor": INK,
                     "text.color": INK,
                     "xtick.color": INK, "ytick.color": INK}):  # fmt: skip
        fig = Figure(figsize=(WIDTH_IN, (width_px // 2) / dpi), dpi=dpi)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        _bars(ax, mentions, negative, labels, mean)
        _axes(ax, days, labels, max([*mentions, mean or 0, 1]))
        if labels.title:
            ax.set_title(labels.title, loc="left", fontsize=10)
        fig.subplots_adjust(left=0.1, right=0.99, top=0.78 if labels.title else 0.84, bottom=0.19)
        out = io.BytesIO()
        metadata = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
        fig.savefig(out, format=fmt, dpi=dpi, metadata=metadata)
    return out.getvalue()


def _bars(
    ax: Axes, mentions: Sequence[int], negative: Sequence[int], labels: ChartLabels, mean: float | None
) -> None:
    xs = range(len(mentions))
    neg = [min(n, m) for n, m in zip(negative, mentions, strict=True)]
    ax.bar(xs, neg, width=0.62, color=NEGATIVE, label=labels.negative, zorder=2)
    ax.bar(xs, [m - n for m, n in zip(mentions, neg, strict=True)], width=0.62, bottom=neg,
           color=OTHER, label=labels.other, zorder=2)  # fmt: skip
    if mean:
        ax.axhline(mean, color=MEAN, linestyle=(0, (4, 3)), linewidth=1.2, label=labels.mean, zorder=3)
    if len(mentions) <= MAX_VALUE_LABELS:
        for x, m in zip(xs, mentions, strict=True):
            ax.annotate(short_number(m, labels.language), (x, m), xytext=(0, 2),
                        textcoords="offset points", ha="center", va="bottom", fontsize=9, zorder=4,
                        bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none"})  # fmt: skip


def _axes(ax: Axes, days: Sequence[date], labels: ChartLabels, peak: float) -> None:
    """Few light gridlines, day names below, the legend in one row above the plot."""
    from matplotlib.ticker import MaxNLocator

    step = max(1, -(-len(days) // 8))  # at most eight day labels: they must not touch
    ax.set_xticks(range(0, len(days), step), [labels.day(d) for d in days[::step]], fontsize=9)
    ax.set_xlim(-0.6, len(days) - 0.4)
    ax.set_ylim(0, peak * 1.15)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True, min_n_ticks=1))
    ax.yaxis.set_major_formatter(lambda v, _: short_number(int(v), labels.language))
    ax.tick_params(axis="both", length=0, labelsize=9)
    ax.grid(axis="y", color=GRID, linewidth=0.8, zorder=0)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    handles, names = ax.get_legend_handles_labels()
    rank = [labels.negative, labels.other, labels.mean]
    order = sorted(range(len(names)), key=lambda i: rank.index(names[i]))
    ax.legend([handles[i] for i in order], [names[i] for i in order], loc="lower left",
              bbox_to_anchor=(-0.08, 1.02), ncol=3, frameon=False, fontsize=9, handlelength=1.0,
              columnspacing=0.9, borderaxespad=0)  # fmt: skip
