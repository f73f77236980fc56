"""``listener sentiment``: one label per input line, for scripts and evaluation.

The output is a contract: stdout holds exactly one line per input line, either
``negative``, ``neutral`` or ``positive`` or, with ``--format jsonl``, a JSON
object with ``label``, ``score`` and ``lang``. Nothing else goes to stdout.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import BinaryIO

import click

__all__ = ["read_lines", "sentiment"]

BATCH = 256


def read_lines(stream: BinaryIO) -> Iterator[str]:
    """Yield each ``\\n``-terminated line, decoded leniently.

    Bytes, not text mode: text mode would also split on a lone ``\\r`` and
    change the line count; bad UTF-8 becomes U+FFFD instead of an error.
    """
    for raw in stream:
        yield raw.rstrip(b"\n").rstrip(b"\r").decode("utf-8", errors="replace")


def _batches(lines: Iterator[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


@click.command()
@click.argument("file", type=click.File("rb"))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["labels", "jsonl"]),
    default="labels",
    show_default=True,
    help="labels: one word per line; jsonl: {label, score, lang} per line.",
)
@click.option(
    "--backend",
    default="default",
    show_default=True,
    help="default, vader, or transformers:<model folder>.",
)
def sentiment(file: BinaryIO, fmt: str, backend: str) -> None:
    """Label the sentiment of each line of FILE (``-`` for stdin).

    Prints exactly one line per input line, in order, empty lines included.

    \b
    Example:
        listener sentiment posts.txt
        echo "non è affatto male" | listener sentiment - --format jsonl
    """
    from listener.sentiment.backends import load_backend

    model = load_backend(backend)
    for batch in _batches(read_lines(file)):
        scores = model.score(batch)
        if fmt == "labels":
            out = [s.label for s in scores]
        else:
            out = [
                json.dumps({"label": s.label, "score": s.score, "lang": s.lang}, ensure_ascii=False)
                for s in scores
            ]
        click.echo("\n".join(out))
