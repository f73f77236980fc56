"""Sentiment scoring after ingest, and re-scoring after a model change.

Storing a page never waits for the model: collection stores, then this step
scores what is new, in batches. Readers of sentiment see unscored mentions as
unscored (NULL), never as neutral.
"""

from __future__ import annotations

from collections.abc import Callable

from listener.sentiment.backends import SentimentBackend
from storage import Store

__all__ = ["rescore", "score_new"]

BATCH = 256


def _store_scores(store: Store, backend: SentimentBackend, rows: list[tuple[int, str, str | None]]) -> None:
    scores = backend.score([text for _, text, _ in rows], [lang for _, _, lang in rows])
    store.set_sentiment(
        [
            (mention_id, s.label, s.score, backend.version, s.lang)
            for (mention_id, _, _), s in zip(rows, scores, strict=True)
        ]
    )


def score_new(store: Store, backend: SentimentBackend, batch: int = BATCH) -> int:
    """Score every mention that has no sentiment yet; return how many."""
    done = 0
    while rows := store.unscored(batch):
        _store_scores(store, backend, rows)
        done += len(rows)
    return done


def rescore(
    store: Store, backend: SentimentBackend, batch: int = BATCH, progress: Callable[[int], None] | None = None
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
