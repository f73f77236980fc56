"""The own-account guard's reads on PostgreSQL: an account's own posts, and the replies they drew.

As on SQLite (storage/accounts.py), a post is the account's when its author id is the key or
its handle, lower-cased as SQLite's ``lower()`` does (ASCII only: PostgreSQL's ``lower`` under
the ``C`` collation), is. The handle is found through ``mentions_handle_key``: an equal
lower-cased handle has an equal ``handle_key``, so that index narrows the rows before the exact
comparison. Author ids go through ``mentions_author_key``, replies through ``mentions_reply``:
the guard's cost grows with the account's own posting, not with the mentions table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from listener.records import utc_iso
from listener.tokens import handle_key
from storage.pg.connection import PgConnection
from storage.rows import OwnPost

__all__ = ["PgAccounts", "own_post_ids"]

# The ids of an account's posts created in [since, until) (``_params`` gives the parameters).
_IDS = """
  SELECT id FROM mentions WHERE network = %(network)s
    AND coalesce(nullif(author_id, ''), nullif(author_handle, '')) = %(key)s AND author_id = %(key)s
    AND created_at >= %(since)s AND created_at < %(until)s
  UNION
  SELECT id FROM mentions WHERE network = %(network)s AND author_handle_key = %(handle_key)s
    AND lower(author_handle COLLATE "C") = %(handle)s AND created_at >= %(since)s AND created_at < %(until)s"""
_POSTS = f"""
SELECT network, native_id, created_at, text, language, author_handle, author_name, url, raw FROM mentions
WHERE id IN ({_IDS})
ORDER BY created_at, native_id COLLATE "C"
"""


def _params(network: str, key: str, since: str, until: str) -> dict[str, str]:
    handle = key.lower()
    return {"network": network, "key": key, "handle": handle, "handle_key": handle_key(handle),
            "since": since, "until": until}  # fmt: skip


def own_post_ids(
    conn: PgConnection, accounts: Sequence[tuple[str, str]], since: datetime, until: str = "infinity"
) -> list[int]:
    """Ids of the mentions created in [since, until) by the (network, key) ``accounts``, in id order
    (``storage.accounts.own_post_ids``: the stories' answered check starts from them)."""
    found: set[int] = set()
    for network, key in accounts:
        found.update(int(row[0]) for row in conn.execute(_IDS, _params(network, key, utc_iso(since), until)))
    return sorted(found)


class PgAccounts:
    def __init__(self, conn: PgConnection) -> None:
        self.conn = conn

    def posts(self, network: str, key: str, since: datetime, until: datetime) -> list[OwnPost]:
        """The account's posts created in [since, until), oldest first."""
        rows = self.conn.execute(_POSTS, _params(network, key, utc_iso(since), utc_iso(until))).fetchall()
        return [
            OwnPost(n, i, created.astimezone(UTC), t, lang, h, name, url, raw)
            for n, i, created, t, lang, h, name, url, raw in rows
        ]

    def replies(self, network: str, native_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        """For each post: (replies collected, of which negative); one indexed query for them all."""
        rows = self.conn.execute(
            "SELECT in_reply_to_id, count(*), count(*) FILTER (WHERE sentiment_label = 'negative') "
            "FROM mentions WHERE network = %s AND in_reply_to_id = ANY(%s) GROUP BY in_reply_to_id",
            (network, list(native_ids)),
        ).fetchall()
        found = {str(native_id): (int(total), int(negative)) for native_id, total, negative in rows}
        return {native_id: found.get(native_id, (0, 0)) for native_id in native_ids}
