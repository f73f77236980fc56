"""The digest's 7-day chart as a small PNG, drawn in pure Python.

Mail clients show neither SVG nor (Gmail) ``data:`` images, and do not run
scripts: a PNG attached inline is what renders everywhere. Seven stacked bars
need no plotting library; this draws them on an RGB canvas with a 5x7 pixel
font for the numbers and writes the PNG with ``zlib``, so the digest adds no
dependency (matplotlib and its wheels weigh ~40 MB).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from datetime import date

__all__ = ["bar_chart", "png"]

Colour = tuple[int, int, int]
WHITE: Colour = (255, 255, 255)
INK: Colour = (68, 68, 68)
GRID: Colour = (225, 225, 225)
MEAN: Colour = (150, 150, 150)
OTHER: Colour = (99, 140, 196)
NEGATIVE: Colour = (197, 48, 48)

# 5x7 glyphs, one string of five bits per row.
_FONT = {
    "0": "01110 10001 10011 10101 11001 10001 01110", "1": "00100 01100 00100 00100 00100 00100 01110",
    "2": "01110 10001 00001 00010 00100 01000 11111", "3": "11110 00001 00001 01110 00001 00001 11110",
    "4": "00010 00110 01010 10010 11111 00010 00010", "5": "11111 10000 11110 00001 00001 10001 01110",
    "6": "00110 01000 10000 11110 10001 10001 01110", "7": "11111 00001 00010 00100 01000 01000 01000",
    "8": "01110 10001 10001 01110 10001 10001 01110", "9": "01110 10001 10001 01111 00001 00010 01100",
    "/": "00001 00010 00010 00100 01000 01000 10000", "k": "10000 10000 10010 10100 11000 10100 10010",
    "M": "10001 11011 10101 10101 10001 10001 10001", ".": "00000 00000 00000 00000 00000 01100 01100",
    " ": "00000 00000 00000 00000 00000 00000 00000",
}  # fmt: skip


class Canvas:
    """An RGB image as rows of bytes; drawing clips at the edges."""

    def __init__(self, width: int, height: int, background: Colour = WHITE) -> None:
        self.width, self.height = width, height
        self.rows = [bytearray(bytes(background) * width) for _ in range(height)]

    def rect(self, x0: int, y0: int, x1: int, y1: int, colour: Colour) -> None:
        """Fill [x0, x1) x [y0, y1)."""
        x0, x1 = max(x0, 0), min(x1, self.width)
        if x1 <= x0:
            return
        span = bytes(colour) * (x1 - x0)
        for y in range(max(y0, 0), min(y1, self.height)):
            self.rows[y][x0 * 3 : x1 * 3] = span

    def text(self, x: int, y: int, text: str, colour: Colour = INK, scale: int = 2) -> None:
        for char in text:
            for row, bits in enumerate(_FONT.get(char, _FONT[" "]).split()):
                for col, bit in enumerate(bits):
                    if bit == "1":
                        px, py = x + col * scale, y + row * scale
                        self.rect(px, py, px + scale, py + scale, colour)
            x += 6 * scale

    def png(self) -> bytes:
        return png(self.width, self.height, self.rows)


def text_width(text: str, scale: int = 2) -> int:
    return max(len(text) * 6 * scale - scale, 0)


def png(width: int, height: int, rows: Sequence[bytes | bytearray]) -> bytes:
    """An 8-bit RGB PNG of these rows (no filtering: flat colours compress well anyway)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes(row) for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def short(n: int) -> str:
    """1234 -> 1.2k, so seven labels fit above their bars."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M".replace(".0M", "M")
    if n >= 10_000:
        return f"{n // 1000}k"
    if n >= 1000:
        return f"{n / 1000:.1f}k".replace(".0k", "k")
    return str(n)


def bar_chart(days: Sequence[tuple[date, int, int]], mean: float | None = None,
              width: int = 560, height: int = 220) -> bytes:  # fmt: skip
    """Stacked bars per day (negative at the bottom, in red), value on top, DD/MM below.

    ``mean`` draws a grey line at the mean of the days before the chart's last.
    """
    canvas = Canvas(width, height)
    top, bottom, left, right = 24, height - 28, 8, width - 8
    peak = max([v for _, v, _ in days] + [mean or 0, 1])
    scale = (bottom - top) / peak
    for i in range(1, 4):
        y = bottom - round((bottom - top) * i / 4)
        canvas.rect(left, y, right, y + 1, GRID)
    canvas.rect(left, bottom, right, bottom + 1, INK)
    slot = (right - left) // max(len(days), 1)
    bar = max(slot * 3 // 5, 4)
    for i, (day, volume, negative) in enumerate(days):
        x = left + i * slot + (slot - bar) // 2
        height_all = round(volume * scale)
        height_neg = round(min(negative, volume) * scale)
        canvas.rect(x, bottom - height_all, x + bar, bottom - height_neg, OTHER)
        canvas.rect(x, bottom - height_neg, x + bar, bottom, NEGATIVE)
        label = short(volume)
        canvas.text(x + (bar - text_width(label)) // 2, bottom - height_all - 18, label)
        when = f"{day.day:02d}/{day.month:02d}"
        canvas.text(x + (bar - text_width(when)) // 2, bottom + 8, when)
    if mean:
        y = bottom - round(mean * scale)
        for x in range(left, right, 8):
            canvas.rect(x, y, x + 4, y + 2, MEAN)
    return canvas.png()
