"""What the inbox page shows, read from the store: the answer-first list, as cards, and its filters.

Plain Python on a ``ListenerStore`` (no Datasette): the view runs it in a worker thread and
hands the result to the template, which escapes every string (Jinja autoescape).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from markupsafe import Markup

import collectors
from listener.errors import QueryError
from listener.inbox.charts import watch_charts
from listener.query import parse
from listener.stories import AUTHOR_TAGS, RankedStory, TrollRule, answer_first, rank_rows
from storage.interfaces import ListenerStore
from storage.rows import NO_FILTERS, AuthorHistory, StoryFilters

__all__ = ["SENTIMENTS", "Card", "Filters", "Page", "read_page"]

SENTIMENTS = ("negative", "neutral", "positive")
DEFAULT_LIMIT, MAX_LIMIT = 50, 500


@dataclass(frozen=True)
class Filters:
    """The page's GET parameters, as typed in (so the form shows them back)."""

    watch: str = ""
    network: str = ""
    lang: str = ""
    sentiment: str = ""
    q: str = ""
    done: bool = False
    limit: int = DEFAULT_LIMIT

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Filters:
        def arg(name: str) -> str:
            return (args.get(name) or "").strip()[:500]

        limit = int(arg("limit")) if arg("limit").isdigit() else DEFAULT_LIMIT
        return cls(arg("watch"), arg("network"), arg("lang").lower(), arg("sentiment"), arg("q"),
                   arg("done") == "1", min(max(limit, 1), MAX_LIMIT))  # fmt: skip


@dataclass(frozen=True)
class Card:
    """One story as the page shows it."""

    key: int
    text: str
    network: str
    author: str
    tag: str | None  # "troll: do not feed", "customer: answer"
    kind: str | None  # troll, customer
    history: str | None  # the author's negative history in words
    when: str  # the lead's local time
    spread: str  # "reddit 3 · x 2"
    members: int
    reasons: tuple[str, ...]
    sentiment: str | None
    open_url: str | None
    reply_url: str | None
    member_ids: str  # comma-separated, for the triage form
    state: str | None
    note: str | None


@dataclass
class Page:
    filters: Filters
    cards: list[Card] = field(default_factory=list)
    watches: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    error: str | None = None  # a query syntax error, shown by the search box
    since: str = ""
    charts: list[tuple[str, Markup]] = field(default_factory=list)  # (watch, inline SVG)


def _history_line(h: AuthorHistory | None, zone: ZoneInfo, days: int) -> str | None:
    if h is None or not h.mentions:
        return None
    first = datetime.fromisoformat(h.first_seen).astimezone(zone).strftime("%d %b %Y")
    line = f"{h.mentions} mention{'s' * (h.mentions != 1)} since {first}, {h.negative} negative"
    if h.negative_days:
        line += f"; negative on {h.negative_days} day{'s' * (h.negative_days != 1)} of the last {days}"
    return line


def _card(ranked: RankedStory, history: AuthorHistory | None, zone: ZoneInfo, rule: TrollRule) -> Card:
    story, lead = ranked.story, ranked.story.lead
    handle = lead.author_handle or lead.author_name or lead.author_id or "unknown"
    return Card(
        key=story.key,
        text=lead.text,
        network=lead.network,
        author=handle,
        tag=AUTHOR_TAGS.get(ranked.author or ""),
        kind=ranked.author,
        history=_history_line(history, zone, rule.window_days),
        when=datetime.fromisoformat(lead.created_at).astimezone(zone).strftime("%a %d %b %H:%M"),
        spread=" · ".join(f"{network} {count}" for network, count in story.networks),
        members=story.members,
        reasons=ranked.reasons,
        sentiment=lead.sentiment_label,
        open_url=ranked.open_url,
        reply_url=ranked.reply_url,
        member_ids=",".join(str(i) for i in story.member_ids),
        state=story.state.state if story.state else None,
        note=story.state.note if story.state else None,
    )


def _story_filters(filters: Filters) -> StoryFilters:
    """The store's filters; a ``QueryError`` for a search that does not parse."""
    return StoryFilters(
        watch=filters.watch or None,
        network=filters.network or None,
        language=filters.lang or None,
        sentiment=filters.sentiment if filters.sentiment in SENTIMENTS else None,
        query=parse(filters.q) if filters.q else None,
    )


def _done(
    store: ListenerStore,
    ranked: list[RankedStory],
    own: list[tuple[str, str]],
    start: datetime,
    now: datetime,
    zone: str,
    rule: TrollRule,
    limit: int,
    unfiltered: bool,
) -> list[RankedStory]:
    """The stories people decided about, the latest decision first. Unfiltered, those marked from
    a search or too quiet to be among the stories read come from ``triage`` itself."""
    done = [r for r in ranked if r.story.state is not None]
    if unfiltered:
        seen = {r.story.key for r in done}
        extra = [s for s in store.stories.triaged(start, now, own, limit) if s.key not in seen]
        done += rank_rows(store, extra, now, zone, rule)
    return sorted(
        done, key=lambda r: (r.story.state.updated_at if r.story.state else "", r.story.key), reverse=True
    )


def read_page(
    store: ListenerStore, filters: Filters, now: datetime, zone: str, days: int, rule: TrollRule
) -> Page:
    """The inbox for ``filters``: stories of the last ``days`` days, what to answer first on top."""
    tz = ZoneInfo(zone)
    start = now - timedelta(days=days)
    page = Page(filters, since=start.astimezone(tz).strftime("%d %b %H:%M"))
    page.watches = sorted(w.name for w in store.watches(now))
    page.networks = sorted(collectors.REGISTRY)
    charted = [filters.watch] if filters.watch in page.watches else page.watches
    page.charts = watch_charts(store, charted, now, zone, days)
    try:
        story_filters = _story_filters(filters)
    except QueryError as exc:
        page.error = str(exc)
        return page
    own = store.authors.own_accounts()
    ranked = answer_first(store, own, start, now, now, zone, story_filters, limit=filters.limit,
                          include_done=filters.done, rule=rule)  # fmt: skip
    if filters.done:
        ranked = _done(store, ranked, own, start, now, zone, rule, filters.limit, story_filters == NO_FILTERS)
    page.cards = [_card(r, r.history, tz, rule) for r in ranked]
    return page
