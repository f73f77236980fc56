"""One renderer for every command: a table for people, JSON/CSV/TSV/NL for machines.

Text from the internet is printed by these functions only, with terminal
control characters made visible, so a post cannot rewrite the user's screen.
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import json
import re
import sys
from collections.abc import Callable, Sequence
from typing import IO, Any, TypeVar

import click

__all__ = ["inert", "inert_json", "output_options", "plain_table", "render"]

F = TypeVar("F", bound=Callable[..., Any])
FORMATS = ("table", "json", "nl", "csv", "tsv")
# C0/C1 controls (ESC, BEL, CSI...) and bidi overrides: never sent raw to a terminal.
# Tab and newline are kept; ``one_line`` escapes the newline too.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_UTC_TIME = re.compile(r"^(\d{4}-\d\d-\d\d)T(\d\d:\d\d):\d\d\+00:00$")
# What json.dumps(ensure_ascii=False) leaves raw: it escapes C0 only.
_JSON_RAW = re.compile(r"[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def inert(text: str, one_line: bool = False) -> str:
    """Show control characters as ``\\x1b``-style escapes instead of obeying them.

    The one function for text from outside (posts, names, server errors) on its
    way to a terminal or a log; ``one_line`` escapes newlines too, for ``Error:``
    lines and log messages that must stay one line.
    """
    pattern = _CONTROL_OR_NEWLINE if one_line else _CONTROL
    return pattern.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def inert_json(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` without ASCII escaping, but with DEL, C1 and bidi overrides as ``\\u`` escapes.

    The same data for a JSON reader; nothing a terminal would obey.
    """
    text = json.dumps(value, ensure_ascii=False, **kwargs)
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def output_options(func: F) -> F:
    """Add the shared ``--json/--nl/--csv/--tsv/--table`` switches as ``fmt``."""
    options = [
        click.option("--table", "fmt", flag_value="table", default=True, help="Table for people (default)."),
        click.option("--json", "fmt", flag_value="json", help="A JSON array of objects."),
        click.option("--nl", "fmt", flag_value="nl", help="Newline-delimited JSON objects."),
        click.option("--csv", "fmt", flag_value="csv", help="CSV with a header row."),
        click.option("--tsv", "fmt", flag_value="tsv", help="TSV with a header row."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _cell(value: Any, width: int | None) -> Any:
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, str):
        text = inert(" ".join(value.split()) if width else value)
        return text if width is None or len(text) <= width else text[: width - 1] + "…"
    return value


def render(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    fmt: str = "table",
    out: IO[str] | None = None,
    width: int | None = 80,
    fast: bool = False,
    fitted: bool = True,
) -> None:
    """Write rows in the chosen format.

    Text is inert in every format: escaped for tables and CSV/TSV, ``\\u`` escapes in JSON.
    A table is ``fitted`` to the terminal (``listener.tables``: text wrapped, links
    whole). With ``fitted=False`` it is tabulate's, cells trimmed to ``width``: the
    format of ``listener sql``, a contract; ``fast`` lays that out with ``plain_table``
    (the same bytes, ~10x sooner) when it can: for ``listener status``, thousands of
    rows on every call.
    """
    out = out or sys.stdout
    if fmt in ("json", "nl"):
        objects = [dict(zip(columns, (_jsonable(v) for v in row), strict=True)) for row in rows]
        if fmt == "json":
            out.write(inert_json(objects, indent=2) + "\n")
        else:
            out.writelines(inert_json(o) + "\n" for o in objects)
    elif fmt in ("csv", "tsv"):
        # Escaped always, to a file too: a CSV is often read with cat. Newlines stay, quoted.
        writer = csv.writer(out, dialect="excel" if fmt == "csv" else "excel-tab", lineterminator="\n")
        writer.writerow([inert(c) for c in columns])
        writer.writerows([_csv_cell(v) for v in row] for row in rows)
    elif fitted:
        from listener.tables import print_table

        print_table(
            [inert(c, one_line=True) for c in columns], [[_fitted_cell(v) for v in row] for row in rows], out
        )
    else:
        out.write(_tabulated(columns, rows, width, fast) + "\n")


def _tabulated(columns: Sequence[str], rows: Sequence[Sequence[Any]], width: int | None, fast: bool) -> str:
    """tabulate's ``simple`` table, cells trimmed to ``width`` (``plain_table`` when ``fast`` and it can)."""
    table = [[_cell(v, width) for v in row] for row in rows]
    headers = [inert(c, one_line=True) for c in columns]
    text = plain_table(headers, table) if fast else None
    if text is None:
        from tabulate import tabulate  # ~20 ms to import: only for the tables that need it

        text = tabulate(table, headers=headers, disable_numparse=True)
    return text


def _fitted_cell(value: Any) -> str:
    """A cell of a fitted table: one line of inert text (a newline or tab in a post is a space).

    A stored UTC time (``2026-12-04T09:40:12+00:00``) reads ``2026-12-04 09:40``.
    """
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    text = "" if value is None else inert(" ".join(str(value).split()))
    return _UTC_TIME.sub(r"\1 \2", text) if len(text) == 25 else text


def _csv_cell(value: Any) -> Any:
    value = _jsonable(value)
    return inert(value) if isinstance(value, str) else value


def _jsonable(value: Any) -> Any:
    return value.hex() if isinstance(value, bytes) else value


def plain_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str | None:
    """tabulate's ``simple`` table with ``disable_numparse``, byte for byte; None where unsure.

    tabulate spends ~0.2 s on 3,545 status rows deducing types that number parsing
    off makes moot: every column is text, left-aligned, as wide as its widest cell
    or its header plus two, cells joined by two spaces, lines right-stripped. That
    holds for printable one-line text measured by ``len`` (ASCII, or any text when
    tabulate has no ``wcwidth``); for anything else (bytes, ragged rows, control or
    wide characters) this returns None and the caller asks tabulate.
    """
    if not headers or not _len_is_width("".join(headers)) or any(len(r) != len(headers) for r in rows):
        return None
    columns = [_plain_column(values) for values in zip(*rows, strict=True)] if rows else [[] for _ in headers]
    cells = [column for column in columns if column is not None]
    if len(cells) < len(columns):
        return None
    widths = [max([len(h) + 2, *map(len, column)]) for h, column in zip(headers, cells, strict=True)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)  # one format call a row: ljust cell by cell is slower
    lines = [line.format(*headers).rstrip(), "  ".join("-" * w for w in widths)]
    lines += [line.format(*row).rstrip() for row in zip(*cells, strict=True)]
    return "\n".join(lines)


def _plain_column(values: Sequence[Any]) -> list[str] | None:
    """A column as tabulate writes it with number parsing off: ``f"{value}"`` stripped, None as empty.

    None (the result) for what ``plain_table`` cannot lay out as tabulate does: bytes
    (tabulate decodes them), text whose width is not its length.
    """
    if any(isinstance(v, bytes) for v in values):
        return None
    texts = ["" if v is None else f"{v}" for v in values]
    return [t.strip() for t in texts] if _len_is_width("".join(texts)) else None


def _len_is_width(text: str) -> bool:
    """Whether tabulate measures this text by ``len`` on one line: printable (no newline,
    escape or separator character), and ASCII or tabulate without ``wcwidth``."""
    return text.isprintable() and (text.isascii() or not _wide_chars())


@functools.cache
def _wide_chars() -> bool:
    """Whether tabulate measures text with ``wcwidth``: it does when it can import it.

    Asked once, and only for non-ASCII text: importing tabulate to ask costs ~20 ms.
    """
    module = sys.modules.get("tabulate")
    if module is not None:
        return bool(module.WIDE_CHARS_MODE and module.wcwidth is not None)
    return importlib.util.find_spec("wcwidth") is not None
