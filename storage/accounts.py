"""The reads behind the own-account guard: an account's own posts, and the replies they drew.

An account is a (network, key) pair where ``key`` is the lowercased handle or
the author id, as ``Config.own_accounts`` gives them. Both reads go through
indexes (migration 10 and ``mentions_reply``), so the guard's cost grows with
the account's own posting, not with the size of the mentions table.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from listener.records import utc_iso
from storage.failures import guarded
from storage.rows import OwnPost

__all__ = ["AccountQueries", "OwnPost"]


@guarded
class AccountQueries:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def posts(self, network: str, key: str, since: datetime, until: datetime) -> list[OwnPost]:
        """The account's posts created in [since, until), oldest first."""
        rows = self.conn.execute(
            "SELECT network, native_id, created_at, text, language, author_handle, author_name, url, raw "
            "FROM mentions WHERE network = ? AND lower(author_handle) = ? AND created_at >= ? "
            "AND created_at < ? UNION "
            "SELECT network, native_id, created_at, text, language, author_handle, author_name, url, raw "
            "FROM mentions WHERE network = ? AND author_id = ? AND created_at >= ? AND created_at < ? "
            "ORDER BY created_at, native_id",
            (network, key.lower(), utc_iso(since), utc_iso(until)) * 2,
        )
        return [
            OwnPost(n, i, datetime.fromisoformat(c), t, lang, h, name, url, json.loads(raw))
            for n, i, c, t, lang, h, name, url, raw in rows
        ]

    def replies(self, network: str, native_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        """For each post: (replies collected, of which negative); one indexed query for them all."""
        rows = self.conn.execute(
            "SELECT in_reply_to_id, count(*), count(*) FILTER (WHERE sentiment_label = 'negative') "
            "FROM mentions WHERE network = ? AND in_reply_to_id IN (SELECT value FROM json_each(?)) "
            "GROUP BY in_reply_to_id",
            (network, json.dumps(list(native_ids))),
        )
        found = {native_id: (int(total), int(negative)) for native_id, total, negative in rows}
        return {native_id: found.get(native_id, (0, 0)) for native_id in native_ids}
