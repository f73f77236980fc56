"""The stories of a range find their candidates in ``mentions_engaged`` part by part (migration
20) and say exactly what a plain query over the range's rows says.

The reference below reads every mention of the range, filtered and sorted whole: each
side's (negative or not) most engaged mentions not ours, whether our own posts answered
them, in the stories' order. With no clusters and no triage each candidate is a story of
its own, so the two compare row for row. They are compared on random histories (ties in
engagement and in time, handles in mixed case, own accounts by handle and by id, own
replies and own posts in threads) after late engagement updates, re-scoring and
deletions, for days in time zones that start on the hour, the half hour and the quarter
hour, and for a range off the quarter hours. What the walk costs is in tests/test_stories.py.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from listener.clusters import assign_clusters
from listener.digest.build import day_bounds
from listener.model import Mention, Page
from listener.records import utc_iso
from storage import Store
from storage.pg.store import PgStore
from storage.rows import NO_FILTERS, StoryFilters
from storage.stories import CANDIDATES

T0 = datetime(2026, 10, 30, 20, 0, tzinfo=UTC)
NETWORKS = ("x", "mastodon", "reddit")
HANDLES = ("Brand", "brand", "fan1", "Fan1", "fan2", "troll", "TROLL", "t3", "t4", None)
IDS = (None, None, "77", "8", "9")
LABELS = ("negative", "negative", "neutral", "positive", None)
OWNS: tuple[tuple[tuple[str, str], ...], ...] = ((), (("x", "Brand"),), (("x", "brand"), ("mastodon", "77")))
ZONES = ("UTC", "Asia/Kolkata", "Asia/Kathmandu", "America/St_Johns", "Europe/Rome")
BURST = T0 + timedelta(hours=30)  # 02:00 UTC on DAYS[0]: one 15-minute block
TIES = BURST + timedelta(minutes=20)  # the next block
DAYS = (date(2026, 10, 31), date(2026, 11, 1))  # Europe/Rome's 1 November follows a 25-hour day

_ENGAGEMENT = (
    "coalesce(m.like_count, 0) + coalesce(m.repost_count, 0) + coalesce(m.reply_count, 0) "
    "+ coalesce(m.quote_count, 0)"
)
_OWN = (
    "(ifnull({a}.network || char(31) || lower({a}.author_handle) IN (SELECT value FROM json_each(:own)), 0) "
    "OR ifnull({a}.network || char(31) || {a}.author_id IN (SELECT value FROM json_each(:own)), 0))"
)
_ORDER = f"ORDER BY {_ENGAGEMENT} DESC, m.created_at DESC, m.id DESC LIMIT :limit"


def mention(
    rng: random.Random,
    network: str,
    i: int,
    span_minutes: int,
    start: datetime = T0,
    likes: Sequence[int | None] = (None, 0, 1, 2, 3, 5),
) -> Mention:
    """Coarse times and small counts, so that engagement and time tie often."""
    return Mention(
        network, f"{network}{i}", f"aurora {i}", start + timedelta(minutes=rng.randrange(span_minutes)),
        url=f"https://{network}.test/{i}", author_handle=rng.choice(HANDLES), author_id=rng.choice(IDS),
        in_reply_to_id=f"{network}{rng.randrange(i)}" if i and rng.random() < 0.3 else None,
        conversation_id=f"c{rng.randrange(25)}" if rng.random() < 0.8 else None,
        like_count=rng.choice(likes), repost_count=rng.choice((None, 0, 1)),
        reply_count=rng.choice((None, 0, 2)), quote_count=rng.choice((None, None, 1)),
    )  # fmt: skip


def history(store: Store, n: int = 700, seed: int = 11) -> None:
    """``n`` mentions a network over two and a half days, scored (mostly), matched by two watches;
    and a burst of much engaged ones in one quarter hour, a part that holds more of the top
    than a walk of it reads (a part's walk must stop at the count asked, not before or after);
    and the most engaged, equal in engagement and time: only their ids tell the walk's order."""
    rng = random.Random(seed)
    store.sync_watches([("a", "aurora"), ("b", "aurora")])
    for network in NETWORKS:
        ms = [mention(rng, network, i, 60 * 60) for i in range(n)]
        ms += [mention(rng, network, i, 15, BURST, (4, 6, 8, 10)) for i in range(n, n + 60)]
        ms += [Mention(network, f"{network}{i}", f"aurora {i}", TIES, author_handle=rng.choice(HANDLES),
                       like_count=20) for i in range(n + 60, n + 100)]  # fmt: skip
        store.save_page(
            Page(network, "a", ms, matches={m.native_id: rng.sample("ab", rng.randint(1, 2)) for m in ms})
        )
    ids = [row[0] for row in store.conn.execute("SELECT id FROM mentions")]
    store.set_sentiment([(i, rng.choice(LABELS[:4]), 0.9, "test", None) for i in ids if rng.random() < 0.9])


def late_engagement(store: Store, seed: int) -> None:
    """Upserts of known mentions with new counts, some lower than before."""
    rng = random.Random(seed)
    for network in NETWORKS:
        known = store.conn.execute(
            "SELECT native_id, text, created_at FROM mentions WHERE network = ?", (network,)
        ).fetchall()
        ms = [
            Mention(network, native, text, datetime.fromisoformat(created),
                    like_count=rng.randrange(12), repost_count=rng.choice((None, 0, 4)), reply_count=rng.randrange(3))
            for native, text, created in rng.sample(known, len(known) // 3)
        ]  # fmt: skip
        store.save_page(Page(network, "a", ms))


def rescore(store: Store, seed: int) -> None:
    rng = random.Random(seed)
    ids = [row[0] for row in store.conn.execute("SELECT id FROM mentions")]
    store.set_sentiment(
        [(i, rng.choice(LABELS[:4]), 0.7, "test2", None) for i in rng.sample(ids, len(ids) // 4)]
    )


def delete_some(store: Store, seed: int) -> None:
    """An author forgotten, and a few mentions deleted outright (with their links)."""
    rng = random.Random(seed)
    store.forget_author("mastodon", "troll")
    ids = [row[0] for row in store.conn.execute("SELECT id FROM mentions")]
    gone = rng.sample(ids, len(ids) // 20)
    with store.conn:
        for table, column in (
            ("mention_versions", "mention_id"),
            ("mention_watches", "mention_id"),
            ("mentions", "id"),
        ):
            store.conn.executemany(f"DELETE FROM {table} WHERE {column} = ?", [(i,) for i in gone])


def own_keys(own: Sequence[tuple[str, str]]) -> str:
    return json.dumps(sorted({f"{network}\x1f{name.lower()}" for network, name in own}))


def reference_answered(store: Store, start: str, end: str, own: Sequence[tuple[str, str]]) -> set[int]:
    """The range's mentions with an own reply since its start, or a later own post (since its
    start) in their conversation. (A reply cannot precede what it answers: own posts before the
    range answer none of its mentions, replies as threads; the random histories hold such replies.)"""
    if not own:
        return set()
    rows = store.conn.execute(
        f"""WITH ours AS MATERIALIZED (SELECT * FROM mentions o NOT INDEXED WHERE o.created_at >= :start
                                      AND {_OWN.format(a="o")})
        SELECT m.id FROM mentions m NOT INDEXED WHERE m.created_at >= :start AND m.created_at < :end AND (
            EXISTS (SELECT 1 FROM ours r WHERE r.network = m.network AND r.in_reply_to_id = m.native_id)
            OR (m.conversation_id IS NOT NULL AND EXISTS (
                SELECT 1 FROM ours o WHERE o.network = m.network AND o.conversation_id = m.conversation_id
                  AND o.created_at > m.created_at)))""",
        {"start": start, "end": end, "own": own_keys(own)},
    )
    return {row[0] for row in rows}


Story = tuple[str, bool, bool, int]  # (lead's native id, negative, answered, engagement)


def reference_stories(
    store: Store, start: str, end: str, own: Sequence[tuple[str, str]], limit: int
) -> list[Story]:
    """Each side's ``CANDIDATES`` x ``limit`` most engaged mentions not ours, then the stories'
    order: negative and unanswered first, then by engagement, then by id."""
    not_own = f"AND NOT {_OWN.format(a='m')}" if own else ""
    answered = reference_answered(store, start, end, own)
    rows = [
        row
        for negative in (1, 0)
        for row in store.conn.execute(
            f"SELECT m.id, m.native_id, m.sentiment_label IS 'negative', {_ENGAGEMENT} FROM mentions m NOT INDEXED "
            f"WHERE m.created_at >= :start AND m.created_at < :end AND (m.sentiment_label IS 'negative') = :negative "
            f"{not_own} {_ORDER}",
            {
                "start": start,
                "end": end,
                "own": own_keys(own),
                "limit": CANDIDATES * limit,
                "negative": negative,
            },
        )
    ]
    rows.sort(key=lambda r: (not (r[2] and r[0] not in answered), -r[3], r[0]))
    return [
        (native, bool(negative), i in answered, engagement)
        for i, native, negative, engagement in rows[:limit]
    ]


def stories(
    store: Store, start: datetime, end: datetime, own: Sequence[tuple[str, str]], limit: int
) -> list[Story]:
    return [
        (s.lead.native_id, s.negative > 0, s.answered, s.engagement)
        for s in store.stories.stories(start, end, own, limit=limit)
    ]


def answer_kinds(store: Store, start: str, end: str, own: Sequence[tuple[str, str]]) -> dict[str, int]:
    """How many of the day's negatives are of each kind the unanswered count must tell apart."""
    reply = f"""EXISTS (SELECT 1 FROM mentions r WHERE r.network = m.network AND r.in_reply_to_id = m.native_id
        AND {_OWN.format(a="r")} AND r.created_at {{}} :start)"""
    thread = f"""EXISTS (SELECT 1 FROM mentions o WHERE o.network = m.network AND o.conversation_id = m.conversation_id
        AND {_OWN.format(a="o")} AND o.created_at > m.created_at)"""
    kinds = {
        "own": _OWN.format(a="m"),
        "reply only": f"NOT {_OWN.format(a='m')} AND {reply.format('>=')} AND NOT {thread}",
        "thread only": f"NOT {_OWN.format(a='m')} AND NOT {reply.format('>=')} AND {thread}",
        "answered twice": f"NOT {_OWN.format(a='m')} AND {reply.format('>=')} AND {thread}",
        "own and answered": f"{_OWN.format(a='m')} AND ({reply.format('>=')} OR {thread})",
        "replied before the day only": f"{reply.format('<')} AND NOT {reply.format('>=')} AND NOT {thread}",
    }
    return {
        kind: store.conn.execute(
            f"SELECT count(*) FROM mentions m WHERE m.sentiment_label = 'negative' AND m.created_at >= :start "
            f"AND m.created_at < :end AND {where}",
            {"start": start, "end": end, "own": own_keys(own)},
        ).fetchone()[0]
        for kind, where in kinds.items()
    }


def ranges() -> list[tuple[datetime, datetime]]:
    days = [day_bounds(day, ZoneInfo(zone)) for zone in ZONES for day in DAYS]
    return [
        *days,
        (T0 + timedelta(hours=7, minutes=7), T0 + timedelta(hours=30, minutes=7)),
    ]  # off the quarter hours


def check(store: Store) -> None:
    for start, end in ranges():
        lo, hi = utc_iso(start), utc_iso(end)
        for own in OWNS:
            for limit in (4, 30, 300):  # the last: every negative of the day
                assert stories(store, start, end, own, limit) == reference_stories(
                    store, lo, hi, own, limit
                ), (
                    start,
                    own,
                    limit,
                )


@pytest.mark.parametrize("seed", [11, 12])
def test_the_stories_equal_a_plain_query_through_updates_rescores_and_deletes(
    store: Store, seed: int
) -> None:
    history(store, seed=seed)
    start, end = day_bounds(DAYS[0], ZoneInfo("UTC"))
    assert len(stories(store, start, end, (), 30)) == 30  # a day that fills the lists
    owed = [s for s in stories(store, start, end, OWNS[2], 300) if s[1] and not s[2]]
    assert len(owed) > 30 and any(s[2] for s in stories(store, start, end, OWNS[2], 300))
    kinds = [answer_kinds(store, utc_iso(s), utc_iso(e), OWNS[2]) for s, e in ranges()[:2]]  # UTC's two days
    assert all(sum(k[kind] for k in kinds) > 0 for kind in kinds[0]), kinds  # every case is compared
    check(store)
    late_engagement(store, seed)
    check(store)
    rescore(store, seed)
    check(store)
    delete_some(store, seed)
    check(store)


def test_what_our_own_posts_answered_of_the_day(store: Store) -> None:
    """Answered by an own reply and again in its thread; our own negatives are no story; an own
    post before the day (a reply, a thread post) or on another network answers nothing; an own
    reply of the next morning does. Then replies, answers and owed mentions deleted or re-scored."""
    day = date(2026, 11, 2)
    at = datetime.combine(day, datetime.min.time(), UTC)
    store.sync_watches([("a", "aurora")])

    def post(native: str, hour: float, handle: str = "carla", reply: str | None = None,
             thread: str | None = None, network: str = "x") -> Mention:  # fmt: skip
        return Mention(network, native, f"aurora {native}", at + timedelta(hours=hour), url=f"https://t/{native}",
                       author_handle=handle, in_reply_to_id=reply, conversation_id=thread)  # fmt: skip

    negatives = [
        post("n1", 10, thread="c1"),  # replied to at 11, and own thread post at 12: answered twice
        post("n2", 10, thread="c2"),  # own thread post at 9: before it, owed
        post("n3", 10),  # replied to the evening before: owed
        post("n4", 13, handle="Brand"),  # our own, and replied to by ourselves
        post("n5", 12.5, thread="c1"),  # after our latest post in c1: owed
        post("n6", 14),  # replied to the next morning: answered
        post("n8", 10, thread="c3"),  # an own post in "c3" of another network: owed
        post("n9", 15),  # replied to; the reply is deleted later
        post("n10", 15, thread="c4"),  # answered in its thread, then re-scored neutral
        post("n11", 16),  # replied to, then deleted
        post("n12", 16),  # owed, then deleted
    ]
    ours = [
        post("o1", 11, "Brand", reply="n1"), post("o2", 12, "brand", thread="c1"),
        post("o3", 9, "Brand", thread="c2"), post("o4", -1, "Brand", reply="n3"),
        post("o5", 14, "Brand", reply="n4"), post("o6", 32, "Brand", reply="n6"),
        post("o8", 11, "Brand", thread="c3", network="mastodon"), post("o7", 16, "Brand", reply="n9"),
        post("o9", 17, "Brand", thread="c4"), post("o10", 17, "Brand", reply="n11"),
    ]  # fmt: skip
    for network in ("x", "mastodon"):
        mine = [m for m in [*negatives, *ours, post("n7", 10)] if m.network == network]
        store.save_page(Page(network, "a", mine))
    ids = dict(store.conn.execute("SELECT native_id, id FROM mentions").fetchall())
    store.set_sentiment([(ids[m.native_id], "negative", 0.9, "test", None) for m in negatives])
    store.set_sentiment([(ids["n7"], "neutral", 0.9, "test", None)])
    start, end = day_bounds(day, ZoneInfo("UTC"))
    own = (("x", "Brand"),)

    def owed() -> list[str]:
        got = stories(store, start, end, own, 30)
        assert got == reference_stories(store, utc_iso(start), utc_iso(end), own, 30)
        return sorted(native for native, negative, answered, _ in got if negative and not answered)

    def delete(native: str) -> None:
        with store.conn:
            store.conn.execute("DELETE FROM mention_watches WHERE mention_id = ?", (ids[native],))
            store.conn.execute("DELETE FROM mention_versions WHERE mention_id = ?", (ids[native],))
            store.conn.execute("DELETE FROM mentions WHERE id = ?", (ids[native],))

    assert owed() == ["n12", "n2", "n3", "n5", "n8"]
    delete("o7")  # the reply to n9 is gone: n9 is owed again
    assert owed() == ["n12", "n2", "n3", "n5", "n8", "n9"]
    store.set_sentiment(
        [(ids["n10"], "neutral", 0.9, "test", None), (ids["n2"], "positive", 0.9, "test", None)]
    )
    assert owed() == ["n12", "n3", "n5", "n8", "n9"]
    delete("n11")  # answered, gone: nothing changes
    assert owed() == ["n12", "n3", "n5", "n8", "n9"]
    delete("n12")  # owed, gone
    assert owed() == ["n3", "n5", "n8", "n9"]


# -- PostgreSQL tells the same stories ---------------------------------------------------------


def same_history(store: Store | PgStore, seed: int, n: int = 150) -> None:
    """``history``'s kind of mentions on either backend, with the same ids on both (pages in
    native id order), scored, clustered, and triaged."""
    rng = random.Random(seed)
    store.sync_watches([("a", "aurora"), ("b", "aurora")])
    for network in NETWORKS:
        ms = [mention(rng, network, i, 60 * 60) for i in range(n)]
        ms += [mention(rng, network, i, 15, BURST, (4, 6, 8, 10)) for i in range(n, n + 30)]
        ms += [Mention(network, f"{network}{i}", f"aurora copy {i % 3} of the same story", TIES,
                       author_handle=rng.choice(HANDLES), like_count=20) for i in range(n + 30, n + 50)]  # fmt: skip
        ms.sort(key=lambda m: m.native_id)
        store.save_page(
            Page(network, "a", ms, matches={m.native_id: rng.sample("ab", rng.randint(1, 2)) for m in ms})
        )
    ids = sorted(int(str(row[0])) for row in store.conn.execute("SELECT id FROM mentions").fetchall())
    store.set_sentiment([(i, rng.choice(LABELS[:4]), 0.9, "test", None) for i in ids if rng.random() < 0.9])
    assign_clusters(store)
    store.triage.set(ids[::37], "handled", now=T0 + timedelta(days=3))
    store.triage.set(ids[5::53], "escalated", "call back", now=T0 + timedelta(days=3, hours=1))
    store.triage.set(ids[7::97], "ignored", now=T0 + timedelta(days=3, hours=2))


def test_postgresql_tells_the_same_stories(tmp_path: Path, postgres_url: str) -> None:
    """The same history on both backends: the same stories (members, leads, answers, states, order)
    for days in three zones, a range off the quarter hours and four days (parts giving their share),
    own accounts by handle and by id, facets and limits; the same decided stories and author histories;
    again after late engagement, edits, a forgotten author and re-scoring."""
    facets = (
        NO_FILTERS,
        StoryFilters(network="x", sentiment="negative"),
        StoryFilters(watch="b", language="EN"),
    )
    spans = [day_bounds(DAYS[0], ZoneInfo(zone)) for zone in ("UTC", "Asia/Kathmandu")]
    spans += [ranges()[-1], (T0 + timedelta(minutes=3), T0 + timedelta(days=4, minutes=11))]
    authors = [(n, h) for n in NETWORKS for h in ("troll", "TROLL", "fan1", "77", "8", "nobody")]

    def told(store: Store | PgStore) -> list[object]:
        out: list[object] = []
        for start, end in spans:
            for own in OWNS:
                out.append(store.stories.triaged(start, end, own, 20))
                for f in facets:
                    for limit in (4, 30):
                        out += [
                            store.stories.stories(start, end, own, f, limit, done) for done in (False, True)
                        ]
        out += [store.stories.author_history(authors, T0 - timedelta(days=9), zone) for zone in ZONES[:3]]
        return out

    with Store.open(tmp_path / "listener.db") as sqlite, PgStore.open(postgres_url) as pg:
        for store in (sqlite, pg):
            same_history(store, 7)
        first = told(sqlite)
        assert sum(len(x) for x in first if isinstance(x, list)) > 500 and first == told(pg)
        for store in (sqlite, pg):
            late = [
                Mention("x", f"x{i}", f"aurora {i}{' edited' * (i % 8 == 0)}", T0, like_count=i % 9)
                for i in range(0, 150, 4)
            ]
            store.save_page(Page("x", "a", late))  # some texts edited: those are clustered anew
            assign_clusters(store)
            store.forget_author("mastodon", "troll")
            rng = random.Random(5)
            ids = sorted(int(str(row[0])) for row in store.conn.execute("SELECT id FROM mentions").fetchall())
            store.set_sentiment(
                [(i, rng.choice(LABELS), 0.7, "test2", None) for i in rng.sample(ids, len(ids) // 4)]
            )
        assert told(sqlite) == told(pg)
