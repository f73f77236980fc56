"""Tables for people: as wide as the terminal, long text wrapped, links whole on a line of their own.

Every cell used to be cut at 80 characters, so links ended in "…" and could not be
opened, and ``listener search`` printed lines 330 columns wide. Here the columns
share the terminal's width (``$COLUMNS`` or 100 columns when the output is not a
terminal): short columns keep their width, the longest ones are narrowed to fit
and their text wraps, and a link column leaves the grid: each link is printed in
full on its own line under its row, never cut or wrapped, so a terminal can open it.

Laid out by rich, imported only when a table is printed. Cells reach rich as
``Text``, never as markup: a post that says ``[bold red]`` or ``[link=...]`` prints
those characters. ``listener.output`` makes control characters inert first.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from typing import IO

__all__ = ["MIN_WIDTH", "READABLE", "is_link_column", "print_table", "table_width"]

NOT_A_TERMINAL = 100  # columns when the output is a file or a pipe and $COLUMNS is unset
MIN_WIDTH = 8  # a column narrowed to fit keeps at least this many (or its own, if fewer)
READABLE = 30  # prose narrower than this makes the other columns give way first
GAP = 2  # spaces between columns
INDENT = "    "  # before a prose column printed under its row


def table_width(out: IO[str]) -> int:
    """The terminal's width; for a file or a pipe, ``$COLUMNS``, else ``NOT_A_TERMINAL``."""
    isatty = getattr(out, "isatty", None)
    if isatty is not None and isatty():
        return shutil.get_terminal_size((NOT_A_TERMINAL, 24)).columns
    try:
        return max(20, int(os.environ.get("COLUMNS", "")))
    except ValueError:
        return NOT_A_TERMINAL


def is_link_column(name: str) -> bool:
    return name == "url" or name.endswith("_url") or name == "link"


def fit(
    natural: Sequence[int], available: int, least: Sequence[int], prose: Sequence[bool]
) -> list[int] | None:
    """Column widths: each its ``natural`` width if all fit, else the prose narrowed first; None if
    even the narrowest layout that keeps every one-word cell whole is too wide.

    Prose (cells of three words or more) wraps well; the other columns (ids, times,
    handles, counts: one word each) keep their width while the prose can stay
    readable (``READABLE``), then narrow to their ``least`` (their widest cell, the
    header wrapped after its underscores); the prose is capped at one level, the
    largest at which the table fits, never under ``MIN_WIDTH``.
    """
    if sum(natural) <= available:
        return list(natural)
    for words, floor in ((natural, READABLE), (least, MIN_WIDTH)):
        base = [n if flex else w for n, w, flex in zip(natural, words, prose, strict=True)]
        floors = [min(n, floor) if flex else w for n, w, flex in zip(natural, words, prose, strict=True)]
        if sum(floors) <= available:
            return _capped(base, floors, available)
    return None


def _capped(natural: Sequence[int], floors: Sequence[int], available: int) -> list[int]:
    """Every column at ``min(natural, cap)`` but not under its floor, for the largest cap that fits."""
    low, high = MIN_WIDTH, max(natural)
    while low < high:
        cap = (low + high + 1) // 2
        if sum(max(f, min(n, cap)) for n, f in zip(natural, floors, strict=True)) <= available:
            low = cap
        else:
            high = cap - 1
    return [max(f, min(n, low)) for n, f in zip(natural, floors, strict=True)]


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], out: IO[str]) -> None:
    """Write ``rows`` (cells already inert text) under ``headers``, fitted to the output's width.

    A column of numbers is right-aligned; a link column is printed under each row,
    whole; so is a prose column that would get fewer than ``READABLE`` columns in
    the grid, wrapped to the whole width instead.
    """
    import io

    from rich.cells import cell_len
    from rich.console import Console
    from rich.padding import Padding
    from rich.text import Text

    width = table_width(out)
    links = [i for i, name in enumerate(headers) if is_link_column(name)]
    grid, below, widths, gap = _arrange(
        headers, rows, [i for i in range(len(headers)) if i not in links], width
    )
    right = [bool(rows) and all(_is_number(row[i]) for row in rows if row[i]) for i in grid]
    buffer = io.StringIO()  # plain text: no colour codes, lines right-stripped as tabulate's were
    console = Console(
        file=buffer, width=max(width, sum(widths) + gap * len(grid)), color_system=None, markup=False,
        emoji=False, highlight=False,
    )  # fmt: skip
    heads = [
        headers[i] if cell_len(headers[i]) <= w else headers[i].replace("_", "_\n")
        for i, w in zip(grid, widths, strict=True)
    ]
    console.print(_grid(heads, widths, right, gap))
    buffer.writelines(f"{INDENT}{headers[i]}\n" for i in below)
    buffer.write((" " * gap).join("-" * w for w in widths) + "\n")
    for row in rows:
        console.print(_grid([row[i] for i in grid], widths, right, gap))
        for i in below:
            console.print(Padding(Text(row[i], overflow="fold"), (0, 0, 0, len(INDENT))))
        buffer.writelines(f"  {row[i]}\n" for i in links if row[i])  # whole, however long
    out.writelines(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def _arrange(
    headers: Sequence[str], rows: Sequence[Sequence[str]], columns: list[int], width: int
) -> tuple[list[int], list[int], list[int], int]:
    """(the grid's columns, the prose columns printed below each row, the grid's widths, its gap)."""
    widths, gap = _layout([headers[i] for i in columns], [[row[i] for i in columns] for row in rows], width)
    below = [
        i for i, w in zip(columns, widths, strict=True)
        if w < READABLE and _is_prose(rows, i) and any(len(row[i]) > w for row in rows)
    ]  # fmt: skip
    if not below or len(below) == len(columns):
        return columns, [], widths, gap
    grid = [i for i in columns if i not in below]
    widths, gap = _layout([headers[i] for i in grid], [[row[i] for i in grid] for row in rows], width)
    return grid, below, widths, gap


def _is_prose(rows: Sequence[Sequence[str]], column: int) -> bool:
    """Text of three words or more somewhere in the column (``2026-12-04 09:40`` is one value)."""
    return any(row[column].count(" ") > 1 for row in rows)


def _layout(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> tuple[list[int], int]:
    """(column widths, spaces between columns) for a table ``width`` columns wide, if it can be."""
    from rich.cells import cell_len

    cells = [[cell_len(row[i]) for row in rows] for i in range(len(headers))]
    natural = [max([cell_len(h), *c]) for h, c in zip(headers, cells, strict=True)]
    least = [  # the header may wrap after its underscores
        max([*(cell_len(part) for part in re.findall(r"[^_]*_|[^_]+$", h)), *c])
        for h, c in zip(headers, cells, strict=True)
    ]
    prose = [_is_prose(rows, i) for i in range(len(headers))]
    for gap in (GAP, 1):  # one space between columns rather than a one-word cell cut
        widths = fit(natural, width - gap * (len(headers) - 1), least, prose)
        if widths is not None:
            return widths, gap
    # Too many columns for the terminal: every one narrowed alike, words cut.
    return _capped(natural, [min(n, MIN_WIDTH) for n in natural], width - (len(headers) - 1)), 1


def _grid(cells: Sequence[str], widths: Sequence[int], right: Sequence[bool], gap: int) -> object:
    from rich.table import Table
    from rich.text import Text

    table = Table.grid(padding=(0, gap, 0, 0), pad_edge=False)
    for width, numeric in zip(widths, right, strict=True):
        table.add_column(width=width, overflow="fold", justify="right" if numeric else "left")
    table.add_row(*(Text(cell) for cell in cells))
    return table


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
