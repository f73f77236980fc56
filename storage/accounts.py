"""The reads behind the own-account guard: an account's own posts, and the replies they drew.

An account is a (network, key) pair where ``key`` is the lowercased handle or
the author id, as ``Config.own_accounts`` gives them. A post is the account's when
its lowercased handle is the key or its author id is. No index is kept for this
(migration 16 dropped the two of migration 10, ~115 bytes a mention): an author id
is the author key ``mentions_author_key`` orders by, and a handle is found through
the handle column of the full-text index, read only from the first block of mention
ids that can hold a post of the range (``search_blocks``). Replies go through
``mentions_reply``. So the guard's cost grows with the account's own posting (and
the recent mentions whose handle shares its words), not with the mentions table.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from listener.records import utc_iso
from storage.authors import author_key_sql
from storage.failures import guarded
from storage.rows import OwnPost
from storage.search import BLOCK_BITS, handle_fts

__all__ = [
    "AccountQueries",
    "OwnPost",
    "not_own_sql",
    "own_key_list",
    "own_key_sql",
    "own_keys",
    "own_post_ids",
]

FOREVER = "9999"  # sorts after every created_at: a range with no end

_BY_ID = (
    f"SELECT m.id FROM mentions m INDEXED BY mentions_author_key WHERE m.network = :network "
    f"AND {author_key_sql('m')} = :key AND m.created_at >= :since AND m.created_at < :until "
    "AND m.author_id = :key"
)
# The handle's words in the index narrow the rows (equal lowercased handles have equal
# words); the unary + keeps the planner on them rather than on a time or network index.
_BY_HANDLE = (
    "SELECT m.id FROM mentions m WHERE m.id IN (SELECT rowid FROM mentions_fts WHERE mentions_fts MATCH :match "
    "AND rowid >= :floor) AND +m.network = :network AND lower(m.author_handle) = :handle "
    "AND +m.created_at >= :since AND +m.created_at < :until"
)
# A handle of only punctuation has no words: the range's mentions, through mentions_day.
_BY_HANDLE_SCAN = (
    "SELECT m.id FROM mentions m WHERE m.created_at >= :since AND m.created_at < :until "
    "AND m.network = :network AND lower(m.author_handle) = :handle"
)


def own_key_list(own: Sequence[tuple[str, str]]) -> list[str]:
    """The (network, name) pairs as ``network<US>lowercased name`` keys, for every backend."""
    return sorted({f"{network}\x1f{name.lower()}" for network, name in own})


def own_keys(own: Sequence[tuple[str, str]]) -> str:
    """``:own`` for ``own_key_sql``: ``own_key_list`` as JSON."""
    return json.dumps(own_key_list(own))


def own_key_sql(alias: str) -> str:
    """SQL true (1, never NULL) when the mention ``alias`` was posted by one of our own accounts.

    ``:own`` holds ``own_keys``: ``IN`` builds their index once per statement, where a
    correlated ``json_each`` would be walked for every row.
    """
    return (
        f"(ifnull({alias}.network || char(31) || lower({alias}.author_handle) IN (SELECT value FROM json_each(:own)), 0) "
        f"OR ifnull({alias}.network || char(31) || {alias}.author_id IN (SELECT value FROM json_each(:own)), 0))"
    )


def not_own_sql(own: Sequence[tuple[str, str]], alias: str = "m") -> str:
    """``AND NOT`` own for mention ``alias``; nothing to check without own accounts."""
    return f"AND NOT {own_key_sql(alias)}" if own else ""


def _floor(conn: sqlite3.Connection, since: str) -> int | None:
    """The first mention id that can have been created at ``since`` or later (None: none can)."""
    (block,) = conn.execute("SELECT min(block) FROM search_blocks WHERE latest >= ?", (since,)).fetchone()
    return None if block is None else int(block) << BLOCK_BITS


def own_post_ids(
    conn: sqlite3.Connection, accounts: Sequence[tuple[str, str]], since: str, until: str = FOREVER
) -> list[int]:
    """Ids of the mentions created in [since, until) by the (network, key) ``accounts``:
    lower(author_handle) = lower(key) or author_id = key; in id order."""
    found: set[int] = set()
    floor = _floor(conn, since)
    if floor is None or not accounts:
        return []
    for network, key in accounts:
        params = {"network": network, "key": key, "handle": key.lower(), "since": since, "until": until,
                  "match": handle_fts(key.lower()), "floor": floor}  # fmt: skip
        found.update(row[0] for row in conn.execute(_BY_ID, params))
        by_handle = _BY_HANDLE if params["match"] is not None else _BY_HANDLE_SCAN
        found.update(row[0] for row in conn.execute(by_handle, params))
    return sorted(found)


@guarded
class AccountQueries:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def posts(self, network: str, key: str, since: datetime, until: datetime) -> list[OwnPost]:
        """The account's posts created in [since, until), oldest first."""
        ids = own_post_ids(self.conn, [(network, key)], utc_iso(since), utc_iso(until))
        rows = self.conn.execute(
            "SELECT m.network, m.native_id, m.created_at, m.text, m.language, m.author_handle, m.author_name, "
            "m.url, m.raw FROM json_each(?) i JOIN mentions m ON m.id = i.value "
            "ORDER BY m.created_at, m.native_id",
            (json.dumps(ids),),
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
