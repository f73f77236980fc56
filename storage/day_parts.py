"""A range's mentions in parts, for the stories' candidates (migration 20, ``mentions_engaged``).

A part is one 15-minute block of creation time and one side of "negative or not". Every
local day is a whole number of blocks (time zone offsets are whole quarter hours), and the
exact top N of a day by engagement is the top N of its parts' top Ns: so ``storage.stories``
reads at most 192 x N entries of the index for a day, however many mentions the day holds.
The expressions here are the index's keys, written as migration 20 writes them: the planner
uses the index only for the very same expressions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

__all__ = ["BLOCK", "MAX_ID", "ORDER", "PARTS", "block_sql", "engagement_sql", "negative_sql", "parts_json"]

BLOCK = 900  # seconds: the time block of mentions_engaged (migration 20)


def engagement_sql(alias: str) -> str:
    """A mention's engagement; with ``block_sql`` and ``negative_sql``, the key of ``mentions_engaged``."""
    return (
        f"coalesce({alias}.like_count, 0) + coalesce({alias}.repost_count, 0) "
        f"+ coalesce({alias}.reply_count, 0) + coalesce({alias}.quote_count, 0)"
    )


def block_sql(alias: str) -> str:
    """The 15-minute block of a mention's creation: the first key of ``mentions_engaged``."""
    return f"CAST(strftime('%s', {alias}.created_at) AS INTEGER) / {BLOCK}"


def negative_sql(alias: str) -> str:
    """1 for a negative mention, else 0 (never NULL): the second key of ``mentions_engaged``."""
    return f"{alias}.sentiment_label IS 'negative'"


# The (block, negative) parts of a range, each walked in mentions_engaged from its most engaged
# mention until N of them pass the part's filter: a day's exact top N is the top N of the
# parts' top Ns, so a day reads at most parts x N entries (and the ties of each part's last),
# however many mentions it holds.
PARTS = """parts (block, negative) AS MATERIALIZED (
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:parts))"""
ORDER = "DESC, {a}.created_at DESC, {a}.id DESC"  # after the engagement: the walks' order
MAX_ID = 9223372036854775807  # the largest rowid


def parts_json(blocks: Sequence[int], negative: Sequence[int] = (0, 1)) -> str:
    """``:parts`` for ``PARTS``: every (block, negative) pair."""
    return json.dumps([[block, flag] for block in blocks for flag in negative])
