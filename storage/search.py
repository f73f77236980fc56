"""Compile a query tree and search filters to a SQL WHERE clause.

Text-only parts of the tree become one FTS5 MATCH each; fields and bare
negations become plain column conditions, so every query the parser accepts
can be searched, with the same meaning as the local matcher. The index holds
``listener.query.words`` of each text (migration 11) and the terms are compiled
with the same ``tokens``, so both sides split text the same way in every script.
Conditions never yield NULL: ``NOT`` of a NULL would drop the row, where the
matcher keeps it. ``search_collapsed`` shows one row per near-duplicate cluster
(``mention_clusters``, migration 9).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from listener.errors import QueryError
from listener.query import And, Field, Node, Not, Or, handle_key, is_fts, to_fts, tokens, undecodable, words
from listener.records import utc_iso
from storage.rows import ClusterHit, SearchFilters

__all__ = [
    "ClusterHit",
    "SearchFilters",
    "author_condition",
    "compile_search",
    "register_functions",
    "search_collapsed",
]


def register_functions(conn: sqlite3.Connection) -> None:
    """The Python functions SQL calls: the index's triggers (``listener_words``) and ``author:``.

    Every connection that writes mentions needs them (``migrate`` registers them),
    because the words indexed must be exactly the matcher's tokens.
    """
    conn.create_function("listener_words", 1, words, deterministic=True)
    conn.create_function("listener_handle", 1, handle_key, deterministic=True)


def _node(node: Node) -> tuple[str, list[Any]]:
    if is_fts(node):
        return "m.id IN (SELECT rowid FROM mentions_fts WHERE mentions_fts MATCH ?)", [to_fts(node)]
    match node:
        case Field("lang", value):
            language = "coalesce(lower(m.language), '')"
            return f"({language} = ? OR substr({language}, 1, ?) = ?)", [value, len(value) + 1, value + "-"]
        case Field("author", value):
            return author_condition(value)
        case Field("network", value):
            return "m.network = ?", [value]
        case Field("site", value):
            return "listener_site(m.url, ?)", [value]
        case Not(child):
            sql, params = _node(child)
            return f"NOT ({sql})", params
        case And(children) | Or(children):
            parts = [_node(c) for c in children]
            joiner = " AND " if isinstance(node, And) else " OR "
            return "(" + joiner.join(p[0] for p in parts) + ")", [x for p in parts for x in p[1]]
    raise TypeError(node)


def author_condition(value: str) -> tuple[str, list[Any]]:
    """``author:`` as the matcher means it (``handle_key``: no ``@``, Unicode lower case), via the index.

    Equal handles have equal tokens, so the handle column of the index narrows the
    rows first; ``listener_handle`` then checks the whole handle. The condition is
    on mention ``m``. ``Store.forget_author`` uses it too, so that it deletes what
    ``author:`` finds.
    """
    exact = "listener_handle(m.author_handle) = ?"
    key = handle_key(value)
    needle = tokens(key)
    if not needle:  # a handle of only punctuation (author:___): nothing to look up
        return exact, [key]
    match = 'author_handle : "' + " ".join(needle) + '"'
    return f"(m.id IN (SELECT rowid FROM mentions_fts WHERE mentions_fts MATCH ?) AND {exact})", [match, key]


def _check_text(option: str, value: str | None) -> None:
    """A filter that is not text (a byte that is not UTF-8) is refused here, in one line."""
    if value is not None and (bad := undecodable(value)) is not None:
        column, what = bad
        raise QueryError(
            f"{option} is not text: {what}; retype it or fix the terminal's encoding", value, column
        )


def compile_search(query: Node | None, filters: SearchFilters) -> tuple[str, list[Any]]:
    for option in ("network", "lang", "watch"):
        _check_text(f"--{option}", getattr(filters, option))
    clauses: list[str] = []
    params: list[Any] = []
    if query is not None:
        sql, node_params = _node(query)
        clauses.append(sql)
        params.extend(node_params)
    if filters.since:
        clauses.append("m.created_at >= ?")
        params.append(utc_iso(filters.since))
    if filters.until:
        clauses.append("m.created_at < ?")
        params.append(utc_iso(filters.until))
    if filters.network:
        clauses.append("m.network = ?")
        params.append(filters.network)
    if filters.lang:
        sql, lang_params = _node(Field("lang", filters.lang.lower()))
        clauses.append(sql)
        params.extend(lang_params)
    if filters.watch:
        clauses.append(
            "m.id IN (SELECT mw.mention_id FROM mention_watches mw "
            "JOIN watches w ON w.id = mw.watch_id WHERE w.name = ?)"
        )
        params.append(filters.watch)
    return " AND ".join(clauses) or "1", params


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
