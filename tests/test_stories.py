"""Stories (#21): a day's mentions grouped by near-duplicate cluster, filtered, answered, triaged, ranked.

One hand-built day of Caffè Aurora in Europe/Rome: a double-charge complaint copied on
Reddit, X and Mastodon; a positive post that went viral; a negative post our X account
answered; a troll who is negative every day; a neutral question; our own post. Real
SQLite, real clustering: nothing of ours is faked.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from listener.clusters import assign_clusters
from listener.model import Mention, Page
from listener.query import parse
from listener.stories import TrollRule, answer_first, author_kind
from storage import Store
from storage.pg.store import PgStore
from storage.rows import StoryFilters, StoryRow
from tests.backends import Backend
from tests.harness import vm_steps
from tests.test_query_plans_digest import bad, plan_of

ZONE = "Europe/Rome"
DAY = date(2026, 12, 4)
START = datetime(2026, 12, 3, 23, 0, tzinfo=UTC)  # local midnight
END = START + timedelta(days=1)
NOW = END + timedelta(hours=8)
OWN = (("x", "caffe_aurora"),)
COMPLAINT = "Caffè Aurora app charged me twice for one order and nobody answers, I want a refund now"


def at(hour: float, day: int = 0) -> datetime:
    return START + timedelta(days=day, hours=hour)


def mentions() -> list[tuple[Mention, str | None, tuple[str, ...]]]:
    """(mention, sentiment, watches) of the day, and the troll's earlier days."""
    day = [
        (Mention("reddit", "t3_abc1", COMPLAINT, at(9), url="https://www.reddit.com/r/italy/comments/abc1/x/",
                 author_id="t2_marta", author_handle="marta_l", language="en", like_count=30, reply_count=12),
         "negative", ("brand",)),
        (Mention("x", "1001", COMPLAINT + "!!", at(9.5), url="https://x.com/fede_92/status/1001", author_id="92",
                 author_handle="fede_92", language="en", like_count=8, repost_count=4, view_count=5000),
         "negative", ("brand",)),
        (Mention("mastodon", "mastodon.social/2001", COMPLAINT + " #auroradown", at(10),
                 url="https://mastodon.social/@ordini/2001", author_id="mastodon.social/7",
                 author_handle="ordini_falliti@mastodon.social", language="en", like_count=2),
         "negative", ("brand", "app")),
        (Mention("x", "1002", "Adoro la nuova miscela di Caffè Aurora, il miglior espresso di Milano", at(12),
                 url="https://x.com/lucia/status/1002", author_id="55", author_handle="lucia", language="it",
                 like_count=4000, repost_count=900, view_count=250000),
         "positive", ("brand",)),
        (Mention("x", "1003", "Caffè Aurora delivery late again, cold cappuccino", at(14), author_id="66",
                 author_handle="paolo", language="en", like_count=3, conversation_id="1003"),
         "negative", ("brand",)),
        (Mention("x", "1004", "Sorry Paolo, we are sending a new one now", at(15), author_id="1",
                 author_handle="caffe_aurora", language="en", in_reply_to_id="1003", conversation_id="1003"),
         "neutral", ("brand",)),
        (Mention("x", "1005", "Caffè Aurora is a scam, always was, always will be", at(16), author_id="77",
                 author_handle="gianni_brontolo", language="en", like_count=1),
         "negative", ("brand",)),
        (Mention("mastodon", "mastodon.uno/3001", "Qualcuno sa a che ora apre Caffè Aurora in Brera?", at(17),
                 author_id="mastodon.uno/9", author_handle="anna@mastodon.uno", language="it-IT", like_count=1),
         "neutral", ("brand",)),
    ]  # fmt: skip
    troll = [
        (Mention("x", f"90{d}", f"Caffè Aurora again: worst coffee in town, day {d}", at(11, -d), author_id="77",
                 author_handle="gianni_brontolo", language="en"), "negative", ("brand",))
        for d in range(1, 5)
    ]  # fmt: skip
    return day + troll


def build(
    store: Store | PgStore, extra: Sequence[tuple[Mention, str | None, tuple[str, ...]]] = ()
) -> dict[str, int]:
    """Store the day (clustered and scored); native id -> mention id."""
    store.sync_watches([("brand", "aurora"), ("app", "#auroradown")])
    items = [*mentions(), *extra]
    for network in sorted({m.network for m, _, _ in items}):
        ms = [m for m, _, _ in items if m.network == network]
        store.save_page(Page(network, "brand", ms, matches={m.native_id: w for m, _, w in items if m in ms}))
    ids = {native: i for i, native in store.conn.execute("SELECT id, native_id FROM mentions").fetchall()}
    store.set_sentiment([(ids[m.native_id], label, 0.9, "test", None) for m, label, _ in items if label])
    assign_clusters(store)
    return ids


def by_lead(stories: Sequence[StoryRow]) -> dict[str, StoryRow]:
    return {s.lead.native_id: s for s in stories}


@pytest.fixture
def ids(backend: Backend) -> dict[str, int]:
    """The day on both backends (tests/backends.py)."""
    return build(backend.store)


@pytest.fixture
def sqlite_ids(store: Store) -> dict[str, int]:
    """The day on SQLite, for the cases about its query plans and VM steps."""
    return build(store)


def test_near_duplicates_on_three_networks_are_one_story(backend: Backend, ids: dict[str, int]) -> None:
    store = backend.store
    stories = store.stories.stories(START, END, OWN)
    complaint = [s for s in stories if s.members > 1]
    assert len(complaint) == 1
    story = complaint[0]
    assert story.networks == (("mastodon", 1), ("reddit", 1), ("x", 1))
    assert story.negative == 3 and story.members == 3
    assert story.lead.native_id == "t3_abc1"  # the most engaged copy (42 against 12 and 2)
    assert story.engagement == 42 + 12 + 2 and story.reach == 5000
    assert set(story.member_ids) == {ids["t3_abc1"], ids["1001"], ids["mastodon.social/2001"]}
    assert story.first_at < story.last_at
    # the troll's earlier days are outside the range; our own post is never a story
    assert {s.lead.native_id for s in stories} == {"t3_abc1", "1002", "1003", "1005", "mastodon.uno/3001"}


def test_a_story_counts_its_members_of_the_range(backend: Backend) -> None:
    store = backend.store
    """The same complaint the day before is the same story (same key), counted on its own day."""
    early = Mention("x", "999", COMPLAINT + " (ieri)", at(20, -1), author_id="93", author_handle="teo",
                    like_count=1000)  # fmt: skip
    build(store, [(early, "negative", ("brand",))])
    today = [s for s in store.stories.stories(START, END, OWN) if s.members > 1]
    yesterday = [
        s for s in store.stories.stories(START - timedelta(days=1), START, OWN) if s.lead.native_id == "999"
    ]
    assert len(today) == 1 and len(yesterday) == 1 and today[0].key == yesterday[0].key
    assert (today[0].members, today[0].engagement, yesterday[0].members) == (3, 56, 1)


def test_answered_by_an_own_reply(backend: Backend, ids: dict[str, int]) -> None:
    store = backend.store
    stories = by_lead(store.stories.stories(START, END, OWN))
    assert stories["1003"].answered
    assert not stories["t3_abc1"].answered and not stories["1005"].answered
    # without own accounts nothing is answered, and our post is a story like any other
    assert not any(s.answered for s in store.stories.stories(START, END, ()))
    assert "1004" in by_lead(store.stories.stories(START, END, ()))


def test_an_own_post_later_in_the_conversation_answers_it(backend: Backend) -> None:
    store = backend.store
    later = Mention("reddit", "t1_own", "Ci scusiamo, rimborso in corso", at(11), author_id="t2_own",
                    author_handle="aurora_official", conversation_id="t3_abc1")  # fmt: skip
    build(store, [(later, "neutral", ("brand",))])
    own = (*OWN, ("reddit", "aurora_official"))
    complaint = by_lead(store.stories.stories(START, END, own))["t3_abc1"]
    assert not complaint.answered  # the reddit post has no conversation id: nothing later in it
    store.conn.execute("UPDATE mentions SET conversation_id = 't3_abc1' WHERE native_id = 't3_abc1'")
    assert by_lead(store.stories.stories(START, END, own))["t3_abc1"].answered


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (StoryFilters(network="mastodon"), {"t3_abc1", "mastodon.uno/3001"}),
        (StoryFilters(language="it"), {"1002", "mastodon.uno/3001"}),  # it-IT counts as it
        (StoryFilters(watch="app"), {"t3_abc1"}),
        (StoryFilters(sentiment="positive"), {"1002"}),
        (StoryFilters(sentiment="negative"), {"t3_abc1", "1003", "1005"}),
        (StoryFilters(sentiment="neutral"), {"mastodon.uno/3001"}),
        (StoryFilters(watch="nope"), set()),
    ],
)
def test_filters(backend: Backend, ids: dict[str, int], filters: StoryFilters, expected: set[str]) -> None:
    """A facet picks the candidates; a story found keeps all its members (the spread is the point)."""
    assert set(by_lead(backend.store.stories.stories(START, END, OWN, filters))) == expected


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (StoryFilters(query=parse("refund")), {"t3_abc1"}),
        (StoryFilters(query=parse("aurora"), network="x", sentiment="negative"), {"t3_abc1", "1003", "1005"}),
        (StoryFilters(query=parse("brera OR miscela"), language="it"), {"1002", "mastodon.uno/3001"}),
    ],
)
def test_query_filters(
    backend: Backend, ids: dict[str, int], filters: StoryFilters, expected: set[str]
) -> None:
    """A query finds its candidates through search."""
    assert set(by_lead(backend.store.stories.stories(START, END, OWN, filters))) == expected


def test_triage_state_of_a_story_is_its_latest_action(backend: Backend, ids: dict[str, int]) -> None:
    store = backend.store
    members = [ids["t3_abc1"], ids["1001"], ids["mastodon.social/2001"]]
    store.triage.set([members[0]], "escalated", "call the bank", now=NOW)
    store.triage.set([members[1]], "handled", "refunded", now=NOW + timedelta(minutes=5))
    assert "t3_abc1" not in by_lead(store.stories.stories(START, END, OWN))
    shown = by_lead(store.stories.stories(START, END, OWN, include_done=True))["t3_abc1"]
    assert shown.state is not None and (shown.state.state, shown.state.note) == ("handled", "refunded")
    store.triage.set([members[2]], "escalated", now=NOW + timedelta(minutes=9))
    state = by_lead(store.stories.stories(START, END, OWN))["t3_abc1"].state
    assert state is not None and state.state == "escalated" and state.mention_id == members[2]
    store.triage.set(members, "ignored", now=NOW + timedelta(minutes=10))
    assert "t3_abc1" not in by_lead(store.stories.stories(START, END, OWN))
    store.triage.set(members, None, now=NOW + timedelta(minutes=11))  # reopened
    assert by_lead(store.stories.stories(START, END, OWN))["t3_abc1"].state is None


def test_done_stories_leave_room_for_others(backend: Backend, ids: dict[str, int]) -> None:
    store = backend.store
    first = store.stories.stories(START, END, OWN, limit=2)
    assert len(first) == 2
    store.triage.set([m for s in first for m in s.member_ids], "handled", now=NOW)
    second = store.stories.stories(START, END, OWN, limit=2)
    assert len(second) == 2 and not {s.key for s in first} & {s.key for s in second}


def escalated_quiet_question(store: Store | PgStore) -> None:
    """Ten more engaged posts than the quiet question, which is then escalated."""
    fans = [
        (Mention("x", f"70{i}", f"Caffè Aurora fan post number {i} with its own words {i * 7}", at(13),
                 author_id=f"f{i}", author_handle=f"fan{i}", like_count=100 + i), "positive", ("brand",))
        for i in range(10)
    ]  # fmt: skip
    ids = build(store, fans)
    assert "mastodon.uno/3001" not in by_lead(store.stories.stories(START, END, OWN, limit=2))
    store.triage.set([ids["mastodon.uno/3001"]], "escalated", "ask the Brera shop", now=NOW)


def test_an_escalated_mention_is_a_candidate_whatever_its_engagement(backend: Backend) -> None:
    """Ten more engaged posts push the quiet question out of the walk; escalated, it comes first."""
    store = backend.store
    escalated_quiet_question(store)
    first = store.stories.stories(START, END, OWN, limit=2)
    assert first[0].lead.native_id == "mastodon.uno/3001" and len(first) == 2
    assert "mastodon.uno/3001" in by_lead(
        store.stories.stories(START, END, OWN, StoryFilters(network="mastodon"))
    )
    for filters in (StoryFilters(network="x"), StoryFilters(sentiment="negative")):
        assert "mastodon.uno/3001" not in by_lead(store.stories.stories(START, END, OWN, filters, limit=2))
    assert "mastodon.uno/3001" not in by_lead(
        store.stories.stories(START, END, (("mastodon", "anna@mastodon.uno"),))
    )


def test_an_escalated_mention_meets_the_query_or_stays_out(backend: Backend) -> None:
    store = backend.store
    escalated_quiet_question(store)
    assert "mastodon.uno/3001" in by_lead(
        store.stories.stories(START, END, OWN, StoryFilters(query=parse("brera")))
    )
    assert "mastodon.uno/3001" not in by_lead(
        store.stories.stories(START, END, OWN, StoryFilters(query=parse("scam")), limit=2)
    )


def test_a_range_off_the_quarter_hours_reads_the_same_stories(backend: Backend, ids: dict[str, int]) -> None:
    store = backend.store
    day = {s.key: s for s in store.stories.stories(START, END, OWN)}
    odd = {s.key: s for s in store.stories.stories(START + timedelta(minutes=7), END, OWN)}
    assert odd == day


def test_author_history_counts_local_days(backend: Backend, ids: dict[str, int]) -> None:
    store = backend.store
    since = NOW - timedelta(days=30)
    keys = [
        ("x", "gianni_brontolo"),
        ("x", "fede_92"),
        ("reddit", "marta_l"),
        ("x", "lucia"),
        ("x", "nobody"),
    ]
    history = store.stories.author_history(keys, since, ZONE)
    assert set(history) == set(keys) - {("x", "nobody")}
    troll = history[("x", "gianni_brontolo")]
    assert (troll.negative_days, troll.mentions, troll.negative) == (5, 5, 5)
    assert troll.first_negative == "2026-11-30T10:00:00+00:00" and troll.first_seen == troll.first_negative
    assert history[("x", "fede_92")].negative_days == 1
    assert history[("x", "lucia")].negative_days == 0 and history[("x", "lucia")].first_negative is None
    # by author id too, and a shorter window sees fewer days
    assert (
        store.stories.author_history([("x", "77")], NOW - timedelta(days=2), ZONE)[("x", "77")].negative_days
        == 2
    )
    rule = TrollRule()
    assert author_kind(troll, rule) == "troll"
    assert author_kind(history[("x", "fede_92")], rule) == "customer"
    assert author_kind(history[("x", "lucia")], rule) is None


def test_a_day_of_many_complaints_costs_one_probe(tmp_path: Path) -> None:
    """An author's negative days are probed once a day: 20x the complaints on the same days, same work."""

    def steps(per_day: int) -> int:
        with Store.open(tmp_path / f"a{per_day}.db") as store:
            posts = [
                (Mention("x", f"{d}{i:04}", f"charged twice again {d} {i}", at(1 + i * 0.01, -d), author_id="5",
                         author_handle="angry"), "negative", ())
                for d in range(4) for i in range(per_day)
            ]  # fmt: skip
            build(store, posts)
            ask = lambda: store.stories.author_history([("x", "5")], NOW - timedelta(days=30), ZONE)  # noqa: E731
            assert ask()[("x", "5")].negative_days == 4
            return vm_steps(store.conn, ask)

    assert steps(200) < 1.2 * steps(10)


def test_negative_posts_on_one_local_day_are_one_day(backend: Backend) -> None:
    store = backend.store
    """Three complaints in one Rome day (two of them after UTC midnight is still the same day)."""
    rome = ZoneInfo(ZONE)
    times = [datetime(2026, 12, 4, h, 30, tzinfo=rome) for h in (0, 12, 23)]
    crisis = [
        (Mention("x", f"80{i}", f"charged twice {i}", t, author_id="92b", author_handle="fede_93"), "negative", ())
        for i, t in enumerate(times)
    ]  # fmt: skip
    build(store, crisis)
    (h,) = store.stories.author_history([("x", "fede_93")], NOW - timedelta(days=30), ZONE).values()
    assert (h.negative, h.negative_days) == (3, 1)
    assert author_kind(h, TrollRule()) == "customer"
    (utc,) = store.stories.author_history([("x", "fede_93")], NOW - timedelta(days=30), "UTC").values()
    assert utc.negative_days == 2  # 00:30 Rome is 23:30 UTC the day before


def test_answer_first_order(backend: Backend, ids: dict[str, int]) -> None:
    store = backend.store
    ranked = answer_first(store, OWN, START, END, NOW, ZONE)
    order = [r.story.lead.native_id for r in ranked]
    # the unanswered complaint with reach beats a positive post 100 times as engaged;
    # the troll goes below the answered one, and "do not feed" says why
    assert order[0] == "t3_abc1"
    assert order.index("t3_abc1") < order.index("1002")
    assert order.index("1003") < order.index("1005")
    top = ranked[0]
    assert top.author == "customer"
    assert {"negative", "3 negative posts", "unanswered", "customer", "3 networks", "56 interactions"} <= set(
        top.reasons
    )
    assert "5,000 views" in top.reasons
    assert top.open_url == "https://www.reddit.com/r/italy/comments/abc1/x/" == top.reply_url
    # the formula of listener.stories, by hand: need 4 + 2 log10(3 negative) + 3 + 1, size,
    # halved every 24 h (22 h old)
    size = math.log10(1 + 56) + 0.5 * math.log10(1 + 5000) + 0.5 * (3 - 1)
    assert top.priority == pytest.approx((4 + 2 * math.log10(3) + 3 + 1 + size) * 0.5 ** (22 / 24))
    assert "22 h ago" in top.reasons
    troll = ranked[order.index("1005")]
    assert (
        troll.author == "troll"
        and "troll: do not feed" in troll.reasons
        and "unanswered" not in troll.reasons
    )
    assert troll.reply_url == "https://x.com/intent/post?in_reply_to=1005"
    answered = ranked[order.index("1003")]
    assert (
        answered.author == "customer"
        and "answered" in answered.reasons
        and "unanswered" not in answered.reasons
    )
    assert all(ranked[i].priority >= ranked[i + 1].priority for i in range(len(ranked) - 1))


def test_an_old_complaint_among_fresh_calm_copies_is_not_fresh(backend: Backend) -> None:
    store = backend.store
    """A calm post shared all week with one grumble three days ago: the grumble's age counts, and
    one complaint among many calm copies is only "partly negative" (the demo's filler posts
    outranked its crisis before)."""
    calm = "Caffè Aurora in Porta Romana is always full, hard to find a table, lovely oat milk"
    copies = [
        (Mention("x", f"80{i}", f"{calm} {'!' * i}", at(22 - 24 * (3 - i)), author_id=f"8{i}",
                 author_handle=f"regular{i}", like_count=40), "negative" if i == 0 else "positive", ("brand",))
        for i in range(4)
    ]  # fmt: skip
    ids = build(store, copies)
    ranked = {r.story.lead.native_id: r for r in answer_first(store, OWN, at(-72), END, NOW, ZONE)}
    (grumble,) = [r for r in ranked.values() if ids["800"] in r.story.member_ids]
    assert grumble.story.members == 4 and grumble.story.negative == 1
    assert "partly negative" in grumble.reasons and "negative" not in grumble.reasons
    assert "3 days ago" in grumble.reasons  # its complaint's age, not that of the newest copy
    assert grumble.story.lead.native_id == "800"  # the card shows the complaint, not a calm copy
    (calm_lead,) = [
        s.lead for s in store.stories.stories(at(-72), END, OWN, StoryFilters(sentiment="positive"))
        if ids["800"] in s.member_ids
    ]  # fmt: skip
    assert calm_lead.sentiment_label == "positive"  # filtered to positive: a positive copy leads
    assert grumble.priority < ranked["1003"].priority < ranked["t3_abc1"].priority


def test_handled_leaves_and_escalated_stays_on_top(backend: Backend, ids: dict[str, int]) -> None:
    store = backend.store
    ranked = answer_first(store, OWN, START, END, NOW, ZONE)
    store.triage.set(ranked[0].story.member_ids, "handled", now=NOW)
    store.triage.set([ids["mastodon.uno/3001"]], "escalated", "ask the shop", now=NOW)
    after = answer_first(store, OWN, START, END, NOW + timedelta(days=2), ZONE)
    order = [r.story.lead.native_id for r in after]
    assert "t3_abc1" not in order
    assert order[0] == "mastodon.uno/3001" and "escalated" in after[0].reasons
    every = answer_first(store, OWN, START, END, NOW, ZONE, include_done=True)
    assert "t3_abc1" in [r.story.lead.native_id for r in every]


def test_recency_decays_the_priority(backend: Backend, ids: dict[str, int]) -> None:
    store = backend.store
    fresh = {r.story.key: r.priority for r in answer_first(store, OWN, START, END, NOW, ZONE)}
    later = answer_first(store, OWN, START, END, NOW + timedelta(days=1), ZONE)
    assert all(r.priority == pytest.approx(fresh[r.story.key] / 2) for r in later)
    assert any("h ago" in reason for reason in later[0].reasons)


# -- what it reads ------------------------------------------------------------------------


def test_a_day_reads_through_the_indexes(store: Store, sqlite_ids: dict[str, int]) -> None:
    """Candidates from the parts of mentions_engaged, members from the cluster index, states and
    answers by key, an author's days from mentions_author_key: no table is read whole."""
    calls = {
        "stories": lambda: store.stories.stories(START, END, OWN, StoryFilters(watch="brand", language="en")),
        "search": lambda: store.stories.stories(START, END, OWN, StoryFilters(query=parse("refund"))),
        "authors": lambda: store.stories.author_history([("x", "gianni_brontolo"), ("x", "77")], START, ZONE),
    }
    plans = {name: plan_of(store, call) for name, call in calls.items()}
    for name, plan in plans.items():
        assert plan and bad(plan) == [], (name, bad(plan))
    lines = [line for _, line in plans["stories"]]
    assert "SEARCH w USING INDEX mentions_engaged (<expr>=? AND <expr>=?)" in lines, lines
    # a cluster's members from the range's first possible mention id on, not its whole history
    assert "SEARCH c USING INDEX mention_clusters_cluster (cluster_id=? AND rowid>?)" in lines, lines
    assert "SEARCH t USING INTEGER PRIMARY KEY (rowid=?)" in lines, lines  # triage, by mention id
    assert not any("mentions_day" in line or "mentions_created" in line for line in lines), lines
    escalated = [line for sql, line in plans["stories"] if "FROM triage t CROSS JOIN" in sql]
    assert escalated[:2] == ["SCAN t", "SEARCH m USING INTEGER PRIMARY KEY (rowid=?)"], (
        escalated
    )  # people's decisions
    assert any("mentions_fts" in line for _, line in plans["search"])
    authors = [line for _, line in plans["authors"]]
    assert "SEARCH m USING INDEX mentions_author_key (network=? AND <expr>=? AND created_at>?)" in authors, (
        authors
    )
    assert any("mentions_fts" in line for line in authors), authors  # a handle found by its words


def test_a_day_ten_times_denser_costs_about_the_same(tmp_path: Path) -> None:
    """The same day with 2,000 and 20,000 mentions (a part holds more than the walk reads on
    both): stories() reads the day's parts, not its mentions, so about the same SQLite work."""
    cost = []
    for n in (2000, 20000):
        rng = random.Random(5)
        with Store.open(tmp_path / f"{n}.db") as store:
            store.sync_watches([("a", "aurora")])
            ms = [Mention("x", f"m{i}", f"aurora {i}", START + timedelta(seconds=rng.randrange(86400)),
                          author_id=str(rng.randrange(n // 4)), author_handle=f"u{i % 500}",
                          conversation_id=f"c{rng.randrange(n // 5)}" if rng.random() < 0.5 else None,
                          like_count=rng.randrange(400)) for i in range(n)]  # fmt: skip
            ours = [Mention("x", f"o{i}", "aurora", START + timedelta(seconds=rng.randrange(86400)),
                            author_handle="caffe_aurora", in_reply_to_id=f"m{rng.randrange(n)}",
                            conversation_id=f"c{rng.randrange(n // 5)}") for i in range(20)]  # fmt: skip
            store.save_page(Page("x", "a", ms + ours, matches={m.native_id: ["a"] for m in ms + ours}))
            ids = [row[0] for row in store.conn.execute("SELECT id FROM mentions")]
            store.set_sentiment(
                [(i, rng.choice(("negative", "neutral", "positive")), 0.9, "t", None) for i in ids]
            )
            store.triage.set(ids[:: n // 200], "handled", now=NOW)
            stories = store.stories.stories(START, END, OWN, limit=3)
            assert len(stories) == 3 and all(s.negative for s in stories)
            cost.append(vm_steps(store.conn, lambda s=store: s.stories.stories(START, END, OWN, limit=3)))  # type: ignore[misc]
    quiet, busy = cost
    assert busy < 1.5 * quiet, cost


def seven_days(store: Store | PgStore) -> datetime:
    """The day with a post just after it and one six days before: now, off the quarter hours."""
    late = Mention("x", "1100", "Caffè Aurora ha sbagliato di nuovo il mio ordine", END + timedelta(minutes=3),
                   author_id="88", author_handle="bea", like_count=2)  # fmt: skip
    early = Mention("x", "1101", "Caffè Aurora mi ha risposto subito, gentilissimi", START - timedelta(days=6, minutes=-9),
                    author_id="89", author_handle="max", like_count=1)  # fmt: skip
    build(store, [(late, "negative", ("brand",)), (early, "positive", ("brand",))])
    return END + timedelta(minutes=7, seconds=30)


def test_the_last_seven_days_from_any_minute(backend: Backend, ids: dict[str, int]) -> None:
    """An inbox's range ends now, off the quarter hours: the ragged ends are read too, and the
    whole blocks between them through their parts."""
    store = backend.store
    now = seven_days(store)
    week = by_lead(store.stories.stories(now - timedelta(days=7), now, OWN))
    assert {"1100", "1101", "t3_abc1", "1002", "1005"} <= set(week)
    assert "1100" not in by_lead(
        store.stories.stories(now - timedelta(days=7), now - timedelta(minutes=5), OWN)
    )


def test_the_last_seven_days_read_the_ends_through_mentions_day(
    store: Store, sqlite_ids: dict[str, int]
) -> None:
    now = seven_days(store)
    plan = plan_of(store, lambda: store.stories.stories(now - timedelta(days=7), now, OWN))
    lines = [line for _, line in plan]
    assert bad(plan) == [] and "SEARCH w USING INDEX mentions_engaged (<expr>=? AND <expr>=?)" in lines, lines
    ends = [line for sql, line in plan if sql.startswith("SELECT w.id") and "w.created_at >=" in sql]
    assert "SEARCH w USING INDEX mentions_day (created_at>? AND created_at<?)" in ends, ends
    assert not any(line.startswith("SCAN w") for line in ends), ends


def test_three_days_three_times_denser_cost_about_the_same(tmp_path: Path) -> None:
    """Past a day each part gives its share of the candidates (at least ``PART_MIN``): a longer
    range's cost follows its parts, not its mentions (when its parts hold their share, as a
    busy brand's do)."""
    cost = []
    for per_day in (1500, 4500):
        rng = random.Random(8)
        with Store.open(tmp_path / f"{per_day}.db") as store:
            store.sync_watches([("a", "aurora")])
            ms = [Mention("x", f"w{i}", f"aurora {i}", END - timedelta(seconds=rng.randrange(3 * 86400)),
                          author_id=str(i % 300), like_count=rng.randrange(400)) for i in range(3 * per_day)]  # fmt: skip
            store.save_page(Page("x", "a", ms, matches={m.native_id: ["a"] for m in ms}))
            ids = [row[0] for row in store.conn.execute("SELECT id FROM mentions")]
            store.set_sentiment(
                [(i, rng.choice(("negative", "neutral", "positive")), 0.9, "t", None) for i in ids]
            )
            days = (END - timedelta(days=3, minutes=4), END - timedelta(minutes=4))  # ragged ends too
            assert len(store.stories.stories(*days, OWN, limit=6)) == 6
            cost.append(vm_steps(store.conn, lambda s=store, d=days: s.stories.stories(*d, OWN, limit=6)))  # type: ignore[misc]
    quiet, busy = cost
    assert busy < 1.3 * quiet, cost


def test_the_decided_stories_latest_decision_first(backend: Backend, ids: dict[str, int]) -> None:
    """``triaged`` finds what people marked from ``triage`` itself: a story once, by its latest
    action, members of the range only; our own posts and other days' stories are not listed."""
    store = backend.store
    store.triage.set([ids["mastodon.uno/3001"]], "handled", "told her 8:00", now=NOW)
    store.triage.set([ids["1001"]], "ignored", now=NOW + timedelta(minutes=1))
    store.triage.set([ids["t3_abc1"]], "escalated", "bank", now=NOW + timedelta(minutes=2))
    store.triage.set(
        [ids["1004"], ids["901"]], "handled", now=NOW + timedelta(minutes=3)
    )  # ours; the day before
    decided = store.stories.triaged(START, END, OWN)
    assert [(s.lead.native_id, s.members, s.state.state if s.state else None) for s in decided] == [
        ("t3_abc1", 3, "escalated"), ("mastodon.uno/3001", 1, "handled")]  # fmt: skip
    assert decided[0].state is not None and decided[0].state.note == "bank"
    assert [s.lead.native_id for s in store.stories.triaged(START, END, OWN, limit=1)] == ["t3_abc1"]
    assert [s.lead.native_id for s in store.stories.triaged(START, END, ())] == [
        "1004",
        "t3_abc1",
        "mastodon.uno/3001",
    ]
    assert store.stories.triaged(START, END, OWN, limit=0) == []
