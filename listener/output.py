"""One renderer for every command: a table for people, JSON/CSV/TSV/NL for machines.

Text from the internet is printed by these functions only, with terminal
control characters made visible, so a post cannot rewrite the user's screen.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Callable, Sequence
from typing import IO, Any, TypeVar

import click
from tabulate import tabulate

__all__ = ["output_options", "render"]

F = TypeVar("F", bound=Callable[..., Any])
FORMATS = ("table", "json", "nl", "csv", "tsv")
# C0/C1 controls (ESC, BEL, CSI...) and bidi overrides: never sent raw to a terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def inert(text: str) -> str:
    """Show control characters as ``\\x1b``-style escapes instead of obeying them."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


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
) -> None:
    """Write rows in the chosen format; ``width`` trims long cells in tables only."""
    out = out or sys.stdout
    if fmt in ("json", "nl"):
        objects = [dict(zip(columns, (_jsonable(v) for v in row), strict=True)) for row in rows]
        if fmt == "json":
            out.write(json.dumps(objects, ensure_ascii=False, indent=2) + "\n")
        else:
            out.writelines(json.dumps(o, ensure_ascii=False) + "\n" for o in objects)
    elif fmt in ("csv", "tsv"):
        writer = csv.writer(out, dialect="excel" if fmt == "csv" else "excel-tab", lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_jsonable(v) for v in row] for row in rows)
    else:
        table = [[_cell(v, width) for v in row] for row in rows]
        out.write(tabulate(table, headers=list(columns), disable_numparse=True) + "\n")


def _jsonable(value: Any) -> Any:
    return value.hex() if isinstance(value, bytes) else value
