"""The chart with real text: a PNG that decodes at the asked size, an SVG whose labels are text."""

from __future__ import annotations

import io
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
from PIL import Image

from listener.charts import NEGATIVE, ChartLabels, daily_chart, short_number

DAYS = [date(2026, 11, 28) + timedelta(days=i) for i in range(7)]
MENTIONS = [120, 130, 110, 98, 1400, 320, 12]
NEGATIVES = [10, 12, 8, 9, 900, 120, 0]
SVG = "{http://www.w3.org/2000/svg}"


def texts(svg: bytes) -> list[str]:
    """Every piece of text the SVG shows, as text (not glyph outlines)."""
    root = ET.fromstring(svg)
    return [" ".join("".join(t.itertext()).split()) for t in root.iter(f"{SVG}text")]


def test_the_png_decodes_at_the_asked_width_with_red_negative_bars() -> None:
    for width in (600, 1200, 390):
        image = Image.open(io.BytesIO(daily_chart(DAYS, MENTIONS, NEGATIVES, width_px=width, mean=300.0)))
        assert image.format == "PNG" and image.size == (width, width // 2)
        red = tuple(int(NEGATIVE[i : i + 2], 16) for i in (1, 3, 5))
        assert red in {c[:3] for _, c in image.convert("RGB").getcolors(1 << 20) or []}


def test_the_same_week_gives_the_same_bytes() -> None:
    """No timestamp nor software version in the file: a test or a cache can compare charts."""
    for fmt in ("png", "svg"):
        first = daily_chart(DAYS, MENTIONS, NEGATIVES, ChartLabels.of("it"), fmt=fmt, mean=300.0)
        assert first == daily_chart(DAYS, MENTIONS, NEGATIVES, ChartLabels.of("it"), fmt=fmt, mean=300.0)
        assert b"Software" not in first and b"<dc:date>" not in first and b"Matplotlib v" not in first


def test_the_svg_labels_are_real_text_in_the_readers_language() -> None:
    shown = texts(daily_chart(DAYS, MENTIONS, NEGATIVES, ChartLabels.of("it"), fmt="svg", mean=300.0))
    assert {
        "sab",
        "28/11",
        "gio",
        "03/12",
        "altre",
        "negative",
        "media 7 giorni prima",
        "1,4k",
        "320",
    } <= set(shown)
    english = texts(daily_chart(DAYS, MENTIONS, NEGATIVES, ChartLabels.of("en"), fmt="svg"))
    assert {"Sat", "28/11", "Thu", "other", "1.4k"} <= set(english)
    assert not any("mean" in t for t in english)  # no mean given: no line, no legend entry


def test_a_month_shows_at_most_eight_day_names_and_no_values_over_the_bars() -> None:
    month = [date(2026, 11, 1) + timedelta(days=i) for i in range(30)]
    shown = texts(daily_chart(month, list(range(0, 300, 10)), [1] * 30, fmt="svg"))
    days = [t for t in shown if "/11" in t]
    assert 6 <= len(days) <= 8 and "01/11" in days and "Sun" in shown
    assert "290" not in shown  # too many bars for a value above each


def test_a_title_with_dollars_stays_plain_text() -> None:
    """A watch named ``$brand $`` is a title, not TeX (matplotlib's mathtext is off)."""
    labels = ChartLabels.of("en", title="$brand $ 100%")
    assert "$brand $ 100%" in texts(daily_chart(DAYS, MENTIONS, NEGATIVES, labels, fmt="svg"))


def test_empty_and_uneven_weeks() -> None:
    image = Image.open(io.BytesIO(daily_chart(DAYS, [0] * 7, [0] * 7)))
    assert image.size == (600, 300)  # an empty week still draws
    with pytest.raises(ValueError, match="as long as each other"):
        daily_chart(DAYS, MENTIONS[:3], NEGATIVES)


def test_numbers_are_short_and_localised() -> None:
    assert [short_number(n) for n in (7, 1000, 1234, 12_345, 2_000_000)] == ["7", "1k", "1.2k", "12k", "2M"]
    assert short_number(1234, "it") == "1,2k"


def test_importing_the_module_does_not_load_matplotlib() -> None:
    """The CLI starts fast: matplotlib loads when a chart is drawn, not when the module is imported."""
    code = "import sys, listener.charts; print('matplotlib' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        == "False\n"
    )
