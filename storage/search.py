"""Compile a query tree and search filters to a SQL WHERE clause.

Text-only parts of the tree become one FTS5 MATCH each; fields and bare
negations become plain column conditions, so every query the parser accepts
can be searched, with the same meaning as the local matcher. The index holds
``listener.query.words`` of each text (migration 11) and the terms are compiled
with the same ``tokens``, so both sides split text the same way in every script.
Conditions never yield NULL: ``NOT`` of a NULL would drop the row, where the
matcher keeps it. ``search_collapsed`` shows one row per near-duplicate cluster
(``mention_clusters``, migration 9).

``search_newest`` reads the newest ``limit`` hits without sorting every match
(migration 13). A query with a full-text part lets the index find its hits:
newest id first until ``limit`` are kept, then block by block (4096 mention ids,
whose latest ``created_at`` ``search_blocks`` keeps), the block with the newest
mention first, until no block left can hold a hit newer than the ``limit``-th
found; so ``--since`` skips older blocks outright, and what a search reads does
not grow with the term's history (#20). A query without one walks
``mentions_day`` newest first and checks each mention. Both give exactly
``ORDER BY created_at DESC, id DESC``.
"""

from __future__ import annotations

import heapq
import json
import sqlite3
from typing import Any

from listener.errors import QueryError
from listener.query import And, Field, Node, Not, Or, handle_key, is_fts, to_fts, tokens, undecodable, words
from listener.records import utc_iso
from storage.rows import ClusterHit, Hit, SearchFilters

__all__ = [
    "BLOCK_BITS",
    "HIT_COLUMNS",
    "ClusterHit",
    "SearchFilters",
    "author_condition",
    "check_filters",
    "compile_search",
    "handle_fts",
    "register_functions",
    "search_collapsed",
    "search_newest",
]

BLOCK_BITS = 12  # search_blocks holds the latest created_at of each 2**12 mention ids (migration 13)
ALL_HITS = 500  # a limit above this reads every match and sorts it
_FTS_SET = "m.id IN (SELECT rowid FROM mentions_fts WHERE mentions_fts MATCH ?)"
_FTS_ROW = "EXISTS (SELECT 1 FROM mentions_fts WHERE mentions_fts MATCH ? AND rowid = m.id)"
HIT_COLUMNS = (  # a Hit, of mention m: both backends read these
    "m.id, m.created_at, m.network, m.native_id, m.author_handle, m.text, m.url, m.language, m.sentiment_label"
)


def register_functions(conn: sqlite3.Connection) -> None:
    """The Python functions SQL calls: the index's triggers (``listener_words``) and ``author:``.

    Every connection that writes mentions needs them (``migrate`` registers them),
    because the words indexed must be exactly the matcher's tokens.
    """
    conn.create_function("listener_words", 1, words, deterministic=True)
    conn.create_function("listener_handle", 1, handle_key, deterministic=True)


def _node(node: Node, per_row: bool = False) -> tuple[str, list[Any]]:
    """``node`` as a condition on mention ``m``.

    ``per_row``: checked on mentions read one by one, newest first; a full-text
    part looks up that one mention, and nothing invites another index.
    Otherwise: over every mention; a full-text part reads its hits once.
    """
    if is_fts(node):
        return _FTS_ROW if per_row else _FTS_SET, [to_fts(node)]
    match node:
        case Field("lang", value):
            language = "coalesce(lower(m.language), '')"
            return f"({language} = ? OR substr({language}, 1, ?) = ?)", [value, len(value) + 1, value + "-"]
        case Field("author", value):
            if per_row:
                return "listener_handle(m.author_handle) = ?", [handle_key(value)]
            return author_condition(value)
        case Field("network", value):
            return ("+m.network = ?" if per_row else "m.network = ?"), [value]
        case Field("site", value):
            return "listener_site(m.url, ?)", [value]
        case Field("sentiment", value):  # not yet scored: no label, and never NULL
            return "coalesce(m.sentiment_label, '') = ?", [value]
        case Not(child):
            sql, params = _node(child, per_row)
            return f"NOT ({sql})", params
        case And(children) | Or(children):
            parts = [_node(c, per_row) for c in children]
            joiner = " AND " if isinstance(node, And) else " OR "
            return "(" + joiner.join(p[0] for p in parts) + ")", [x for p in parts for x in p[1]]
    raise TypeError(node)


def handle_fts(value: str) -> str | None:
    """The full-text expression that finds every handle ``author:value`` matches (and maybe more)."""
    needle = tokens(handle_key(value))
    return 'author_handle : "' + " ".join(needle) + '"' if needle else None


def author_condition(value: str) -> tuple[str, list[Any]]:
    """``author:`` as the matcher means it (``handle_key``: no ``@``, Unicode lower case), via the index.

    Equal handles have equal tokens, so the handle column of the index narrows the
    rows first; ``listener_handle`` then checks the whole handle. The condition is
    on mention ``m``. ``Store.forget_author`` uses it too, so that it deletes what
    ``author:`` finds.
    """
    exact = "listener_handle(m.author_handle) = ?"
    match = handle_fts(value)
    if match is None:  # a handle of only punctuation (author:___): nothing to look up
        return exact, [handle_key(value)]
    return f"({_FTS_SET} AND {exact})", [match, handle_key(value)]


def _check_text(option: str, value: str | None) -> None:
    """A filter that is not text (a byte that is not UTF-8) is refused here, in one line."""
    if value is not None and (bad := undecodable(value)) is not None:
        column, what = bad
        raise QueryError(
            f"{option} is not text: {what}; retype it or fix the terminal's encoding", value, column
        )


def check_filters(filters: SearchFilters) -> None:
    """The text filters are text (no byte that is not UTF-8), or a one-line ``QueryError``; both backends check."""
    for option in ("network", "lang", "watch"):
        _check_text(f"--{option}", getattr(filters, option))


def compile_search(
    query: Node | None, filters: SearchFilters, per_row: bool = False, times: bool = True
) -> tuple[str, list[Any]]:
    """``query`` and ``filters`` as a condition on mention ``m`` (``per_row``: see ``_node``).

    ``times=False`` leaves ``--since`` and ``--until`` out, for a caller that bounds
    the time itself.
    """
    check_filters(filters)
    clauses: list[str] = []
    params: list[Any] = []
    if query is not None:
        sql, node_params = _node(query, per_row)
        clauses.append(sql)
        params.extend(node_params)
    created = "+m.created_at" if per_row else "m.created_at"
    if filters.since and times:
        clauses.append(f"{created} >= ?")
        params.append(utc_iso(filters.since))
    if filters.until and times:
        clauses.append(f"{created} < ?")
        params.append(utc_iso(filters.until))
    if filters.network:
        sql, network_params = _node(Field("network", filters.network), per_row)
        clauses.append(sql)
        params.extend(network_params)
    if filters.lang:
        sql, lang_params = _node(Field("lang", filters.lang.lower()))
        clauses.append(sql)
        params.extend(lang_params)
    if filters.watch:
        clauses.append(
            "EXISTS (SELECT 1 FROM mention_watches mw JOIN watches w ON w.id = mw.watch_id "
            "WHERE w.name = ? AND mw.mention_id = m.id)"
            if per_row
            else "m.id IN (SELECT mw.mention_id FROM mention_watches mw "
            "JOIN watches w ON w.id = mw.watch_id WHERE w.name = ?)"
        )
        params.append(filters.watch)
    return " AND ".join(clauses) or "1", params


# -- newest first ----------------------------------------------------------------


def split_query(query: Node | None) -> tuple[str | None, Node | None]:
    """(full-text expression that finds every hit, or None; what is left to check on each hit).

    The expression is the text of the query, or of the parts of a top-level AND
    that are text (with their negations) or ``author:`` (whose handle tokens it
    looks up; the exact handle stays to check).
    """
    if query is None or is_fts(query):
        return (to_fts(query) if query is not None else None), None
    if isinstance(query, Field) and query.name == "author":
        return handle_fts(query.value), query
    return _split_and(query) if isinstance(query, And) else (None, query)


def _split_and(query: And) -> tuple[str | None, Node | None]:
    texts = [c for c in query.children if is_fts(c)]
    negations = [c for c in query.children if isinstance(c, Not) and is_fts(c.child)]
    authors = [c for c in query.children if isinstance(c, Field) and c.name == "author"]
    parts = [f"({to_fts(c)})" for c in texts]
    parts += [f"({expr})" for c in authors if (expr := handle_fts(c.value)) is not None]
    if not parts:
        return None, query
    expr = " AND ".join(parts)
    for negation in negations:
        expr = f"({expr}) NOT ({to_fts(negation.child)})"
    rest = [c for c in query.children if c not in texts and c not in negations]
    return expr, (rest[0] if len(rest) == 1 else And(tuple(rest))) if rest else None


def search_newest(
    conn: sqlite3.Connection, query: Node | None, filters: SearchFilters, limit: int = 50
) -> list[Hit]:
    """Mentions matching ``query`` and ``filters``, newest first (``created_at``, then id), at most ``limit``.

    Reads what the newest ``limit`` cost, not every match (see the module's docstring).
    """
    if limit <= 0 or limit > ALL_HITS:  # nothing, or so many that reading every match is the way
        where, params = compile_search(query, filters)
        return _hits(conn, where, params, limit)
    expr, rest = split_query(query)
    if expr is None:
        return _walk_time(conn, rest, filters, limit)
    where, params = compile_search(rest, filters, per_row=True)
    return _walk_ids(conn, expr, where, params, filters, limit)


def _hits(conn: sqlite3.Connection, where: str, params: list[Any], limit: int) -> list[Hit]:
    rows = conn.execute(
        f"SELECT {HIT_COLUMNS} FROM mentions m WHERE {where} ORDER BY m.created_at DESC, m.id DESC LIMIT ?",
        (*params, limit),
    )
    return [Hit(*row) for row in rows]


def _walk_time(conn: sqlite3.Connection, rest: Node | None, filters: SearchFilters, limit: int) -> list[Hit]:
    """No full-text part: mentions newest first (``mentions_day``), each checked, until ``limit`` match."""
    where, params = compile_search(rest, filters, per_row=True, times=False)
    if filters.since:
        where += " AND m.created_at >= ?"
        params.append(utc_iso(filters.since))
    if filters.until:
        where += " AND m.created_at < ?"
        params.append(utc_iso(filters.until))
    return _hits(conn, where, params, limit)


def _walk_ids(
    conn: sqlite3.Connection, expr: str, where: str, params: list[Any], filters: SearchFilters, limit: int
) -> list[Hit]:
    """Full-text hits: the newest ids first, in one query, until ``limit`` are kept; then block by block.

    Ids follow collection, not creation, so the newest ids need not hold the newest
    hits: a block's latest ``created_at`` (``search_blocks``) bounds what it can hold.
    The first query reads down the ids from the newest until it keeps ``limit`` hits
    (or reaches a block older than ``--since``): one query, however thinly the hits
    spread over blocks. ``_walk_blocks`` then reads the blocks below that can still
    hold a newer hit (in the steady state the rest of the last block read, or none).
    Read block by block from the start, an author with a few posts per block cost
    more queries the more blocks their newest ``limit`` spanned (#20).
    """
    best: list[tuple[str, int]] = []  # a min-heap of (created_at, id): best[0] is the limit-th newest
    since = utc_iso(filters.since) if filters.since else ""
    low = 0  # no hit below this id counts: those of blocks older than --since, down from the newest
    if since:
        sql = (  # down from the newest block to the first older than --since
            "SELECT block FROM search_blocks WHERE block <= (SELECT max(block) FROM search_blocks) "
            "AND +latest < ? ORDER BY block DESC LIMIT 1"
        )
        older = conn.execute(sql, (since,)).fetchone()
        low = 0 if older is None else (older[0] + 1) << BLOCK_BITS
    rows = conn.execute(
        "SELECT mentions_fts.rowid, m.created_at FROM mentions_fts "
        "CROSS JOIN mentions m ON m.id = mentions_fts.rowid "
        f"WHERE mentions_fts MATCH ? AND mentions_fts.rowid >= ? AND {where} "
        "ORDER BY mentions_fts.rowid DESC",
        (expr, low, *params),
    )
    read = low  # every hit from this id up is read
    for row_id, created in rows:
        heapq.heappush(best, (created, row_id))
        if len(best) == limit:
            read = row_id
            break
    rows.close()
    if read > 0:
        _walk_blocks(conn, expr, where, params, since, limit, best, read)
    found = json.dumps([mention_id for _, mention_id in best])
    return _hits(conn, "m.id IN (SELECT value FROM json_each(?))", [found], limit)


def _walk_blocks(
    conn: sqlite3.Connection,
    expr: str,
    where: str,
    params: list[Any],
    since: str,
    limit: int,
    best: list[tuple[str, int]],
    read: int,
) -> None:
    """The hits of ids below ``read`` into ``best``: block by block, the block with the newest mention first.

    A block whose latest mention is older than the ``limit``-th hit found (or than
    ``--since``) cannot hold a better one, and neither can any block after it. Each
    full-text query has a fixed cost (a lookup per index segment), so the blocks are
    read 1, 2, 4, ... at a time, each run of neighbours in one query, in id order
    (a query down the ids from below the newest would first step over every hit above).
    """
    blocks = conn.execute(
        "SELECT block, latest FROM search_blocks WHERE latest >= ? ORDER BY latest DESC", (since,)
    )
    size = 1
    while chunk := blocks.fetchmany(size):
        floor = best[0][0] if len(best) >= limit else since
        wanted = sorted(block for block, latest in chunk if latest >= floor and block << BLOCK_BITS < read)
        for first, last in _runs(wanted):
            rows = conn.execute(
                "SELECT m.created_at, m.id FROM mentions_fts CROSS JOIN mentions m ON m.id = mentions_fts.rowid "
                f"WHERE mentions_fts MATCH ? AND mentions_fts.rowid BETWEEN ? AND ? AND {where}",
                (expr, first << BLOCK_BITS, min((last + 1) << BLOCK_BITS, read) - 1, *params),
            )
            for row in rows:
                if len(best) < limit:
                    heapq.heappush(best, row)
                elif row > best[0]:
                    heapq.heapreplace(best, row)
        if chunk[-1][1] < floor:
            break
        size = min(size * 2, 64)
    blocks.close()


def _runs(blocks: list[int]) -> list[tuple[int, int]]:
    """Sorted block numbers as (first, last) runs of neighbours: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    runs: list[tuple[int, int]] = []
    for block in blocks:
        if runs and runs[-1][1] == block - 1:
            runs[-1] = (runs[-1][0], block)
        else:
            runs.append((block, block))
    return runs


def search_collapsed(
    conn: sqlite3.Connection, query: Node | None, filters: SearchFilters, limit: int = 50
) -> list[ClusterHit]:
    """Mentions matching ``query`` and ``filters``, one row per near-duplicate cluster, newest story first."""
    where, params = compile_search(query, filters)
    rows = conn.execute(
        f"""
        WITH hits AS (
          SELECT m.id, m.created_at, m.network, m.native_id, m.author_handle, m.text, m.url, m.language,
            m.sentiment_label, c.cluster_id, coalesce(c.cluster_id, -m.id) AS g
          FROM mentions m LEFT JOIN mention_clusters c ON c.mention_id = m.id WHERE {where}),
        groups AS (
          SELECT g, count(*) AS copies, group_concat(DISTINCT network) AS networks, max(created_at) AS latest,
            min(created_at || printf('%020d', id)) AS first FROM hits GROUP BY g)
        SELECT h.id, h.created_at, h.network, h.native_id, h.author_handle, h.text, h.url, h.language,
          h.sentiment_label, h.cluster_id, gr.copies, gr.networks, gr.latest
        FROM groups gr JOIN hits h ON h.g = gr.g AND h.created_at || printf('%020d', h.id) = gr.first
        ORDER BY gr.latest DESC, h.id DESC LIMIT ?
        """,
        (*params, limit),
    )
    return [ClusterHit(*row) for row in rows]
