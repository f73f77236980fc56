"""Search on PostgreSQL: the query language of ``listener.query`` with the SQLite backend's results.

SQLite's FTS5 index holds ``listener.tokens`` of each text and handle, so the local matcher and
search agree in every script (``storage.search``). PostgreSQL's parsers and ``unaccent`` split
and fold some scripts otherwise, so here too the tokens are computed in Python, when a mention
is written (``search_columns``, like ``author_handle_key``), and stored as a ``tsvector`` with
positions; the text-only parts of a query compile to a ``tsquery`` of the same tokens
(``to_tsquery``): a word is a phrase of its tokens (``e-mail`` is ``e <-> mail``), ``word*``
makes the last one a prefix, as FTS5 does. The handle's tokens follow the text's after a gap:
FTS5 matches a phrase within one column, and so does ``<->``. Fields compile to the SQL
conditions ``storage.search`` uses, written so that none yields NULL (``NOT`` of NULL would
drop a row the matcher keeps).

A ``tsvector`` cannot hold every text exactly (positions stop at 16383, 256 per lexeme,
lexemes of at most 2047 bytes): such a mention keeps its tokens in ``search_words`` instead,
joined by spaces (tokens hold none), where a phrase is a ``strpos``: slower, and exact. A
query is always valid SQL: its tokens are quoted into the tsquery, never parsed by PostgreSQL
as syntax, and a value PostgreSQL cannot hold (a NUL) is a condition that is false.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from listener.query import And, Field, Node, Not, Or, Phrase, Term, handle_key, is_fts, tokens
from listener.records import utc_iso
from storage.pg.connection import PgConnection
from storage.rows import Hit, SearchFilters
from storage.search import HIT_COLUMNS, check_filters

__all__ = ["PgSearch", "compile_search", "index_unindexed", "search_columns", "to_tsquery", "url_host"]

MAX_LEXEME = 2047  # bytes of one tsvector/tsquery lexeme
MAX_POSITION = 16383  # PostgreSQL stores a larger position as this one
MAX_POSITIONS = 256  # positions kept per lexeme
MAX_DATA = (1 << 20) - 1  # bytes of lexemes and positions in one tsvector
_NEVER = "' '"  # a lexeme no vector holds: tokens never contain a space
_LANGUAGE = "coalesce(translate(m.language, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), '')"


def _quote(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def search_columns(text: str, handle: str | None) -> tuple[str, str | None]:
    """(``search_vector``, ``search_words``) of a mention: its tokens, where search finds them.

    The vector when it holds them exactly (``search_words`` NULL); else an empty vector and the
    tokens of the text and of the handle, joined by spaces, two between the two, one at each
    end: a phrase never spans the two, and every token starts after a space.
    """
    listed = [*tokens(text), "", *tokens(handle or "")]
    positions: dict[str, list[int]] = {}
    for position, token in enumerate(listed, start=1):
        if token:
            positions.setdefault(token, []).append(position)
    data = sum(len(token.encode()) + 4 + 2 * len(found) for token, found in positions.items())
    fits = (
        len(listed) <= MAX_POSITION
        and data <= MAX_DATA
        and all(len(found) <= MAX_POSITIONS for found in positions.values())
        and all(len(token.encode()) <= MAX_LEXEME for token in positions)
    )
    if not fits:
        return "", " " + " ".join(listed) + " "
    vector = " ".join(f"{_quote(token)}:{','.join(map(str, found))}" for token, found in positions.items())
    return vector, None


def url_host(url: str | None) -> str | None:
    """What ``site:`` compares (``listener.query.host_matches``): the URL's host, lower case."""
    if not url:
        return None
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:  # not a URL (an unclosed IPv6 bracket): no site matches it
        return None


def index_unindexed(conn: PgConnection, batch: int = 1000) -> int:
    """Fill the search columns of mentions stored before migration 003 wrote them; how many.

    Run on open, after ``migrate``: the tokens come from Python, so SQL cannot fill them. The
    partial index ``mentions_unindexed`` makes the check free once none is left, and two
    daemons doing it at once write the same values.
    """
    done = 0
    select = (
        "SELECT id, text, author_handle, url FROM mentions WHERE search_vector IS NULL ORDER BY id LIMIT %s"
    )
    while rows := conn.execute(select, (batch,)).fetchall():
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(
                "UPDATE mentions SET search_vector = %s, search_words = %s, url_host = %s WHERE id = %s",
                [(*search_columns(text, handle), url_host(url), i) for i, text, handle, url in rows],
            )
        done += len(rows)
    return done


def _lexeme(token: str) -> str:
    """A token quoted for a tsquery; one too long for any vector can only match none."""
    return _quote(token) if len(token.encode()) <= MAX_LEXEME else _NEVER


def _phrase(text: str, prefix: bool) -> str:
    parts = [_lexeme(token) for token in tokens(text)] or [_NEVER]
    if prefix:
        parts[-1] += ":*"
    return "(" + " <-> ".join(parts) + ")"


def to_tsquery(node: Node) -> str:
    """A text-only node (``listener.query.is_fts``) as a tsquery, meaning what ``to_fts`` means to FTS5."""
    match node:
        case Term(word, prefix):
            return _phrase(word, prefix)
        case Phrase(text):
            return _phrase(text, False)
        case And(children):
            positives = [to_tsquery(c) for c in children if not isinstance(c, Not)]
            negatives = [f"!({to_tsquery(c.child)})" for c in children if isinstance(c, Not)]
            return "(" + " & ".join(positives + negatives) + ")"
        case Or(children):
            return "(" + " | ".join(to_tsquery(c) for c in children) + ")"
    raise ValueError(f"{node!r} is not text only")


def _boolean(node: Not | And | Or, child: Callable[[Node], tuple[str, list[Any]]]) -> tuple[str, list[Any]]:
    """NOT, AND, OR around the conditions ``child`` compiles."""
    if isinstance(node, Not):
        sql, params = child(node.child)
        return f"NOT ({sql})", params
    parts = [child(c) for c in node.children]
    joiner = " AND " if isinstance(node, And) else " OR "
    return "(" + joiner.join(p[0] for p in parts) + ")", [x for p in parts for x in p[1]]


def _needle(text: str, prefix: bool) -> str:
    """What ``search_words`` holds where it holds the tokens of ``text`` in a row (see ``search_columns``)."""
    needle = tokens(text)
    if not needle:  # nothing to find (the parser refuses such a word): three spaces never occur
        return "   "
    return " " + " ".join(needle) + ("" if prefix else " ")


def _words(node: Node) -> tuple[str, list[Any]]:
    """A text-only node as a condition on ``m.search_words`` (the mentions a vector cannot hold)."""
    match node:
        case Term(word, prefix):
            return "strpos(m.search_words, %s) > 0", [_needle(word, prefix)]
        case Phrase(text):
            return "strpos(m.search_words, %s) > 0", [_needle(text, False)]
        case Not() | And() | Or():
            return _boolean(node, _words)
    raise ValueError(f"{node!r} is not text only")


def _text(node: Node) -> tuple[str, list[Any]]:
    words, params = _words(node)
    return (
        "((m.search_words IS NULL AND m.search_vector @@ %s::tsquery) "
        f"OR (m.search_words IS NOT NULL AND {words}))",
        [to_tsquery(node), *params],
    )


def _field(name: str, value: str) -> tuple[str, list[Any]]:
    if "\x00" in value:  # PostgreSQL text holds no NUL: no stored value equals this one
        return "false", []
    match name:
        case "lang":  # SQLite's lower() folds ASCII only
            return f"({_LANGUAGE} = %s OR left({_LANGUAGE}, %s) = %s)", [value, len(value) + 1, value + "-"]
        case "author":
            return "(m.author_handle_key IS NOT NULL AND m.author_handle_key = %s)", [handle_key(value)]
        case "network":
            return "m.network = %s", [value]
        case "site":
            host = "coalesce(m.url_host, '')"
            return f"({host} = %s OR right({host}, %s) = %s)", [value, len(value) + 1, "." + value]
        case "sentiment":  # not yet scored: no label, and never NULL
            return "(m.sentiment_label IS NOT NULL AND m.sentiment_label = %s)", [value]
    raise ValueError(name)


def _node(node: Node) -> tuple[str, list[Any]]:
    """``node`` as a condition on mention ``m`` that is never NULL."""
    if is_fts(node):
        return _text(node)
    match node:
        case Field(name, value):
            return _field(name, value)
        case Not() | And() | Or():
            return _boolean(node, _node)
    raise TypeError(node)


def compile_search(query: Node | None, filters: SearchFilters) -> tuple[str, list[Any]]:
    """``query`` and ``filters`` as a condition on mention ``m`` (``storage.search.compile_search``'s twin).

    For ``ClusterStore.search`` too: the hits are the rows of ``mentions m`` it holds for.
    """
    check_filters(filters)
    clauses: list[str] = []
    params: list[Any] = []

    def add(sql: str, values: list[Any]) -> None:
        clauses.append(sql)
        params.extend(values)

    if query is not None:
        add(*_node(query))
    if filters.since:
        add("m.created_at >= %s", [utc_iso(filters.since)])
    if filters.until:
        add("m.created_at < %s", [utc_iso(filters.until)])
    if filters.network:
        add(*_field("network", filters.network))
    if filters.lang:
        add(*_field("lang", filters.lang.lower()))
    if filters.watch:
        add(
            *("false", [])
            if "\x00" in filters.watch
            else (
                "m.id IN (SELECT mw.mention_id FROM mention_watches mw "
                "JOIN watches w ON w.id = mw.watch_id WHERE w.name = %s)",
                [filters.watch],
            )
        )
    return " AND ".join(clauses) or "true", params


class PgSearch:
    """``MentionStore.search`` on PostgreSQL (a mixin of ``PgStore``)."""

    conn: PgConnection

    def search(self, query: Node | None, filters: SearchFilters, limit: int = 50) -> list[Hit]:
        """Mentions matching ``query`` and ``filters``, newest first (``created_at``, then id), at most ``limit``.

        A negative ``limit`` is no limit, as SQLite's ``LIMIT -1``.
        """
        where, params = compile_search(query, filters)
        rows = self.conn.execute(
            f"SELECT {HIT_COLUMNS} FROM mentions m WHERE {where} ORDER BY m.created_at DESC, m.id DESC LIMIT %s",
            (*params, limit if limit >= 0 else None),
        ).fetchall()
        return [Hit(mention_id, utc_iso(created), *rest) for mention_id, created, *rest in rows]
