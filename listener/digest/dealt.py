"""The digest's "dealt with in the inbox": the day's stories a person marked, and their notes (#21).

A story marked handled or ignored leaves "Answer first"; an escalated one stays on top
there. Here each is listed once with its state and its note, so what was done (and
the note meant for whoever reads the digest) reaches the digest's reader. The note
is typed by a person but may quote a hostile post: it goes through ``chat_safe``
like every other text, and the template escapes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from listener.alerts.message import chat_safe, safe_url
from listener.digest.words import number
from listener.links import open_url
from listener.localtime import local_clock
from storage.interfaces import ListenerStore
from storage.rows import StoryRow

__all__ = ["Dealt", "dealt_section", "read_dealt"]


@dataclass(frozen=True, slots=True)
class Dealt:
    """The day's marked stories, at most as many as the digest lists, and how many there are."""

    stories: tuple[StoryRow, ...] = ()
    count: int = 0  # stories marked among those read...
    more: bool = False  # ...or at least that many


def read_dealt(
    store: ListenerStore,
    own: tuple[tuple[str, str], ...],
    start: datetime,
    end: datetime,
    shown: int,
    read: int,
) -> Dealt:
    """The stories of [start, end) with a triage state: ``read`` at most (the count), ``shown`` kept."""
    rows = store.stories.triaged(start, end, own, limit=max(read, shown))
    return Dealt(tuple(rows[:shown]), len(rows), len(rows) >= max(read, shown))


def _post(s: StoryRow, w: dict[str, str], timezone: str, language: str, day: date) -> dict[str, Any]:
    """One marked story as the digest's post cards are: who, where and when; state and note; the post."""
    lead, state = s.lead, s.state
    assert state is not None  # read_dealt keeps the marked ones only
    when = local_clock(lead.created_at, timezone, language, day)
    mark = w.get(f"dealt_{state.state}", state.state) + (f": {state.note}" if state.note else "")
    url = safe_url(open_url(lead.network, lead.native_id, lead.url))
    return {
        "head": chat_safe(" · ".join((lead.network, lead.author_handle or "?", when)), 200),
        "tag": False,
        "why": chat_safe(mark, 400),
        "text": chat_safe(lead.text),
        "links": [(w["open_link"], url)] if url else [],
    }


def dealt_section(dealt: Dealt, w: dict[str, str], timezone: str, language: str, day: date) -> dict[str, Any]:
    """The section as ``render`` lists them: title, the count as its note, the stories as posts."""
    n = number(dealt.count, language)
    return {
        "title": w["dealt"],
        "note": w["dealt_note"].format(n=w["dealt_more"].format(n=n) if dealt.more else n),
        "posts": [_post(s, w, timezone, language, day) for s in dealt.stories],
        "empty": "",
    }
