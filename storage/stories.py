"""The stories of a range: its mentions grouped by near-duplicate cluster, for the inbox and the digest (#21).

A range's candidates are its escalated mentions (``triage``, a row per decision, small),
its most engaged negative mentions and its most engaged others,
``CANDIDATES`` times the stories asked of each, read part by part of ``mentions_engaged``
(``storage.day_parts``), each part's walk stopping at that many, never the range's every
mention (``tests/test_stories_reference.py`` holds them to a plain query). A range longer than a day asks each part for
its share only (``_per_part``), so a week costs about what a day does; the ragged ends of a
range off the quarter hours ("the last 7 days" from now) are read through ``mentions_day``. The facets, our own accounts and mentions
already handled or ignored are checked during the walk, so they cost a key probe each and
take no candidate's place. A parsed query finds its candidates through search
(``storage.search.search_newest``: the range's newest hits). The candidates are grouped by
cluster (``mention_clusters``), and only the stories shown are filled in: their members of
the range (the cluster index, from the range's first mention id on), whether our own
accounts answered any (``storage.answered``: from our own posts, a handful), and their
triage state (the latest action among the members). A story found by a facet keeps all its
members of the range: where it spread is the point.

Measured on bench/scale.py's databases (50 stories, two busy own accounts), in SQLite VM
steps (wall times on a shared 2-core machine varied 2-3x): a UTC day 1.6M at 1M mentions,
2.0M at 10M (55 and 91 ms when the machine was idle); the last 7 days off the quarter hours
2.3M and 3.1M; 30 days 3.6M and 5.9M. A facet that few mentions meet walks further into
each part and reads each row it passes: at 10M ``network = x`` 2.3M, ``lang = it`` 3.5M
(0.3-1.4 s, cold pages); ``negative`` only walks its side, 1.1M.

``triaged`` finds a range's stories marked in the inbox from ``triage`` instead (the digest's
"dealt with"): a person may mark a quiet story found by search, outside the engaged walk.
``author_history`` (``storage.author_days``) reads a few authors' negative days.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from listener.records import utc_iso
from storage.accounts import not_own_sql, own_keys, own_post_ids
from storage.answered import OWN_ANSWERS, answered_sql
from storage.author_days import author_history, first_id
from storage.day_parts import ORDER, PARTS, block_sql, engagement_sql, negative_sql, parts_json
from storage.failures import guarded
from storage.rows import (
    NO_FILTERS,
    AuthorHistory,
    SearchFilters,
    StoryFilters,
    StoryMention,
    StoryRow,
    TriageState,
)
from storage.search import compile_search, search_newest
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

__all__ = ["CANDIDATES", "AuthorHistory", "StoryFilters", "StoryMention", "StoryQueries", "StoryRow"]

_STORY_COLUMNS = (
    "m.id, m.network, m.native_id, m.url, m.author_id, m.author_handle, m.author_name, m.text, "
    f"m.created_at, m.sentiment_label, {engagement_sql('m')}, m.view_count"
)


def _filter_sql(filters: StoryFilters, alias: str) -> tuple[str, dict[str, Any]]:
    """The facets as ``AND ...`` on mention ``alias``, with their named parameters."""
    sql, params = "", dict[str, Any]()
    if filters.network:
        sql += f" AND {alias}.network = :network"
        params["network"] = filters.network
    if filters.language:
        lang = filters.language.lower()
        language = f"coalesce(lower({alias}.language), '')"
        sql += f" AND ({language} = :lang OR substr({language}, 1, :lang_len) = :lang_dash)"
        params.update(lang=lang, lang_len=len(lang) + 1, lang_dash=lang + "-")
    if filters.sentiment:
        sql += f" AND {alias}.sentiment_label IS :sentiment"
        params["sentiment"] = filters.sentiment
    if filters.watch:
        sql += (
            " AND EXISTS (SELECT 1 FROM mention_watches mw JOIN watches x ON x.id = mw.watch_id "
            f"WHERE x.name = :watch AND mw.mention_id = {alias}.id)"
        )
        params["watch"] = filters.watch
    return sql, params


# A part's best :per_part of the mentions meeting {where} (``w``), then the best :limit of them all.
_PART_TOP = (
    f"WITH {PARTS} SELECT m.id, {engagement_sql('m')}, m.created_at FROM parts p JOIN mentions m ON m.id IN ("
    f"SELECT w.id FROM mentions w WHERE {block_sql('w')} = p.block "
    f"AND {negative_sql('w')} = p.negative {{where}} ORDER BY {engagement_sql('w')} {ORDER.format(a='w')} "
    f"LIMIT :per_part) ORDER BY {engagement_sql('m')} {ORDER.format(a='m')} LIMIT :limit"
)
# The best :limit of a range under 15 minutes (a ragged end), through mentions_day.
_RANGE_TOP = (
    f"SELECT w.id, {engagement_sql('w')}, w.created_at FROM mentions w WHERE w.created_at >= :lo "
    f"AND w.created_at < :hi {{where}} ORDER BY {engagement_sql('w')} {ORDER.format(a='w')} LIMIT :limit"
)


@guarded
class StoryQueries:
    """Stories of a range and authors' negative history; attached to ``Store`` as ``stories``."""

    def __init__(self, conn: sqlite3.Connection) -> None:
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
        """The range's stories with a negative or much engaged member, by others than ``own``.

        At most ``limit``: escalated ones first, then those with an unanswered negative member, then by
        engagement (``listener.stories.answer_first`` ranks them for people); handled
        and ignored ones only with ``include_done``.
        """
        if limit <= 0:
            return []
        candidates = self._candidates(start, end, own, filters, limit * CANDIDATES, include_done)
        groups = self._group(candidates)
        own_posts = own_post_ids(self.conn, [(n, k.lower()) for n, k in own], utc_iso(start)) if own else []
        return shown(
            self._fill(groups, start, end, own, own_posts, filters.sentiment or "negative"),
            include_done,
            limit,
        )

    def triaged(
        self, start: datetime, end: datetime, own: Sequence[tuple[str, str]], limit: int = 50
    ) -> list[StoryRow]:
        """The range's stories marked in the inbox (handled, ignored or escalated), latest decision first.

        Found from ``triage`` (a row per member marked by a person, small: read whole, as
        ``_escalated`` reads it), one row per story, at most ``limit``; then filled in as
        ``stories`` fills them, so a story's state is the latest action among its members.
        """
        if limit <= 0:
            return []
        rows = self.conn.execute(
            "SELECT min(m.id) FROM triage t CROSS JOIN mentions m ON m.id = t.mention_id "
            "LEFT JOIN mention_clusters c ON c.mention_id = m.id "
            f"WHERE m.created_at >= :start AND m.created_at < :end {not_own_sql(own)} "
            "GROUP BY coalesce(c.cluster_id, -m.id) ORDER BY max(t.updated_at) DESC, 1 LIMIT :limit",
            {"start": utc_iso(start), "end": utc_iso(end), "own": own_keys(own), "limit": limit},
        )
        keys = self._group([row[0] for row in rows])
        own_posts = own_post_ids(self.conn, [(n, k.lower()) for n, k in own], utc_iso(start)) if own else []
        return decided_first(self._fill(keys, start, end, own, own_posts, "negative"))

    # -- candidates ---------------------------------------------------------------

    def _candidates(
        self,
        start: datetime,
        end: datetime,
        own: Sequence[tuple[str, str]],
        filters: StoryFilters,
        n: int,
        include_done: bool,
    ) -> list[int]:
        """Ids of the range's escalated mentions, its ``n`` most engaged negative ones, then its ``n``
        most engaged others (or the query's ``n`` newest hits).

        The two sides are disjoint parts of ``mentions_engaged``: together they hold the
        range's ``n`` most engaged mentions, each part walked once.
        """
        found = self._escalated(start, end, own, filters)
        if filters.query is not None:
            return found + self._searched(start, end, own, filters, n)
        params = {"start": utc_iso(start), "end": utc_iso(end), "own": own_keys(own), "limit": n}
        return found + [
            i
            for side in sides(filters)
            for i in self._top(start, end, own, filters, params, side, include_done)
        ]

    def _escalated(
        self, start: datetime, end: datetime, own: Sequence[tuple[str, str]], filters: StoryFilters
    ) -> list[int]:
        """The range's escalated mentions that meet the filters: they stay on top whatever their engagement.

        ``triage`` holds what people decided (a row per action, not per mention collected):
        read whole, it is small.
        """
        search = SearchFilters(network=filters.network, lang=filters.language, watch=filters.watch)
        where, params = compile_search(filters.query, search, per_row=True, times=False)
        if filters.sentiment:
            where += " AND m.sentiment_label IS ?"
            params.append(filters.sentiment)
        rows = self.conn.execute(
            "SELECT m.id, m.network, m.author_handle, m.author_id FROM triage t CROSS JOIN mentions m ON m.id = t.mention_id "
            f"WHERE t.state = 'escalated' AND m.created_at >= ? AND m.created_at < ? AND {where} ORDER BY m.id",
            (utc_iso(start), utc_iso(end), *params),
        )
        return not_own(rows, own)

    def _top(
        self,
        start: datetime,
        end: datetime,
        own: Sequence[tuple[str, str]],
        filters: StoryFilters,
        params: dict[str, Any],
        negative: int,
        include_done: bool,
    ) -> list[int]:
        """The ``:limit`` most engaged mentions of one side (negative or not) of [start, end).

        The whole 15-minute blocks inside the range through their parts (``_PART_TOP``), each
        giving its share (``_per_part``); the ragged ends (a range off the quarter hours, as
        "the last 7 days" from now is) through ``mentions_day``, under 15 minutes each.
        """
        where, extra = _filter_sql(filters, "w")
        where += f" {not_own_sql(own, 'w')} AND {negative_sql('w')} = {negative}"
        if not include_done:  # a done mention would take a candidate's place: skip it (a key probe)
            where += (
                f" AND NOT EXISTS (SELECT 1 FROM triage t WHERE t.mention_id = w.id AND t.state IN {DONE})"
            )
        params = {**params, **extra}
        blocks, edges = parts_of(start, end)
        rows: list[tuple[int, int, str]] = []
        if blocks:
            rows += self.conn.execute(
                _PART_TOP.format(where=where),
                {
                    **params,
                    "parts": parts_json(blocks, (negative,)),
                    "per_part": per_part(params["limit"], len(blocks)),
                },
            ).fetchall()
        for lo, hi in edges:
            if lo < hi:
                rows += self.conn.execute(
                    _RANGE_TOP.format(where=where), {**params, "lo": utc_iso(lo), "hi": utc_iso(hi)}
                ).fetchall()
        return best(rows, params["limit"])

    def _searched(
        self, start: datetime, end: datetime, own: Sequence[tuple[str, str]], filters: StoryFilters, n: int
    ) -> list[int]:
        """The newest ``n`` hits of the query in the range (search's walk), the facets checked."""
        hits = search_newest(
            self.conn,
            filters.query,
            SearchFilters(since=start, until=end, network=filters.network, lang=filters.language,
                          watch=filters.watch),
            limit=n,
        )  # fmt: skip
        ids = [h.id for h in hits if filters.sentiment is None or h.sentiment_label == filters.sentiment]
        if not own or not ids:
            return ids
        rows = self.conn.execute(
            f"SELECT m.id FROM json_each(:ids) i JOIN mentions m ON m.id = i.value WHERE 1 {not_own_sql(own)}",
            {"ids": json.dumps(ids), "own": own_keys(own)},
        )
        kept = {row[0] for row in rows}
        return [i for i in ids if i in kept]

    # -- grouping and filling in ----------------------------------------------------

    def _group(self, ids: list[int]) -> list[int]:
        """The story keys of the candidates, in the order of each story's best candidate."""
        clusters = dict(self.conn.execute(
            "SELECT c.mention_id, c.cluster_id FROM json_each(?) i "
            "JOIN mention_clusters c ON c.mention_id = i.value WHERE c.cluster_id IS NOT NULL",
            (json.dumps(ids),),
        ).fetchall())  # fmt: skip
        return story_keys(ids, clusters)

    def _fill(
        self,
        keys: list[int],
        start: datetime,
        end: datetime,
        own: Sequence[tuple[str, str]],
        own_posts: list[int],
        prefer: str,
    ) -> list[StoryRow]:
        """The stories ``keys`` (cluster ids; a lone mention's id negated): members in the range and all.

        Each story's lead is its most engaged member of sentiment ``prefer`` (the filter's, else
        negative: the complaint is what needs an answer), or its most engaged if none is.
        """
        params = {"start": utc_iso(start), "end": utc_iso(end), "own": own_keys(own),
                  "clusters": json.dumps([k for k in keys if k > 0]),
                  "lone": json.dumps([-k for k in keys if k < 0]), "floor": first_id(self.conn, utc_iso(start))}  # fmt: skip
        # A cluster's members from the first mention id that can be in the range on: the cluster
        # index's entries end with the mention id, so a long-lived story's older copies are skipped.
        rows = self.conn.execute(
            f"""
            SELECT c.cluster_id, {_STORY_COLUMNS} FROM json_each(:clusters) i
            JOIN mention_clusters c ON c.cluster_id = i.value AND c.mention_id >= :floor
            JOIN mentions m ON m.id = c.mention_id
            WHERE c.created_at >= :start AND c.created_at < :end {not_own_sql(own)}
            UNION ALL
            SELECT -m.id, {_STORY_COLUMNS} FROM json_each(:lone) i JOIN mentions m ON m.id = i.value
            """,
            params,
        ).fetchall()
        members = [(key, StoryMention(*mention)) for key, *mention in rows]
        member_ids = [m.id for _, m in members]
        return story_rows(
            keys, members, self._answered(member_ids, own_posts), self._states(member_ids), prefer
        )

    def _answered(self, ids: list[int], own_posts: list[int]) -> set[int]:
        """The mentions among ``ids`` one of our own posts (``own_posts``) answered."""
        if not own_posts or not ids:
            return set()
        rows = self.conn.execute(
            f"WITH {OWN_ANSWERS} SELECT m.id FROM json_each(:ids) i JOIN mentions m ON m.id = i.value "
            f"WHERE {answered_sql('m')}",
            {"ids": json.dumps(ids), "own_posts": json.dumps(own_posts)},
        )
        return {row[0] for row in rows}

    def _states(self, ids: list[int]) -> dict[int, TriageState]:
        rows = self.conn.execute(
            "SELECT t.mention_id, t.state, t.note, t.updated_at FROM json_each(?) i "
            "JOIN triage t ON t.mention_id = i.value",
            (json.dumps(ids),),
        )
        return {row[0]: TriageState(*row) for row in rows}

    def author_history(
        self, keys: Sequence[tuple[str, str]], since: datetime, zone: str
    ) -> dict[tuple[str, str], AuthorHistory]:
        """The negative history of each (network, handle as stored, or author id) author
        (``storage.author_days``); authors not found are left out."""
        return author_history(self.conn, keys, since, zone)
