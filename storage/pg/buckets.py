"""Watch buckets, their change feed, and a watch's mentions of a time range, on PostgreSQL.

The PostgreSQL side of the reads alerts and health make (``storage.interfaces.MentionStore``):
the counts come from ``watch_buckets`` and the changes from ``bucket_changes``, both kept by the
triggers of schema 002; times and windows are index ranges of a watch's matches
(``mention_watches`` carries its mention's network and time).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from listener.records import utc_iso
from storage.mentions import BASE_BUCKET, bucket_range
from storage.pg.connection import PgConnection
from storage.rows import BucketChanges, WindowMention

__all__ = ["CHANGES_LOCK", "PgBuckets"]

# The advisory lock under which a transaction numbers its bucket changes as it commits
# (schema 002, listener_number_changes); a reader holds it shared so that no number below
# the sequence's last value is still to become visible.
CHANGES_LOCK = 7812316254731223552

_WINDOW = """
    SELECT m.network, m.author_handle, m.text, m.url, m.language,
      coalesce(m.like_count, 0) + coalesce(m.repost_count, 0) + coalesce(m.reply_count, 0)
        + coalesce(m.quote_count, 0),
      m.created_at, m.sentiment_label, m.id
    FROM mention_watches mw JOIN mentions m ON m.id = mw.mention_id
    WHERE mw.watch_id = (SELECT id FROM watches WHERE name = %(watch)s)
      AND mw.created_at >= %(start)s AND mw.created_at < %(end)s {network}
    ORDER BY mw.created_at DESC, mw.mention_id DESC LIMIT %(limit)s"""


class PgBuckets:
    """Reads of ``watch_buckets``, ``bucket_changes`` and a watch's matches."""

    conn: PgConnection

    def bucket_counts(
        self, watch: str, start: datetime, end: datetime, bucket_seconds: int, network: str = ""
    ) -> list[tuple[int, int, int, int]]:
        """(bucket start as epoch seconds, volume, negative, not yet scored) per non-empty bucket.

        Summed from the 5-minute ``watch_buckets``, so ``bucket_seconds`` must be a multiple of
        300; buckets are aligned on multiples of ``bucket_seconds`` since the epoch.
        """
        first, end_bucket = bucket_range(start, end, bucket_seconds)
        rows = self.conn.execute(
            f"""
            SELECT (bucket * {BASE_BUCKET} / %(size)s) * %(size)s AS at, sum(volume), sum(negative), sum(unscored)
            FROM watch_buckets
            WHERE watch_id = (SELECT id FROM watches WHERE name = %(watch)s)
              AND bucket >= %(start)s AND bucket < %(end)s AND (%(network)s = '' OR network = %(network)s)
            GROUP BY at HAVING sum(volume) > 0 ORDER BY at
            """,
            {"size": bucket_seconds, "watch": watch, "network": network, "start": first, "end": end_bucket},
        )
        return [(int(at), int(v), int(n), int(u)) for at, v, n, u in rows]

    def bucket_changes(self, after: int) -> BucketChanges:
        """The watches whose buckets changed after change ``after`` (see ``bucket_changes`` in schema 002)."""
        with self.conn.transaction():
            # Shared: waits for a committing writer to be visible, keeps new numbers out meanwhile.
            self.conn.execute("SELECT pg_advisory_xact_lock_shared(%s)", (CHANGES_LOCK,))
            row = self.conn.execute(
                "SELECT CASE WHEN is_called THEN last_value ELSE 0 END, "
                "(SELECT min(seq) FROM bucket_changes WHERE seq > %s) FROM bucket_changes_seq",
                (after,),
            ).fetchone()
            rows = self.conn.execute(
                f"SELECT w.name, min(c.bucket) * {BASE_BUCKET} FROM bucket_changes c "
                "JOIN watches w ON w.id = c.watch_id WHERE c.seq > %s GROUP BY w.name",
                (after,),
            ).fetchall()
        latest, next_kept = (int(row[0]), row[1]) if row else (0, None)
        # Every change after ``after`` is still there if the next one is (removed watches included).
        complete = latest <= after or next_kept == after + 1
        return BucketChanges(latest, complete, {str(name): int(at) for name, at in rows})

    def forget_bucket_changes(self, upto: int) -> None:
        """Drop the changes up to ``upto``: the one reader has them."""
        with self.conn.transaction():
            self.conn.execute("DELETE FROM bucket_changes WHERE seq <= %s", (upto,))

    def window(
        self, watch: str, start: datetime, end: datetime, network: str = "", limit: int = 5000
    ) -> list[WindowMention]:
        """Mentions of a watch created in [start, end), newest first (for explanations).

        One index range of the watch's matches by time (by network and time for one network):
        what it reads is the watch's mentions of the range, up to ``limit``.
        """
        where = "AND mw.network = %(network)s" if network else ""
        rows = self.conn.execute(
            _WINDOW.format(network=where),
            {
                "watch": watch,
                "start": utc_iso(start),
                "end": utc_iso(end),
                "network": network,
                "limit": limit,
            },
        )
        return [
            WindowMention(net, handle, text, url, lang, int(engagement), utc_iso(at), label, int(i))
            for net, handle, text, url, lang, engagement, at, label, i in rows
        ]

    def mention_times(self, network: str, watch: str, limit: int = 200) -> list[datetime]:
        """Creation times of a source's latest mentions, newest first (at most 256, as SQLite keeps)."""
        rows = self.conn.execute(
            "SELECT created_at FROM mention_watches WHERE watch_id = (SELECT id FROM watches WHERE name = %s) "
            "AND network = %s ORDER BY created_at DESC LIMIT %s",
            (watch, network, min(limit, 256)),
        )
        return [row[0] for row in rows]

    def newest_mentions(self, sources: Sequence[tuple[str, str]]) -> dict[tuple[str, str], datetime]:
        """The creation time of each source's latest mention, for the sources that have one: one read."""
        if not sources:
            return {}
        networks, watches = (list(column) for column in zip(*sources, strict=True))
        rows = self.conn.execute(
            "SELECT s.network, s.watch, (SELECT max(mw.created_at) FROM mention_watches mw "
            "WHERE mw.watch_id = w.id AND mw.network = s.network) "
            "FROM unnest(%s::text[], %s::text[]) AS s(network, watch) JOIN watches w ON w.name = s.watch",
            (networks, watches),
        )
        return {(str(net), str(watch)): at for net, watch, at in rows if at is not None}
