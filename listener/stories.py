"""What to answer first: a range's stories ranked for a person alone with the brand's accounts (#21).

The inbox and the digest show this one list. ``storage.stories`` reads the stories
(near-duplicate clusters of the range's negative and most engaged mentions) with their
triage state; here they are ranked, and each author is told apart: a **troll** is negative
on many different days ("do not feed"), a **customer** is negative on few (a first-time
complainer in a crisis, however many posts that day: answer them).

Priority (higher first), every term reported in ``reasons``::

    need     = 4 if at least half its members are negative              "negative"
               (2 if fewer: a calm story with one complaint among them) "partly negative"
             + 2 * log10(negative members)                              "9 negative posts"
             + 3 if negative and none of our accounts answered it       "unanswered"
             + 1 if its author is a customer                            "customer"
             - 3 if its author is a troll (the unanswered bonus goes)   "troll: do not feed"
    size     = log10(1 + engagement)                                    "240 interactions"
             + 0.5 * log10(1 + reach)                                   "12,000 views"
             + 0.5 * (networks - 1)                                     "3 networks"
    priority = (need + size) * 0.5 ** (age / 24 h)                      "2 h ago"
             + 1000 if escalated                                        "escalated"

So an unanswered complaint (7) outweighs a positive post a thousand times as engaged
(log10 gives 3 for 1,000 interactions, 4 for 10,000), and a complaint that many people
repeat (ten negative posts: +2) outweighs one person's. The age is that of the story's
latest negative member (of its latest member if none is negative): a calm story that
goes on being shared does not keep an old complaint among its copies fresh. It halves
a story's weight every day; an escalated story stays on top until it is handled.
Handled and ignored stories are left out unless ``include_done``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from listener.links import open_url, reply_url
from storage.interfaces import StoryReads
from storage.rows import NO_FILTERS, AuthorHistory, StoryFilters, StoryRow

__all__ = [
    "AUTHOR_TAGS",
    "AuthorKind",
    "RankedStory",
    "TrollRule",
    "answer_first",
    "author_kind",
    "priority",
    "rank_rows",
]

AuthorKind = Literal["troll", "customer"]
AUTHOR_TAGS: dict[str, str] = {
    "troll": "troll: do not feed",
    "customer": "customer: answer",
}  # as people read them
ESCALATED = 1000.0
HALF_LIFE = timedelta(hours=24)


class StoryBackend(Protocol):
    """A store with stories (``storage.Store`` is one)."""

    @property
    def stories(self) -> StoryReads: ...


@dataclass(frozen=True, slots=True)
class TrollRule:
    """A troll is negative on at least ``min_negative_days`` distinct local days of the last ``window_days``."""

    min_negative_days: int = 3
    window_days: int = 30


def author_kind(h: AuthorHistory, rule: TrollRule) -> AuthorKind | None:
    """troll, customer, or None (never negative in the window).

    ``h`` must count its negative days over the rule's window (``since`` = now -
    ``window_days``): many posts on one crisis day are one day.
    """
    if h.negative_days >= rule.min_negative_days:
        return "troll"
    return "customer" if h.negative_days > 0 else None


@dataclass(frozen=True, slots=True)
class RankedStory:
    story: StoryRow
    priority: float
    reasons: tuple[str, ...]  # short words that explain the rank
    author: AuthorKind | None
    open_url: str | None
    reply_url: str | None
    history: AuthorHistory | None = None  # the lead's author's, over the rule's window


def _ago(seconds: float) -> str:
    if seconds < 3600:
        return f"{max(int(seconds // 60), 0)} min ago"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} days ago"


def priority(story: StoryRow, author: AuthorKind | None, now: datetime) -> tuple[float, tuple[str, ...]]:
    """The story's priority and the reasons for it (the formula is in the module's docstring)."""
    reasons: list[str] = []
    need = 0.0
    if story.state is not None and story.state.state == "escalated":
        reasons.append("escalated")
    if story.negative:
        most = 2 * story.negative >= story.members
        need += (4 if most else 2) + 2 * math.log10(story.negative)
        reasons.append("negative" if most else "partly negative")
        if story.negative > 1:
            reasons.append(f"{story.negative:,} negative posts")
        if story.answered:
            reasons.append("answered")
        elif author != "troll":
            need += 3
            reasons.append("unanswered")
    if author == "customer":
        need += 1
        reasons.append("customer")
    elif author == "troll":
        need -= 3
        reasons.append("troll: do not feed")
    size = math.log10(1 + story.engagement) + 0.5 * math.log10(1 + story.reach)
    size += 0.5 * (len(story.networks) - 1)
    if len(story.networks) > 1:
        reasons.append(f"{len(story.networks)} networks")
    if story.engagement:
        reasons.append(f"{story.engagement:,} interactions")
    if story.reach:
        reasons.append(f"{story.reach:,} views")
    latest = story.last_negative_at or story.last_at
    age = max((now - datetime.fromisoformat(latest)).total_seconds(), 0.0)
    reasons.append(_ago(age))
    value = max(need + size, 0.0) * 0.5 ** (age / HALF_LIFE.total_seconds())
    if "escalated" in reasons:
        value += ESCALATED
    return value, tuple(reasons)


def answer_first(
    store: StoryBackend,
    own: Sequence[tuple[str, str]],
    start: datetime,
    end: datetime,
    now: datetime,
    zone: str,
    filters: StoryFilters = NO_FILTERS,
    limit: int = 50,
    include_done: bool = False,
    rule: TrollRule = TrollRule(),
) -> list[RankedStory]:
    """The range's stories, what needs an answer first on top (see the module's docstring)."""
    rows = store.stories.stories(start, end, own, filters, limit, include_done)
    ranked = rank_rows(store, rows, now, zone, rule)
    ranked.sort(key=lambda r: (-r.priority, r.story.key))
    return ranked


def rank_rows(
    store: StoryBackend, rows: Sequence[StoryRow], now: datetime, zone: str, rule: TrollRule = TrollRule()
) -> list[RankedStory]:
    """Each story with its priority, reasons, author kind and links, in the order given."""
    keys = [_author_key(s) for s in rows]
    histories = store.stories.author_history(
        [k for k in keys if k is not None], now - timedelta(days=rule.window_days), zone
    )
    ranked = []
    for story, key in zip(rows, keys, strict=True):
        history = histories.get(key) if key is not None else None
        kind = author_kind(history, rule) if history is not None else None
        value, reasons = priority(story, kind, now)
        lead = story.lead
        ranked.append(RankedStory(
            story, value, reasons, kind,
            open_url(lead.network, lead.native_id, lead.url), reply_url(lead.network, lead.native_id, lead.url),
            history,
        ))  # fmt: skip
    return ranked


def _author_key(story: StoryRow) -> tuple[str, str] | None:
    """The lead's author as ``author_history`` finds it fastest: its author id, else its handle."""
    name = story.lead.author_id or story.lead.author_handle
    return (story.lead.network, name) if name else None
