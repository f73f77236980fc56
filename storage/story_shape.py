"""The stories' logic that is no SQL, for every backend (#21, #22): which parts of a range to
walk, how the walks' candidates merge, members into ``StoryRow``s, and the order shown.

``storage.stories`` (SQLite) and ``storage.pg.stories`` (PostgreSQL) both build on it, so
that the two return the same stories for the same rows by construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from storage.day_parts import BLOCK
from storage.rows import StoryFilters, StoryMention, StoryRow, TriageState

__all__ = [
    "CANDIDATES",
    "DONE",
    "best",
    "decided_first",
    "not_own",
    "parts_of",
    "per_part",
    "shown",
    "sides",
    "story_keys",
    "story_rows",
]

CANDIDATES = 2  # candidate mentions read per kind, per story asked: a big story takes several
DONE = ("handled", "ignored")
DAY = 96  # 15-minute blocks
PART_MIN = 3  # the least a part of a long range gives


def sides(filters: StoryFilters) -> tuple[int, ...]:
    """The sides of "negative or not" to walk, negative first, as a sentiment filter leaves them."""
    if filters.sentiment is None:
        return (1, 0)
    return (1,) if filters.sentiment == "negative" else (0,)


def per_part(n: int, parts: int) -> int:
    """How many a part gives: all ``n`` up to a day (the exact top ``n``), then its share of them.

    Past a day, a part gives ``n`` times a day's parts over the range's (at least
    ``PART_MIN``): a week reads about what a day does. The top ``n`` is then inexact
    only where one quarter hour held more than its share of it, and near-duplicates
    (a crisis's copies) make few stories of many mentions anyway.
    """
    return n if parts <= DAY else max(PART_MIN, -(-n * DAY // parts))


def _at(block: int) -> datetime:
    return datetime.fromtimestamp(block * BLOCK, UTC)


def parts_of(start: datetime, end: datetime) -> tuple[list[int], list[tuple[datetime, datetime]]]:
    """The whole 15-minute blocks inside [start, end), and the ragged ends around them (each under
    15 minutes, maybe empty; the whole range when it holds no whole block)."""
    first, last = -(-int(start.timestamp()) // BLOCK), int(end.timestamp()) // BLOCK
    if first >= last:
        return [], [(start, end)]
    return list(range(first, last)), [(start, _at(first)), (_at(last), end)]


def best(rows: Iterable[tuple[int, int, str]], limit: int) -> list[int]:
    """The ids of the ``limit`` best (id, engagement, created_at) rows: by engagement, then the latest."""
    ranked = sorted(rows, key=lambda r: (r[1], r[2], r[0]), reverse=True)
    return [row[0] for row in ranked[:limit]]


def not_own(
    rows: Iterable[tuple[int, str, str | None, str | None]], own: Sequence[tuple[str, str]]
) -> list[int]:
    """The ids of the (id, network, handle, author id) rows not posted by one of ``own``."""
    keys = {(network, name.lower()) for network, name in own}
    return [
        i
        for i, network, handle, author in rows
        if not {(network, (handle or "").lower()), (network, author)} & keys
    ]


def story_keys(ids: Sequence[int], clusters: dict[int, int]) -> list[int]:
    """The story keys of the candidates, in the order of each story's best candidate
    (a cluster id; a lone mention's id negated)."""
    return list(dict.fromkeys(clusters.get(i, -i) for i in ids))


@dataclass(slots=True)
class _Story:
    key: int
    members: list[StoryMention]


def story_rows(
    keys: Sequence[int],
    members: Iterable[tuple[int, StoryMention]],
    answered: set[int],
    states: dict[int, TriageState],
    prefer: str,
) -> list[StoryRow]:
    """The stories ``keys`` with their (key, member) rows, in the keys' order; those without members left out.

    Each story's lead is its most engaged member of sentiment ``prefer`` (the filter's, else
    negative: the complaint is what needs an answer), or its most engaged if none is.
    """
    stories = {key: _Story(key, []) for key in keys}
    for key, mention in members:
        stories[key].members.append(mention)
    return [_row(story, answered, states, prefer) for story in stories.values() if story.members]


def _escalated(story: StoryRow) -> bool:
    return story.state is not None and story.state.state == "escalated"


def shown(stories: Iterable[StoryRow], include_done: bool, limit: int) -> list[StoryRow]:
    """At most ``limit``: escalated ones first, then those with an unanswered negative member, then by
    engagement; handled and ignored ones only with ``include_done``."""
    out = [s for s in stories if include_done or s.state is None or s.state.state not in DONE]
    out.sort(key=lambda s: (not _escalated(s), not (s.negative and not s.answered), -s.engagement, s.key))
    return out[:limit]


def decided_first(stories: Iterable[StoryRow]) -> list[StoryRow]:
    """The stories with a state, the latest decision first."""
    out = [s for s in stories if s.state is not None]
    return sorted(out, key=lambda s: (s.state.updated_at if s.state else "", s.key), reverse=True)


def _row(story: _Story, answered: set[int], states: dict[int, TriageState], prefer: str) -> StoryRow:
    members = sorted(story.members, key=lambda m: (m.created_at, m.id))
    lead = min(members, key=lambda m: (m.sentiment_label != prefer, -m.engagement, m.created_at, m.id))
    per: dict[str, int] = {}
    for m in members:
        per[m.network] = per.get(m.network, 0) + 1
    marks = [states[m.id] for m in members if m.id in states]
    return StoryRow(
        key=abs(story.key),
        lead=lead,
        members=len(members),
        networks=tuple(sorted(per.items(), key=lambda x: (-x[1], x[0]))),
        negative=sum(m.sentiment_label == "negative" for m in members),
        engagement=sum(m.engagement for m in members),
        reach=sum(m.view_count or 0 for m in members),
        first_at=members[0].created_at,
        last_at=members[-1].created_at,
        last_negative_at=max(
            (m.created_at for m in members if m.sentiment_label == "negative"), default=None
        ),
        answered=any(m.id in answered for m in members),
        member_ids=tuple(m.id for m in members),
        state=max(marks, key=lambda t: (t.updated_at, t.mention_id)) if marks else None,
    )
