"""The digest's negative authors: who wrote at least N negative mentions in a day (#20).

A day's negatives are grouped by (network, handle) inside the partial ``mentions_negative_day``
(migration 20) with a bare count: the one cost that grows with the day's mentions is the
sort of its negative rows. Checking every row for our own accounts and keying every row by
its time and id for the latest one cost as much again, so neither happens per row:

- our own accounts are subtracted afterwards, from the groups our own negative posts of
  the day fall in (``own_post_ids``: few). Such a group is counted again without them (an
  own post by author id may carry another handle, and share its group with others); the
  top list is read ``limit`` + that many groups deep, enough for the others to fill it;
- the link of each author shown is looked up among its own rows of the day, by index.

A range off the quarter hours checks its negative mentions one by one, through ``mentions_day``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from listener.records import utc_iso
from storage.accounts import not_own_sql, own_key_sql, own_keys, own_post_ids
from storage.day_parts import LATEST, MAX_ID, block_sql, day_blocks
from storage.rows import NegativeAuthor

__all__ = ["negative_authors"]

Group = tuple[str, str]  # (network, author_handle), the handle as written

# The day's negatives of ``m`` (``:blocks``), read in mentions_negative_day.
_DAY = f"{block_sql('m')} IN (SELECT value FROM json_each(:blocks)) AND m.sentiment_label = 'negative'"
_BY_DAY = "INDEXED BY mentions_negative_day"
# The shown groups, in order, for a correlated lookup each.
_SHOWN = """shown (i, network, handle) AS MATERIALIZED (
    SELECT key, json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:shown))"""


def negative_authors(
    conn: sqlite3.Connection,
    start: datetime,
    end: datetime,
    own: Sequence[tuple[str, str]],
    at_least: int,
    limit: int,
) -> list[NegativeAuthor]:
    """Authors with ``at_least`` negative mentions in [start, end) by others than ``own``, most
    first (then by network and handle), with the link of their latest one (the first by id of
    equally late ones)."""
    blocks = day_blocks(start, end)
    if blocks is None:
        return _in_range(conn, start, end, own, at_least, limit)
    params = {"blocks": json.dumps(blocks), "own": own_keys(own), "at_least": at_least}
    mixed = _mixed_groups(conn, start, end, own, params)
    others = [(g, n) for g, n in _top_counts(conn, params, limit + len(mixed)) if g not in mixed]
    kept = [(g, n) for g, n in mixed.items() if n >= max(at_least, 1)]  # a group of our posts only is none
    ranked = sorted([*others, *kept], key=lambda row: (-row[1], row[0]))[:limit]
    links = _latest_links(conn, [g for g, _ in ranked], own, params)
    return [
        NegativeAuthor(net, handle, n, url) for ((net, handle), n), url in zip(ranked, links, strict=True)
    ]


def _mixed_groups(
    conn: sqlite3.Connection,
    start: datetime,
    end: datetime,
    own: Sequence[tuple[str, str]],
    params: dict[str, Any],
) -> dict[Group, int]:
    """The groups holding one of our own negatives of the day, each with its count without ours.

    Found from our own posts of the day, then counted again row by row: a group's own rows
    are not all by its handle (an own author id under another handle), nor all of them ours.
    """
    if not own:
        return {}
    ids = own_post_ids(conn, [(network, key.lower()) for network, key in own], utc_iso(start), utc_iso(end))
    if not ids:
        return {}
    rows = conn.execute(
        f"""
        WITH mixed AS MATERIALIZED (
          SELECT DISTINCT m.network, m.author_handle FROM mentions m
          WHERE m.id IN (SELECT value FROM json_each(:ids)) AND {_DAY} AND m.author_handle IS NOT NULL)
        SELECT g.network, g.author_handle,
          (SELECT count(*) FROM mentions m {_BY_DAY} WHERE {_DAY} AND m.network = g.network
             AND m.author_handle = g.author_handle AND NOT {own_key_sql("m")})
        FROM mixed g
        """,
        {**params, "ids": json.dumps(ids)},
    )
    return {(network, handle): int(n) for network, handle, n in rows}


def _top_counts(conn: sqlite3.Connection, params: dict[str, Any], depth: int) -> list[tuple[Group, int]]:
    """The ``depth`` first groups of the day by their count of negatives, ours included.

    A bare count per group: the sort of the day's negative rows is the whole cost.
    """
    rows = conn.execute(
        f"""
        SELECT m.network, m.author_handle, count(*) AS n FROM mentions m {_BY_DAY}
        WHERE {_DAY} AND m.author_handle IS NOT NULL
        GROUP BY m.network, m.author_handle HAVING n >= :at_least
        ORDER BY n DESC, m.network, m.author_handle LIMIT :depth
        """,
        {**params, "depth": depth},
    )
    return [((network, handle), int(n)) for network, handle, n in rows]


def _latest_links(
    conn: sqlite3.Connection, shown: Sequence[Group], own: Sequence[tuple[str, str]], params: dict[str, Any]
) -> list[str | None]:
    """The link of each shown group's latest negative of the day not ours, the lowest id among
    equally late ones: a walk of the group's rows of the day in ``mentions_negative_day``."""
    if not shown:
        return []
    rows = conn.execute(
        f"""
        WITH {_SHOWN}
        SELECT (SELECT u.url FROM mentions u WHERE u.id = (
          SELECT m.id FROM mentions m {_BY_DAY} WHERE {_DAY} AND m.network = s.network
            AND m.author_handle = s.handle {not_own_sql(own)} ORDER BY m.created_at DESC, m.id LIMIT 1))
        FROM shown s ORDER BY s.i
        """,
        {**params, "shown": json.dumps([list(g) for g in shown])},
    )
    return [url for (url,) in rows]


def _in_range(
    conn: sqlite3.Connection,
    start: datetime,
    end: datetime,
    own: Sequence[tuple[str, str]],
    at_least: int,
    limit: int,
) -> list[NegativeAuthor]:
    """``negative_authors`` of a range off the quarter hours: its negatives through ``mentions_day``,
    each checked. The latest is chosen explicitly (``LATEST``): SQLite's bare column beside
    max() takes any of the equally late rows, whichever its grouping sort meets first."""
    rows = conn.execute(
        f"""
        SELECT g.network, g.author_handle, g.n, m.url FROM (
          SELECT m.network, m.author_handle, count(*) AS n, max({LATEST}) AS latest FROM mentions m
          WHERE m.sentiment_label = 'negative' AND m.created_at >= :start AND m.created_at < :end
            AND m.author_handle IS NOT NULL {not_own_sql(own)}
          GROUP BY m.network, m.author_handle HAVING n >= :at_least
          ORDER BY n DESC, m.network, m.author_handle LIMIT :limit) g
        JOIN mentions m ON m.id = {MAX_ID} - CAST(substr(g.latest, -20) AS INTEGER)
        ORDER BY g.n DESC, g.network, g.author_handle
        """,
        {
            "start": utc_iso(start),
            "end": utc_iso(end),
            "own": own_keys(own),
            "at_least": at_least,
            "limit": limit,
        },
    )
    return [NegativeAuthor(net, handle, n, url) for net, handle, n, url in rows]
