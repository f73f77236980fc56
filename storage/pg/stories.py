"""The stories of a range on PostgreSQL, for the inbox and the digest (#21, #22).

The twin of ``storage.stories.StoryQueries``, with the same candidates, members and order
(``storage.story_shape`` holds what is no SQL, for both). SQLite reads helper tables its
triggers keep (``search_blocks`` for a range's first mention id, the full-text index for a
handle); here everything comes from the base tables and their indexes (006.sql):
``mentions_engaged`` walks each (15-minute block, negative or not) part of a range from its
most engaged mention, ``mentions_day`` reads the ragged ends, ``mention_clusters_cluster``
a story's members of the range, ``mentions_handle_key`` and ``mentions_author_key`` our own
posts and an author's history.

SQLite's ``lower()`` folds ASCII only: own accounts and languages compare the same way here
(``lower(... COLLATE "C")``), whatever the server's locale.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

from psycopg.pq import TransactionStatus

from listener.records import utc_iso
from storage.accounts import own_key_list
from storage.answered import OWN_DERIVED, answered_sql
from storage.day_parts import BLOCK
from storage.pg.accounts import own_post_ids
from storage.pg.author_days import author_history
from storage.pg.connection import PgConnection
from storage.pg.search import compile_search
from storage.pg.triage import triage_states
from storage.rows import (
    NO_FILTERS,
    AuthorHistory,
    SearchFilters,
    StoryFilters,
    StoryMention,
    StoryRow,
    TriageState,
)
from storage.story_shape import (
    CANDIDATES,
    DONE,
    best,
    decided_first,
    not_own,
    parts_of,
    per_part,
    shown,
    sides,
    story_keys,
    story_rows,
)

__all__ = ["PgStories", "facets_sql"]


# The keys of mentions_engaged (006.sql), written as it writes them.
_BLOCK = f"div(extract(epoch FROM m.created_at AT TIME ZONE 'UTC'), {BLOCK})"
_NEGATIVE = "(m.sentiment_label IS NOT DISTINCT FROM 'negative')::integer"
_ENGAGEMENT = (
    "(coalesce(m.like_count, 0) + coalesce(m.repost_count, 0) + coalesce(m.reply_count, 0) "
    "+ coalesce(m.quote_count, 0))"
)
_ORDER = f"{_ENGAGEMENT} DESC, m.created_at DESC, m.id DESC"
_STORY_COLUMNS = (
    "m.id, m.network, m.native_id, m.url, m.author_id, m.author_handle, m.author_name, m.text, "
    f"m.created_at, m.sentiment_label, {_ENGAGEMENT}, m.view_count"
)
# A part's best ``per_part`` mentions meeting {where}, then the best ``limit`` of them all.
_PART_TOP = (
    "SELECT t.id, t.engagement, t.created_at FROM unnest(%s::bigint[]) AS p (block) CROSS JOIN LATERAL ("
    f"SELECT m.id, {_ENGAGEMENT} AS engagement, m.created_at FROM mentions m WHERE {_BLOCK} = p.block "
    f"AND {_NEGATIVE} = %s {{where}} ORDER BY {_ORDER} LIMIT %s) t "
    "ORDER BY t.engagement DESC, t.created_at DESC, t.id DESC LIMIT %s"
)
# The best ``limit`` of a range under 15 minutes (a ragged end), through mentions_day.
_RANGE_TOP = (
    f"SELECT m.id, {_ENGAGEMENT}, m.created_at FROM mentions m WHERE m.created_at >= %s AND m.created_at < %s "
    f"AND {_NEGATIVE} = %s {{where}} ORDER BY {_ORDER} LIMIT %s"
)


def _own_sql(own: Sequence[tuple[str, str]]) -> tuple[str, list[Any]]:
    """``AND NOT`` posted by one of ``own`` (mention ``m``), as ``storage.accounts.own_key_sql`` means it."""
    if not own:
        return "", []
    keys = own_key_list(own)
    handle = 'm.network || chr(31) || lower(m.author_handle COLLATE "C")'
    return (
        f" AND NOT (coalesce({handle} = ANY(%s), false) OR coalesce(m.network || chr(31) || m.author_id = ANY(%s), false))",
        [keys, keys],
    )


def facets_sql(filters: StoryFilters) -> tuple[str, list[Any]]:
    """The facets and the query as ``AND ...`` on mention ``m`` (search's conditions, and the sentiment)."""
    search = SearchFilters(network=filters.network, lang=filters.language, watch=filters.watch)
    where, params = compile_search(filters.query, search)
    if filters.sentiment:
        where += " AND m.sentiment_label IS NOT DISTINCT FROM %s"
        params.append(filters.sentiment)
    return f" AND {where}", params


class PgStories:
    """Stories of a range and authors' negative history; attached to ``PgStore`` as ``stories``."""

    def __init__(self, conn: PgConnection) -> None:
        self.conn = conn

    def stories(
        self,
        start: datetime,
        end: datetime,
        own: Sequence[tuple[str, str]],
        filters: StoryFilters = NO_FILTERS,
        limit: int = 50,
        include_done: bool = False,
    ) -> list[StoryRow]:
        """The range's stories with a negative or much engaged member, by others than ``own``
        (``storage.stories.StoryQueries.stories``)."""
        if limit <= 0:
            return []
        facets, params = facets_sql(filters)
        with self._snapshot():
            found = self._escalated(start, end, own, facets, params)
            if filters.query is not None:
                found += self._searched(start, end, own, filters, limit * CANDIDATES)
            for side in sides(filters) if filters.query is None else ():
                found += self._top(start, end, own, (facets, params), side, limit * CANDIDATES, include_done)
            keys = story_keys(found, self._clusters(found))
            stories = self._fill(keys, start, end, own, filters.sentiment or "negative")
        return shown(stories, include_done, limit)

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        """One snapshot for a list's queries (repeatable read, unless called inside a transaction):
        its candidates, members and states agree while daemons write.
        """
        outer = self.conn.info.transaction_status != TransactionStatus.IDLE
        with self.conn.transaction():
            if not outer:
                self.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield

    def triaged(
        self, start: datetime, end: datetime, own: Sequence[tuple[str, str]], limit: int = 50
    ) -> list[StoryRow]:
        """The range's stories marked in the inbox, latest decision first (``StoryQueries.triaged``)."""
        if limit <= 0:
            return []
        with self._snapshot():
            not_own_sql, own_params = _own_sql(own)
            rows = self.conn.execute(
                "SELECT min(m.id) FROM triage t JOIN mentions m ON m.id = t.mention_id "
                "LEFT JOIN mention_clusters c ON c.mention_id = m.id "
                f"WHERE m.created_at >= %s AND m.created_at < %s {not_own_sql} "
                "GROUP BY coalesce(c.cluster_id, -m.id) ORDER BY max(t.updated_at) DESC, 1 LIMIT %s",
                (utc_iso(start), utc_iso(end), *own_params, limit),
            )
            ids = [int(row[0]) for row in rows]
            stories = decided_first(
                self._fill(story_keys(ids, self._clusters(ids)), start, end, own, "negative")
            )
        return stories

    def author_history(
        self, keys: Sequence[tuple[str, str]], since: datetime, zone: str
    ) -> dict[tuple[str, str], AuthorHistory]:
        """The negative history of each (network, handle as stored, or author id) author; those not found left out."""
        return author_history(self.conn, keys, since, zone)

    # -- candidates -------------------------------------------------------------------

    def _escalated(
        self, start: datetime, end: datetime, own: Sequence[tuple[str, str]], facets: str, params: list[Any]
    ) -> list[int]:
        """The range's escalated mentions that meet the facets: on top whatever their engagement."""
        rows = self.conn.execute(
            "SELECT m.id, m.network, m.author_handle, m.author_id FROM triage t JOIN mentions m ON m.id = t.mention_id "
            f"WHERE t.state = 'escalated' AND m.created_at >= %s AND m.created_at < %s {facets} ORDER BY m.id",
            (utc_iso(start), utc_iso(end), *params),
        )
        return not_own(rows, own)

    def _top(
        self,
        start: datetime,
        end: datetime,
        own: Sequence[tuple[str, str]],
        facets: tuple[str, list[Any]],
        negative: int,
        limit: int,
        include_done: bool,
    ) -> list[int]:
        """The ``limit`` most engaged mentions of one side of [start, end): the whole blocks part by
        part (each its share, ``per_part``), the ragged ends through ``mentions_day``."""
        not_own_sql, own_params = _own_sql(own)
        where = facets[0] + not_own_sql
        if not include_done:  # a done mention would take a candidate's place: skip it (a key probe)
            where += (
                # a scalar subquery, probed per row: NOT EXISTS becomes an anti join, which reads the whole part
                f" AND NOT coalesce((SELECT d.state IN {DONE} FROM triage d WHERE d.mention_id = m.id), false)"
            )
        params = [*facets[1], *own_params]
        blocks, edges = parts_of(start, end)
        rows: list[tuple[int, int, str]] = []
        if blocks:
            rows += self._rows(
                _PART_TOP.format(where=where),
                [blocks, negative, *params, per_part(limit, len(blocks)), limit],
            )
        for lo, hi in edges:
            if lo < hi:
                rows += self._rows(
                    _RANGE_TOP.format(where=where), [utc_iso(lo), utc_iso(hi), negative, *params, limit]
                )
        return best(rows, limit)

    def _searched(
        self, start: datetime, end: datetime, own: Sequence[tuple[str, str]], filters: StoryFilters, n: int
    ) -> list[int]:
        """The newest ``n`` hits of the query in the range, then those of the sentiment asked and
        not ours (``StoryQueries._searched``: the sentiment and own accounts are checked on the hits)."""
        facets, params = facets_sql(replace(filters, sentiment=None))
        not_own_sql, own_params = _own_sql(own)
        rows = self.conn.execute(
            f"SELECT h.id, h.sentiment_label, h.own FROM (SELECT m.id, m.sentiment_label, m.created_at, "
            f"NOT (true {not_own_sql}) AS own FROM mentions m WHERE m.created_at >= %s AND m.created_at < %s {facets} "
            "ORDER BY m.created_at DESC, m.id DESC LIMIT %s) h ORDER BY h.created_at DESC, h.id DESC",
            (*own_params, utc_iso(start), utc_iso(end), *params, n),
        )
        wanted = filters.sentiment
        return [int(i) for i, label, ours in rows if (wanted is None or label == wanted) and not ours]

    def _rows(self, sql: str, params: list[Any]) -> list[tuple[int, int, str]]:
        return [(int(i), int(e), utc_iso(at)) for i, e, at in self.conn.execute(sql, params)]

    # -- grouping and filling in ----------------------------------------------------------

    def _clusters(self, ids: list[int]) -> dict[int, int]:
        rows = self.conn.execute(
            "SELECT mention_id, cluster_id FROM mention_clusters WHERE mention_id = ANY(%s) AND cluster_id IS NOT NULL",
            (ids,),
        )
        return {int(m): int(c) for m, c in rows}

    def _fill(
        self, keys: list[int], start: datetime, end: datetime, own: Sequence[tuple[str, str]], prefer: str
    ) -> list[StoryRow]:
        """The stories ``keys`` (cluster ids; a lone mention's id negated): members in the range and all."""
        not_own_sql, own_params = _own_sql(own)
        rows = self.conn.execute(
            f"SELECT c.cluster_id, {_STORY_COLUMNS} FROM mention_clusters c JOIN mentions m ON m.id = c.mention_id "
            f"WHERE c.cluster_id = ANY(%s) AND c.created_at >= %s AND c.created_at < %s {not_own_sql} "
            f"UNION ALL SELECT -m.id, {_STORY_COLUMNS} FROM mentions m WHERE m.id = ANY(%s)",
            (
                [k for k in keys if k > 0],
                utc_iso(start),
                utc_iso(end),
                *own_params,
                [-k for k in keys if k < 0],
            ),
        ).fetchall()
        members = [
            (
                int(key),
                StoryMention(i, net, nid, url, aid, handle, name, text, utc_iso(at), label, int(eng), views),
            )
            for key, i, net, nid, url, aid, handle, name, text, at, label, eng, views in rows
        ]
        ids = [m.id for _, m in members]
        own_posts = own_post_ids(self.conn, [(n, k.lower()) for n, k in own], start) if own else []
        return story_rows(keys, members, self._answered(ids, own_posts), self._states(ids), prefer)

    def _answered(self, ids: list[int], own_posts: list[int]) -> set[int]:
        """The mentions among ``ids`` one of our own posts (``own_posts``) answered."""
        if not own_posts or not ids:
            return set()
        rows = self.conn.execute(
            "WITH own_posts AS MATERIALIZED (SELECT r.id, r.network, r.in_reply_to_id, r.conversation_id, "
            f"r.created_at FROM mentions r WHERE r.id = ANY(%s)), {OWN_DERIVED} "
            f"SELECT m.id FROM mentions m WHERE m.id = ANY(%s) AND {answered_sql('m')}",
            (own_posts, ids),
        )
        return {int(row[0]) for row in rows}

    def _states(self, ids: list[int]) -> dict[int, TriageState]:
        return triage_states(self.conn, ids)
