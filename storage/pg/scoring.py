"""Sentiment on PostgreSQL: what waits for a score, what another model scored, storing scores.

The PostgreSQL side of the scoring part of ``storage.interfaces.MentionStore``. Storing scores
is one statement, so the triggers of schema 002 move the kept counts (watch buckets, authors)
once per batch, and the rows it counts in are locked first, in the order every writer takes
(``storage.pg.authors.lock_mentions``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from storage.pg.authors import lock_mentions
from storage.pg.connection import PgConnection

__all__ = ["PgScoring"]

_SET = (
    "UPDATE mentions m SET sentiment_label = s.label, sentiment_score = s.score, "
    "sentiment_model = s.model, language = coalesce(m.language, s.lang) "
    "FROM unnest(%s::bigint[], %s::text[], %s::float8[], %s::text[], %s::text[]) "
    "AS s(id, label, score, model, lang) WHERE m.id = s.id"
)
# Rows per UPDATE. Schema 002's update trigger joins the statement's old and new rows under
# EXISTS, which PostgreSQL plans as a nested loop over the (unindexed) transition tables: its
# cost grows with the square of the rows, and JIT compiles it past a few thousand (8,400 rows
# in one statement took 12 s, in parts of 500 under 1 s). The scorer stores 500 at a time.
_PER_UPDATE = 500


class PgScoring:
    """Reads and writes of ``mentions``' sentiment columns."""

    conn: PgConnection

    def unscored(self, limit: int = 500) -> list[tuple[int, str, str | None]]:
        """(id, text, language) of mentions whose sentiment is not scored yet, oldest first."""
        rows = self.conn.execute(
            "SELECT id, text, language FROM mentions WHERE sentiment_label IS NULL ORDER BY id LIMIT %s",
            (limit,),
        )
        return [(int(i), str(text), lang) for i, text, lang in rows]

    def scoring_backlog(self) -> tuple[int, datetime | None]:
        """How many mentions wait for sentiment, and when the oldest of them was collected."""
        row = self.conn.execute(
            "SELECT count(*), min(collected_at) FROM mentions WHERE sentiment_label IS NULL"
        ).fetchone()
        return (int(row[0]), row[1]) if row else (0, None)

    def scored_by_other(
        self, version: str, after_id: int = 0, limit: int = 500
    ) -> list[tuple[int, str, str | None]]:
        """(id, text, language) of mentions scored by another model than ``version``, by id."""
        rows = self.conn.execute(
            "SELECT id, text, language FROM mentions WHERE id > %s AND sentiment_model IS DISTINCT FROM %s "
            "ORDER BY id LIMIT %s",
            (after_id, version, limit),
        )
        return [(int(i), str(text), lang) for i, text, lang in rows]

    def count_scored_by_other(self, version: str) -> int:
        row = self.conn.execute(
            "SELECT count(*) FROM mentions WHERE sentiment_model IS DISTINCT FROM %s", (version,)
        ).fetchone()
        return int(row[0]) if row else 0

    def set_sentiment(self, scores: Sequence[tuple[int, str, float, str, str | None]]) -> None:
        """Store (id, label, score, model version, language) for scored mentions.

        A language the network gave is kept; a detected one only fills a gap. A mention scored
        twice in one batch keeps its last score, as one UPDATE per score would.
        """
        last = {mention_id: score for mention_id, *score in scores}
        if not last:
            return
        ids = sorted(last)
        with self.conn.transaction():
            lock_mentions(self.conn, ids)
            for start in range(0, len(ids), _PER_UPDATE):
                part = ids[start : start + _PER_UPDATE]
                columns = zip(*(last[i] for i in part), strict=True)
                self.conn.execute(_SET, (part, *(list(c) for c in columns)))
