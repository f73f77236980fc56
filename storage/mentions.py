"""Mentions: storing pages, scoring, searching, the windows alerts read, and erasure.

The SQLite side of ``storage.interfaces.MentionStore``, composed into ``Store``.
A mention is stored once per (network, native id): seen again, its counts are
refreshed and an edited text keeps its earlier versions in ``mention_versions``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from listener.errors import StorageError
from listener.model import Mention, Page, SaveResult
from listener.query import Node
from listener.records import utc_iso, utcnow
from storage.authors import author_key_sql
from storage.base import SQLiteBase, chunks, dumps
from storage.failures import guarded
from storage.rows import BucketChanges, Hit, SearchFilters, WindowMention
from storage.search import author_condition, search_newest

__all__ = ["BASE_BUCKET", "MentionMethods", "bucket_range"]

BASE_BUCKET = 300  # seconds: the granularity of watch_buckets
_WINDOW_COLUMNS = """
    SELECT m.network, m.author_handle, m.text, m.url, m.language,
      coalesce(m.like_count, 0) + coalesce(m.repost_count, 0) + coalesce(m.reply_count, 0)
        + coalesce(m.quote_count, 0),
      m.created_at, m.sentiment_label, m.id"""
_WINDOW_WHERE = """
    WHERE w.name = ? AND m.created_at >= ? AND m.created_at < ? AND (? = '' OR m.network = ?)
    ORDER BY m.created_at DESC, m.id DESC LIMIT ?"""
_WINDOW_BY_WATCH = (  # the watch's mentions, then sorted
    f"{_WINDOW_COLUMNS} FROM watches w CROSS JOIN mention_watches mw INDEXED BY mention_watches_watch "
    f"ON mw.watch_id = w.id CROSS JOIN mentions m ON m.id = mw.mention_id {_WINDOW_WHERE}"
)
_WINDOW_BY_TIME = (  # every mention newest first, kept if it is the watch's
    f"{_WINDOW_COLUMNS} FROM mentions m INDEXED BY mentions_day CROSS JOIN watches w "
    f"CROSS JOIN mention_watches mw ON mw.mention_id = m.id AND mw.watch_id = w.id {_WINDOW_WHERE}"
)
_METRICS = ("like_count", "repost_count", "reply_count", "quote_count", "view_count")
_COLUMNS = (
    "network", "native_id", "url", "author_id", "author_handle", "author_name", "text",
    "language", "created_at", "collected_at", "in_reply_to_id", "conversation_id",
    *_METRICS, "raw",
)  # fmt: skip
_INSERT = f"INSERT INTO mentions ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"


def bucket_range(start: datetime, end: datetime, bucket_seconds: int) -> tuple[int, int]:
    """The 5-minute buckets [first, end) that cover [start, end), for a size ``bucket_counts`` can sum."""
    if bucket_seconds % BASE_BUCKET:
        raise ValueError(f"bucket of {bucket_seconds}s: use a multiple of {BASE_BUCKET // 60} minutes")
    return int(start.timestamp()) // BASE_BUCKET, -(-int(end.timestamp()) // BASE_BUCKET)


def _row(m: Mention, collected_at: str) -> tuple[Any, ...]:
    return (
        m.network, m.native_id, m.url, m.author_id, m.author_handle, m.author_name, m.text,
        m.language, utc_iso(m.created_at), collected_at, m.in_reply_to_id, m.conversation_id,
        m.like_count, m.repost_count, m.reply_count, m.quote_count, m.view_count,
        dumps(dict(m.raw)),
    )  # fmt: skip


@guarded
class MentionMethods(SQLiteBase):
    """Reads and writes of ``mentions``, ``mention_versions``, ``mention_watches`` and ``rejects``."""

    # -- writes --------------------------------------------------------------

    def save_page(self, page: Page, now: datetime | None = None) -> SaveResult:
        """Store a page of mentions, its rejects, its watch matches and its cursor, atomically.

        A mention seen before is not stored twice: its engagement counts are
        refreshed, and if its text changed the old text goes to ``mention_versions``.
        """
        stamp = utc_iso(now or utcnow())
        unique = list({m.native_id: m for m in page.mentions}.values())
        with self._write() as conn:
            known = self._known(page.network, [m.native_id for m in unique])
            fresh = [m for m in unique if m.native_id not in known]
            conn.executemany(_INSERT, (_row(m, stamp) for m in fresh))
            edited = 0
            for m in unique:
                if m.native_id in known:
                    edited += self._refresh(known[m.native_id], m, stamp)
            conn.executemany(
                "INSERT INTO rejects (network, watch, native_id, reason, raw, received_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(r.network, page.watch, r.native_id, r.reason, dumps(r.raw), stamp) for r in page.rejects],
            )
            if page.matches:
                self._link_watches(page)
            if page.deleted:
                self._mark_deleted(page.network, page.deleted, stamp)
            if page.cursor is not None:
                conn.execute(
                    "INSERT INTO cursors (network, watch, value, updated_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (network, watch) DO UPDATE SET value = excluded.value, "
                    "updated_at = excluded.updated_at",
                    (page.network, page.watch, page.cursor, stamp),
                )
        return SaveResult(
            new=len(fresh),
            edited=edited,
            duplicates=len(page.mentions) - len(fresh) - edited,
            rejected=len(page.rejects),
        )

    def _known(self, network: str, native_ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
        found: dict[str, tuple[Any, ...]] = {}
        for chunk in chunks(native_ids):
            marks = ", ".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT native_id, id, text, raw, coalesce(updated_at, collected_at), "
                f"{', '.join(_METRICS)} FROM mentions WHERE network = ? AND native_id IN ({marks})",
                (network, *chunk),
            )
            found.update((row[0], row[1:]) for row in rows)
        return found

    def _refresh(self, old: tuple[Any, ...], m: Mention, stamp: str) -> int:
        """Update a known mention; return 1 if its text was edited."""
        mention_id, text, raw, seen_from, *metrics = old
        new_metrics = [getattr(m, name) for name in _METRICS]
        if m.text != text:
            self.conn.execute(
                "INSERT INTO mention_versions (mention_id, text, raw, seen_from, replaced_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (mention_id, text, raw, seen_from, stamp),
            )
            self.conn.execute(
                "UPDATE mentions SET text = ?, raw = ?, updated_at = ? WHERE id = ?",
                (m.text, dumps(dict(m.raw)), stamp, mention_id),
            )
        if new_metrics != metrics and any(v is not None for v in new_metrics):
            assignments = ", ".join(f"{name} = coalesce(?, {name})" for name in _METRICS)
            self.conn.execute(f"UPDATE mentions SET {assignments} WHERE id = ?", (*new_metrics, mention_id))
        return int(m.text != text)

    def _link_watches(self, page: Page) -> None:
        names = sorted({name for names in page.matches.values() for name in names})
        marks = ", ".join("?" * len(names))
        watch_ids = dict(self.conn.execute(f"SELECT name, id FROM watches WHERE name IN ({marks})", names))
        missing = set(names) - set(watch_ids)
        if missing:
            raise StorageError(f"unknown watch {sorted(missing)[0]!r}: add it to the config's [[watches]]")
        ids = {native_id: row[0] for native_id, row in self._known(page.network, list(page.matches)).items()}
        self.conn.executemany(
            "INSERT OR IGNORE INTO mention_watches (mention_id, watch_id) VALUES (?, ?)",
            [
                (ids[nid], watch_ids[name])
                for nid, names in page.matches.items()
                if nid in ids
                for name in names
            ],
        )

    def forget_author(self, network: str, author: str) -> int:
        """Delete everything an author posted on a network (a privacy request); how many mentions.

        ``author`` is a handle (any case, ``@`` optional) or an author id. A handle
        is compared as ``author:`` compares it (``handle_key``: without leading ``@``,
        Unicode lower case, on the stored side too), so this deletes exactly what
        ``listener search 'author:...'`` shows, ``@Mario`` and ``ÉLODIE`` included.
        Their mentions go with every earlier version and watch link; triggers take
        them out of the search index, the bucket counts, the authors table and the
        clusters. The only deletion listener ever makes, and only when asked.
        """
        author = author.strip()
        # An empty key (``""``, ``"@"``) would match every mention without a handle: never that.
        by_handle, params = author_condition(author) if author.lstrip("@") else ("0", [])
        with self._write() as conn:
            # Two indexed lookups (the handle's words, the author key), not one OR that scans.
            ids = [row[0] for row in conn.execute(
                f"SELECT m.id FROM mentions m WHERE +m.network = ? AND {by_handle} UNION "  # from the words
                f"SELECT m.id FROM mentions m WHERE m.network = ? AND {author_key_sql('m')} = ? AND m.author_id = ?",
                (network, *params, network, author, author),
            )]  # fmt: skip
            for chunk in chunks(ids):
                marks = ", ".join("?" * len(chunk))
                for table in ("mention_versions", "mention_watches"):
                    conn.execute(f"DELETE FROM {table} WHERE mention_id IN ({marks})", chunk)
                conn.execute(f"DELETE FROM mentions WHERE id IN ({marks})", chunk)
        return len(ids)

    def mark_deleted(self, network: str, native_ids: Sequence[str], now: datetime | None = None) -> int:
        """Mark mentions that disappeared upstream; they stay, as evidence."""
        with self._write():
            return self._mark_deleted(network, native_ids, utc_iso(now or utcnow()))

    def _mark_deleted(self, network: str, native_ids: Sequence[str], stamp: str) -> int:
        count = 0
        for chunk in chunks(native_ids):
            marks = ", ".join("?" * len(chunk))
            count += self.conn.execute(
                f"UPDATE mentions SET deleted_at = ? WHERE network = ? AND deleted_at IS NULL "
                f"AND native_id IN ({marks})",
                (stamp, network, *chunk),
            ).rowcount
        return count

    # -- sentiment -------------------------------------------------------------

    def unscored(self, limit: int = 500) -> list[tuple[int, str, str | None]]:
        """(id, text, language) of mentions whose sentiment is not scored yet, oldest first."""
        rows = self.conn.execute(
            "SELECT id, text, language FROM mentions WHERE sentiment_label IS NULL ORDER BY id LIMIT ?",
            (limit,),
        )
        return list(rows)

    def scoring_backlog(self) -> tuple[int, datetime | None]:
        """How many mentions wait for sentiment, and when the oldest of them was collected."""
        count, oldest = self.conn.execute(
            "SELECT count(*), min(collected_at) FROM mentions WHERE sentiment_label IS NULL"
        ).fetchone()
        return int(count), datetime.fromisoformat(oldest) if oldest else None

    def scored_by_other(
        self, version: str, after_id: int = 0, limit: int = 500
    ) -> list[tuple[int, str, str | None]]:
        """(id, text, language) of mentions scored by another model than ``version``, by id."""
        rows = self.conn.execute(
            "SELECT id, text, language FROM mentions WHERE id > ? AND sentiment_model IS NOT ? ORDER BY id LIMIT ?",
            (after_id, version, limit),
        )
        return list(rows)

    def count_scored_by_other(self, version: str) -> int:
        row = self.conn.execute(
            "SELECT count(*) FROM mentions WHERE sentiment_model IS NOT ?", (version,)
        ).fetchone()
        return int(row[0])

    def set_sentiment(self, scores: Sequence[tuple[int, str, float, str, str | None]]) -> None:
        """Store (id, label, score, model version, language) for scored mentions.

        A language the network gave is kept; a detected one only fills a gap.
        """
        with self._write() as conn:
            conn.executemany(
                "UPDATE mentions SET sentiment_label = ?, sentiment_score = ?, sentiment_model = ?, "
                "language = coalesce(language, ?) WHERE id = ?",
                [(label, score, model, lang, mention_id) for mention_id, label, score, model, lang in scores],
            )

    # -- reads -----------------------------------------------------------------

    def versions(self, network: str, native_id: str) -> list[str]:
        """Every text a mention has had, oldest first, the current one last."""
        rows = self.conn.execute(
            "SELECT v.text FROM mention_versions v JOIN mentions m ON m.id = v.mention_id "
            "WHERE m.network = ? AND m.native_id = ? ORDER BY v.id",
            (network, native_id),
        ).fetchall()
        current = self.conn.execute(
            "SELECT text FROM mentions WHERE network = ? AND native_id = ?", (network, native_id)
        ).fetchone()
        return [r[0] for r in rows] + ([current[0]] if current else [])

    def count_mentions(self) -> int:
        """All mentions, from the per-bucket counts the triggers keep: a count(*) reads the whole table."""
        return int(self.conn.execute("SELECT coalesce(sum(volume), 0) FROM mention_buckets").fetchone()[0])

    def search(self, query: Node | None, filters: SearchFilters, limit: int = 50) -> list[Hit]:
        """Mentions matching ``query`` and ``filters``, newest first; what the newest ``limit`` cost."""
        return search_newest(self.conn, query, filters, limit)

    def bucket_counts(
        self, watch: str, start: datetime, end: datetime, bucket_seconds: int, network: str = ""
    ) -> list[tuple[int, int, int, int]]:
        """(bucket start as epoch seconds, volume, negative, not yet scored) per non-empty bucket.

        Read from ``watch_buckets`` (5-minute counts kept by triggers), so
        ``bucket_seconds`` must be a multiple of 300. Buckets are aligned on multiples
        of ``bucket_seconds`` since the epoch.
        """
        first, end_bucket = bucket_range(start, end, bucket_seconds)
        rows = self.conn.execute(
            """
            SELECT (bucket * 300 / :size) * :size AS at, sum(volume), sum(negative), sum(unscored)
            FROM watch_buckets
            WHERE watch_id = (SELECT id FROM watches WHERE name = :watch)
              AND bucket >= :start AND bucket < :end AND (:network = '' OR network = :network)
            GROUP BY at HAVING sum(volume) > 0 ORDER BY at
            """,
            {"size": bucket_seconds, "watch": watch, "network": network,
             "start": first, "end": end_bucket},
        )  # fmt: skip
        return rows.fetchall()

    def bucket_changes(self, after: int) -> BucketChanges:
        """The watches whose buckets changed after change ``after`` (see ``bucket_changes`` in 017.sql)."""
        latest = self.conn.execute(
            "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'bucket_changes'), 0)"
        ).fetchone()[0]
        rows = self.conn.execute(
            "SELECT w.name, min(c.bucket) * 300 FROM bucket_changes c "
            "JOIN watches w ON w.id = c.watch_id WHERE c.seq > ? GROUP BY c.watch_id",
            (after,),
        ).fetchall()
        # Every change after ``after`` is still there if the next one is (removed watches included).
        next_kept = self.conn.execute(
            "SELECT min(seq) FROM bucket_changes WHERE seq > ?", (after,)
        ).fetchone()[0]
        complete = latest <= after or next_kept == after + 1
        return BucketChanges(int(latest), complete, {name: int(at) for name, at in rows})

    def forget_bucket_changes(self, upto: int) -> None:
        """Drop the changes up to ``upto``: the one reader has them."""
        with self._write() as conn:
            conn.execute("DELETE FROM bucket_changes WHERE seq <= ?", (upto,))

    def window(
        self, watch: str, start: datetime, end: datetime, network: str = "", limit: int = 5000
    ) -> list[WindowMention]:
        """Mentions of a watch created in [start, end), newest first (for explanations).

        Two plans give the same rows: walking the watch's own mentions (a quiet watch),
        or every mention of the range newest first until ``limit`` of the watch's turn
        up (a busy one). The one that reads fewer rows is chosen from the kept counts.
        """
        own, every, ever = self.conn.execute(
            "SELECT (SELECT coalesce(sum(h.volume), 0) FROM watch_hours h WHERE h.watch_id = w.id "
            "AND h.hour BETWEEN ? AND ?), (SELECT coalesce(sum(volume), 0) FROM mention_buckets "
            "WHERE bucket BETWEEN ? AND ?), (SELECT coalesce(sum(t.mentions), 0) FROM watch_totals t "
            "WHERE t.watch_id = w.id) FROM watches w WHERE w.name = ?",
            (int(start.timestamp()) // 3600, int(end.timestamp()) // 3600,
             int(start.timestamp()) // 300, int(end.timestamp()) // 300, watch),
        ).fetchone() or (0, 0, 0)  # fmt: skip
        # Rows each plan reads: the watch's mentions of all time; or the range's, until limit are its.
        by_time = every if own <= limit else limit * every / own
        walk = _WINDOW_BY_WATCH if ever <= by_time else _WINDOW_BY_TIME
        rows = self.conn.execute(walk, (watch, utc_iso(start), utc_iso(end), network, network, limit))
        return [WindowMention(*row) for row in rows]

    def mention_times(self, network: str, watch: str, limit: int = 200) -> list[datetime]:
        """Creation times of a source's latest mentions, newest first (a range of ``watch_times``,
        which keeps the newest 256 per source: ``limit`` may not be more)."""
        rows = self.conn.execute(
            "SELECT at FROM watch_times WHERE watch_id = (SELECT id FROM watches WHERE name = ?) AND network = ? "
            "ORDER BY at DESC LIMIT ?",
            (watch, network, limit),
        )
        return [datetime.fromtimestamp(row[0], UTC) for row in rows]

    def newest_mentions(self, sources: Sequence[tuple[str, str]]) -> dict[tuple[str, str], datetime]:
        """The creation time of each source's latest mention, for the sources that have one: one read."""
        rows = self.conn.execute(
            "SELECT s.value ->> 0, s.value ->> 1, (SELECT max(t.at) FROM watch_times t WHERE t.watch_id = w.id "
            "AND t.network = s.value ->> 0) FROM json_each(?) s CROSS JOIN watches w ON w.name = s.value ->> 1",
            (dumps(sources),),
        )
        return {(net, watch): datetime.fromtimestamp(at, UTC) for net, watch, at in rows if at is not None}
