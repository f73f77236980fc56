"""Sentiment scoring after ingest, and re-scoring after a model change.

Storing a page never waits for the model: collection stores, then this step
scores what is new, in batches. Readers of sentiment see unscored mentions as
unscored (NULL), never as neutral.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from listener.database_settings import DatabaseSettings
from listener.errors import ListenerError
from storage import Store
from storage.interfaces import ListenerStore

if TYPE_CHECKING:
    from listener.sentiment.backends import SentimentBackend

__all__ = ["backlog_line", "rescore", "score_in_child", "score_new"]

BATCH = 256
LARGE_BACKLOG = (500, timedelta(minutes=15))  # mentions, or age of the oldest: alerts visibly wait


def _store_scores(
    store: ListenerStore, backend: SentimentBackend, rows: list[tuple[int, str, str | None]]
) -> None:
    scores = backend.score([text for _, text, _ in rows], [lang for _, _, lang in rows])
    store.set_sentiment(
        [
            (mention_id, s.label, s.score, backend.version, s.lang)
            for (mention_id, _, _), s in zip(rows, scores, strict=True)
        ]
    )


def score_new(store: ListenerStore, backend: SentimentBackend, batch: int = BATCH) -> int:
    """Score every mention that has no sentiment yet; return how many."""
    done = 0
    while rows := store.unscored(batch):
        _store_scores(store, backend, rows)
        done += len(rows)
    return done


def rescore(
    store: ListenerStore,
    backend: SentimentBackend,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Score again every mention scored by another model version (or not at all)."""
    done, last = 0, 0
    while rows := store.scored_by_other(backend.version, last, batch):
        _store_scores(store, backend, rows)
        done += len(rows)
        last = rows[-1][0]
        if progress:
            progress(len(rows))
    return done


def score_in_child(
    database: Path | DatabaseSettings,
    backend: str = "default",
    timeout: float = 900.0,
    should_stop: Callable[[], bool] = lambda: False,
) -> int:
    """Score new mentions in a short-lived child process; return how many.

    The daemon runs for months on small servers: the model (a few hundred MB with
    its encoders) is resident only while there is something to score, and a crash
    inside a native encoder cannot take the daemon down with it. When the daemon
    is asked to stop, the child is stopped too: each batch is its own transaction,
    so what is not scored yet is scored next time.
    """
    command = [sys.executable, "-m", "listener.scoring", *_store_arguments(database), "--backend", backend]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as child:  # noqa: S603
        deadline = time.monotonic() + timeout
        while True:
            try:
                out, err = child.communicate(timeout=0.2)  # keeps draining the pipes while it waits
                break
            except subprocess.TimeoutExpired:
                if should_stop() or time.monotonic() > deadline:
                    child.terminate()
                    child.communicate()
                    if should_stop():
                        return 0
                    raise ListenerError(
                        f"sentiment scoring took over {timeout:g}s and was stopped; it resumes next cycle"
                    ) from None
    if child.returncode != 0:
        last = (err.strip().splitlines() or [f"exit status {child.returncode}"])[-1]
        raise ListenerError(f"sentiment scoring failed: {last}")
    return int(out.strip() or 0)


def _store_arguments(database: Path | DatabaseSettings) -> list[str]:
    """The child's arguments naming the store; a server's password stays in the environment."""
    if isinstance(database, Path):
        return ["--db", str(database)]
    arguments = ["--url", str(database.url)]
    if database.password_env:
        arguments += ["--password-env", database.password_env]
    return arguments


def backlog_line(count: int, oldest: datetime | None, now: datetime) -> str:
    """``listener status``'s line on the scoring backlog; it says when alerts wait for it."""
    if count == 0 or oldest is None:
        return "Sentiment: every mention is scored."
    age = max(now - oldest, timedelta(0))
    line = f"Sentiment: {count} mentions wait for scoring, the oldest collected {_duration(age)} ago."
    if count >= LARGE_BACKLOG[0] or age >= LARGE_BACKLOG[1]:
        line += " Negative-sentiment alerts wait for them; the daemon catches up in the background."
    return line


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h" if minutes < 48 * 60 else f"{minutes // 1440} days"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m listener.scoring", description="Score new mentions, then exit."
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--db", type=Path, help="a SQLite file")
    where.add_argument("--url", help="a PostgreSQL server's URL (never with a password)")
    parser.add_argument("--password-env", help="the environment variable holding the server's password")
    parser.add_argument("--backend", default="default")
    args = parser.parse_args(argv)
    from listener.sentiment.backends import load_backend

    if args.db is not None:
        store: ListenerStore = Store.open(args.db, create=False)
    else:
        from listener.fleet import open_store

        store = open_store(DatabaseSettings(url=args.url, password_env=args.password_env), os.environ)[0]
    with store:
        print(score_new(store, load_backend(args.backend)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
