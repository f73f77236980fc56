"""Mentions on PostgreSQL: storing pages (dedupe, edits, deletions, cursors), counting, versions, forget.

The PostgreSQL side of the part of ``storage.interfaces.MentionStore`` the contract tests
cover (tests/test_storage_contract.py); the design is docs/postgres-design.md.
Written for several daemons at once: a mention two of them fetch together is inserted by one
(``ON CONFLICT DO NOTHING``) and refreshed by the other under a row lock, never stored twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from listener.errors import StorageError
from listener.model import Mention, Page, SaveResult
from listener.records import utc_iso, utcnow
from listener.tokens import handle_key
from storage.base import dumps
from storage.pg.authors import lock_mentions
from storage.pg.connection import PgConnection
from storage.pg.search import search_columns, url_host

__all__ = ["PgMentions", "author_handle_key"]

_METRICS = ("like_count", "repost_count", "reply_count", "quote_count", "view_count")
_COLUMNS = (
    "network", "native_id", "url", "author_id", "author_handle", "author_handle_key", "author_name",
    "text", "language", "created_at", "collected_at", "in_reply_to_id", "conversation_id",
    *_METRICS, "search_vector", "search_words", "url_host", "raw",
)  # fmt: skip
_VALUES = f"({', '.join(['%s'] * len(_COLUMNS))}, %s::jsonb)"  # the id, then _COLUMNS
_INSERT = (
    f"INSERT INTO mentions (id, {', '.join(_COLUMNS)}) VALUES {{values}} "
    "ON CONFLICT (network, native_id) DO NOTHING RETURNING native_id"
)
# Rows per INSERT: a page is one statement (its authors' counts are then locked in key order by
# one trigger run, schema 002) up to PostgreSQL's 65,535 parameters.
_PER_INSERT = 65_535 // (len(_COLUMNS) + 1)
# Ids taken from the identity's sequence before the insert, handed out in page order: the rows go
# in in key order (for the locks), but a page's mentions are numbered as SQLite numbers them, in
# the order the network gave them, which breaks ties of time in every id-ordered read alike.
_RESERVE = "SELECT nextval(pg_get_serial_sequence('mentions', 'id')) FROM generate_series(1, %s)"
_KNOWN = (
    f"SELECT native_id, id, text, author_handle, {', '.join(_METRICS)} FROM mentions "
    "WHERE network = %s AND native_id = ANY(%s) ORDER BY id FOR UPDATE"
)
_AUTHOR_KEY = "coalesce(nullif(author_id, ''), nullif(author_handle, ''))"


def author_handle_key(handle: str | None) -> str | None:
    """``mentions.author_handle_key``, written by the application (``listener migrate`` calls it too)."""
    return handle_key(handle) if handle is not None else None


def _row(m: Mention, collected_at: str) -> tuple[Any, ...]:
    return (
        m.network, m.native_id, m.url, m.author_id, m.author_handle,
        author_handle_key(m.author_handle), m.author_name, m.text,
        m.language, utc_iso(m.created_at), collected_at, m.in_reply_to_id, m.conversation_id,
        m.like_count, m.repost_count, m.reply_count, m.quote_count, m.view_count,
        *search_columns(m.text, m.author_handle), url_host(m.url), dumps(dict(m.raw)),
    )  # fmt: skip


class PgMentions:
    """Reads and writes of ``mentions``, ``mention_versions``, ``mention_watches``, ``rejects`` and ``cursors``."""

    def __init__(self, conn: PgConnection) -> None:
        self.conn = conn

    # -- writes --------------------------------------------------------------

    def save_page(self, page: Page, now: datetime | None = None) -> SaveResult:
        """Store a page of mentions, its rejects, its watch matches and its cursor in one transaction.

        New mentions are inserted first; the others (known before, or inserted by another daemon
        meanwhile) are then locked and refreshed: counts updated, an edited text's old one kept.
        """
        stamp = utc_iso(now or utcnow())
        # Sorted: two writers of overlapping pages then insert and lock in the same order (no deadlock).
        unique = sorted({m.native_id: m for m in page.mentions}.values(), key=lambda m: m.native_id)
        with self.conn.transaction(), self.conn.cursor() as cur:
            fresh = set(self._insert(unique, self._numbers(page), stamp))
            seen = [m for m in unique if m.native_id not in fresh]
            edited = self._refresh(page.network, seen, stamp)
            cur.executemany(
                "INSERT INTO rejects (network, watch, native_id, reason, raw, received_at) "
                "VALUES (%s, %s, %s, %s, %s::jsonb, %s)",
                [(r.network, page.watch, r.native_id, r.reason, dumps(r.raw), stamp) for r in page.rejects],
            )
            if page.matches:
                self._link_watches(page)
            if page.deleted:
                self._mark_deleted(page.network, page.deleted, stamp)
            if page.cursor is not None:
                cur.execute(
                    "INSERT INTO cursors (network, watch, value, updated_at) VALUES (%s, %s, %s, %s) "
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

    def _numbers(self, page: Page) -> dict[str, int]:
        """An id for each native id of the page, ascending in page order (unused ones are skipped)."""
        order = list(dict.fromkeys(m.native_id for m in page.mentions))
        if not order:
            return {}
        ids = sorted(int(row[0]) for row in self.conn.execute(_RESERVE, (len(order),)))
        return dict(zip(order, ids, strict=True))

    def _insert(self, mentions: Sequence[Mention], numbers: dict[str, int], stamp: str) -> Iterator[str]:
        """The native ids of ``mentions`` that were new (the others conflict and are skipped)."""
        for start in range(0, len(mentions), _PER_INSERT):
            chunk = mentions[start : start + _PER_INSERT]
            params = [value for m in chunk for value in (numbers[m.native_id], *_row(m, stamp))]
            query = _INSERT.format(values=", ".join([_VALUES] * len(chunk)))
            for row in self.conn.execute(query.encode(), params).fetchall():
                yield str(row[0])

    def _refresh(self, network: str, mentions: Sequence[Mention], stamp: str) -> int:
        """Update known mentions (locked, in id order, so two daemons cannot deadlock); how many were edited."""
        if not mentions:
            return 0
        by_id = {m.native_id: m for m in mentions}
        edited = 0
        for native_id, mention_id, text, handle, *metrics in self.conn.execute(
            _KNOWN, (network, list(by_id))
        ).fetchall():
            m = by_id[str(native_id)]
            if m.text != text:
                edited += 1
                self.conn.execute(
                    "INSERT INTO mention_versions (mention_id, text, raw, seen_from, replaced_at) "
                    "SELECT id, text, raw, coalesce(updated_at, collected_at), %s FROM mentions WHERE id = %s",
                    (stamp, mention_id),
                )
                self.conn.execute(
                    "UPDATE mentions SET text = %s, search_vector = %s, search_words = %s, raw = %s::jsonb, "
                    "updated_at = %s WHERE id = %s",  # the handle stays, as SQLite's re-index keeps it
                    (m.text, *search_columns(m.text, handle), dumps(dict(m.raw)), stamp, mention_id),
                )
            new_metrics = [getattr(m, name) for name in _METRICS]
            if new_metrics != metrics and any(v is not None for v in new_metrics):
                assignments = ", ".join(f"{name} = coalesce(%s, {name})" for name in _METRICS)
                self.conn.execute(
                    f"UPDATE mentions SET {assignments} WHERE id = %s", (*new_metrics, mention_id)
                )
        return edited

    def _link_watches(self, page: Page) -> None:
        names = sorted({name for names in page.matches.values() for name in names})
        watch_ids: dict[str, int] = dict(
            self.conn.execute("SELECT name, id FROM watches WHERE name = ANY(%s)", (names,)).fetchall()
        )
        missing = set(names) - set(watch_ids)
        if missing:
            raise StorageError(f"unknown watch {sorted(missing)[0]!r}: add it to the config's [[watches]]")
        ids: dict[str, int] = dict(
            self.conn.execute(
                "SELECT native_id, id FROM mentions WHERE network = %s AND native_id = ANY(%s)",
                (page.network, list(page.matches)),
            ).fetchall()
        )
        links = sorted(  # in key order, like the mentions (no deadlock between writers)
            {
                (ids[nid], watch_ids[name])
                for nid, names in page.matches.items()
                if nid in ids
                for name in names
            }
        )
        # One statement: the watch buckets it counts are then locked in key order (schema 002).
        self.conn.execute(
            "INSERT INTO mention_watches (mention_id, watch_id) "
            "SELECT * FROM unnest(%s::bigint[], %s::bigint[]) ORDER BY 1, 2 ON CONFLICT DO NOTHING",
            ([m for m, _ in links], [w for _, w in links]),
        )

    def mark_deleted(self, network: str, native_ids: Sequence[str], now: datetime | None = None) -> int:
        """Mark mentions that disappeared upstream; they stay, as evidence."""
        with self.conn.transaction():
            return self._mark_deleted(network, native_ids, utc_iso(now or utcnow()))

    def _mark_deleted(self, network: str, native_ids: Sequence[str], stamp: str) -> int:
        cur = self.conn.execute(
            "UPDATE mentions SET deleted_at = %s WHERE network = %s AND deleted_at IS NULL AND native_id = ANY(%s)",
            (stamp, network, list(native_ids)),
        )
        return cur.rowcount

    def forget_author(self, network: str, author: str) -> int:
        """Delete everything an author posted on a network (a privacy request); how many mentions.

        ``author`` is a handle (any case, ``@`` optional), compared as ``author:`` compares it
        (``handle_key``, kept in ``author_handle_key``), or an author id. Versions and watch
        links go with the mentions (``ON DELETE CASCADE``).
        """
        author = author.strip()
        key = handle_key(author) if author.lstrip("@") else None  # never "every handle-less mention"
        with self.conn.transaction():
            found = self.conn.execute(
                "SELECT id FROM mentions WHERE network = %s AND author_handle_key = %s UNION "
                f"SELECT id FROM mentions WHERE network = %s AND {_AUTHOR_KEY} = %s AND author_id = %s",
                (network, key, network, author, author),
            )
            ids = lock_mentions(self.conn, [int(row[0]) for row in found])
            # The watch links first, in one statement: their bucket counts are taken back while
            # the mentions still say where they counted (schema 002 would do it mention by mention).
            self.conn.execute("DELETE FROM mention_watches WHERE mention_id = ANY(%s)", (ids,))
            return self.conn.execute("DELETE FROM mentions WHERE id = ANY(%s)", (ids,)).rowcount

    def sync_watches(self, watches: Sequence[tuple[str, str]], now: datetime | None = None) -> None:
        """Make the ``watches`` table hold these (name, query) pairs; old ones stay for history."""
        stamp = utc_iso(now or utcnow())
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO watches (name, query, created_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (name) DO UPDATE SET query = excluded.query",
                [(name, query, stamp) for name, query in watches],
            )

    # -- reads -----------------------------------------------------------------

    def get_cursor(self, network: str, watch: str) -> str | None:
        row = self.conn.execute(
            "SELECT value FROM cursors WHERE network = %s AND watch = %s", (network, watch)
        ).fetchone()
        return str(row[0]) if row else None

    def versions(self, network: str, native_id: str) -> list[str]:
        """Every text a mention has had, oldest first, the current one last."""
        rows = self.conn.execute(
            "SELECT v.text FROM mention_versions v JOIN mentions m ON m.id = v.mention_id "
            "WHERE m.network = %s AND m.native_id = %s ORDER BY v.id",
            (network, native_id),
        ).fetchall()
        current = self.conn.execute(
            "SELECT text FROM mentions WHERE network = %s AND native_id = %s", (network, native_id)
        ).fetchone()
        return [str(r[0]) for r in rows] + ([str(current[0])] if current else [])

    def count_mentions(self) -> int:
        """All mentions. A plain count(*) for now: a kept count (like SQLite's mention_buckets) is to come."""
        row = self.conn.execute("SELECT count(*) FROM mentions").fetchone()
        return int(row[0]) if row else 0
