"""The digest's lists of a day read ``mentions_engaged`` part by part (migration 20) and say
exactly what a plain query over the day's rows says.

The reference queries below are the digest's earlier statements, written out: every mention
of the range, filtered and sorted whole. They are compared with ``store.digest`` on random
histories (ties in engagement and in time, handles in mixed case, own accounts by handle and
by id, own replies and own posts in threads) after late engagement updates, re-scoring and
deletions, for days in time zones that start on the hour, the half hour and the quarter hour,
and for a range off the quarter hours. Then: the walk's cost does not follow the day's mentions.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from listener.digest.build import day_bounds
from listener.model import Mention, Page
from listener.records import utc_iso
from storage import Store
from storage.rows import NegativeAuthor, TopMention
from tests.harness import vm_steps
from tests.test_query_plans_digest import plan_of

T0 = datetime(2026, 10, 30, 20, 0, tzinfo=UTC)
NETWORKS = ("x", "mastodon", "reddit")
HANDLES = ("Brand", "brand", "fan1", "Fan1", "fan2", "troll", "TROLL", "t3", "t4", None)
IDS = (None, None, "77", "8", "9")
LABELS = ("negative", "negative", "neutral", "positive", None)
OWNS: tuple[tuple[tuple[str, str], ...], ...] = ((), (("x", "Brand"),), (("x", "brand"), ("mastodon", "77")))
ZONES = ("UTC", "Asia/Kolkata", "Asia/Kathmandu", "America/St_Johns", "Europe/Rome")
DAYS = (date(2026, 10, 31), date(2026, 11, 1))  # Europe/Rome's 1 November follows a 25-hour day

_ENGAGEMENT = (
    "coalesce(m.like_count, 0) + coalesce(m.repost_count, 0) + coalesce(m.reply_count, 0) "
    "+ coalesce(m.quote_count, 0)"
)
_COLUMNS = (
    f"m.id, m.network, m.native_id, m.url, m.author_handle, m.text, m.created_at, m.sentiment_label, "
    f"{_ENGAGEMENT}, (SELECT group_concat(w.name, ', ') FROM mention_watches mw JOIN watches w ON w.id = "
    "mw.watch_id WHERE mw.mention_id = m.id)"
)
_OWN = (
    "(ifnull({a}.network || char(31) || lower({a}.author_handle) IN (SELECT value FROM json_each(:own)), 0) "
    "OR ifnull({a}.network || char(31) || {a}.author_id IN (SELECT value FROM json_each(:own)), 0))"
)
_ORDER = f"ORDER BY {_ENGAGEMENT} DESC, m.created_at DESC, m.id DESC LIMIT :limit"


def mention(rng: random.Random, network: str, i: int, span_minutes: int) -> Mention:
    """Coarse times and small counts, so that engagement and time tie often."""
    return Mention(
        network, f"{network}{i}", f"aurora {i}", T0 + timedelta(minutes=rng.randrange(span_minutes)),
        url=f"https://{network}.test/{i}", author_handle=rng.choice(HANDLES), author_id=rng.choice(IDS),
        in_reply_to_id=f"{network}{rng.randrange(i)}" if i and rng.random() < 0.3 else None,
        conversation_id=f"c{rng.randrange(25)}" if rng.random() < 0.8 else None,
        like_count=rng.choice((None, 0, 1, 2, 3, 5)), repost_count=rng.choice((None, 0, 1)),
        reply_count=rng.choice((None, 0, 2)), quote_count=rng.choice((None, None, 1)),
    )  # fmt: skip


def history(store: Store, n: int = 700, seed: int = 11) -> None:
    """``n`` mentions a network over two and a half days, scored (mostly), matched by two watches."""
    rng = random.Random(seed)
    store.sync_watches([("a", "aurora"), ("b", "aurora")])
    for network in NETWORKS:
        ms = [mention(rng, network, i, 60 * 60) for i in range(n)]
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


def reference_top(
    store: Store, start: str, end: str, own: Sequence[tuple[str, str]], limit: int
) -> list[TopMention]:
    not_own = f"AND NOT {_OWN.format(a='m')}" if own else ""
    rows = store.conn.execute(
        f"SELECT {_COLUMNS} FROM mentions m NOT INDEXED WHERE m.created_at >= :start AND m.created_at < :end "
        f"{not_own} {_ORDER}",
        {"start": start, "end": end, "own": own_keys(own), "limit": limit},
    )
    return [TopMention(*row) for row in rows]


def reference_unanswered(
    store: Store, start: str, end: str, own: Sequence[tuple[str, str]], limit: int
) -> tuple[int, list[TopMention]]:
    """Negative, not ours, with no own reply since the day's start and no later own post in its
    conversation. (A reply cannot precede what it answers: own posts before the day answer none
    of its mentions, replies as threads; the random histories do hold such replies.)"""
    own_posts = [row[0] for row in store.conn.execute(
        "SELECT id FROM mentions NOT INDEXED WHERE created_at >= :start AND (network || char(31) || "
        "lower(author_handle) IN (SELECT value FROM json_each(:own)) OR network || char(31) || author_id IN "
        "(SELECT value FROM json_each(:own)))",
        {"start": start, "own": own_keys(own)},
    )]  # fmt: skip
    answered = f"""AND NOT {_OWN.format(a="m")} AND NOT (
        EXISTS (SELECT 1 FROM mentions r NOT INDEXED WHERE r.network = m.network AND r.in_reply_to_id = m.native_id
                AND r.created_at >= :start AND {_OWN.format(a="r")})
        OR (m.conversation_id IS NOT NULL AND EXISTS (
            SELECT 1 FROM mentions o WHERE o.id IN (SELECT value FROM json_each(:own_posts))
              AND o.network = m.network AND o.conversation_id = m.conversation_id AND o.created_at > m.created_at)))"""
    rows = store.conn.execute(
        f"SELECT {_COLUMNS}, count(*) OVER () FROM mentions m NOT INDEXED WHERE m.sentiment_label = 'negative' "
        f"AND m.created_at >= :start AND m.created_at < :end {answered if own else ''} {_ORDER}",
        {
            "start": start,
            "end": end,
            "own": own_keys(own),
            "limit": limit,
            "own_posts": json.dumps(own_posts),
        },
    ).fetchall()
    return (int(rows[0][-1]) if rows else 0), [TopMention(*row[:-1]) for row in rows]


def reference_authors(
    store: Store, start: str, end: str, own: Sequence[tuple[str, str]], at_least: int, limit: int
) -> list[NegativeAuthor]:
    """Grouped by network and handle as written; the url is that of the latest mention counted
    (the earliest id among equally late ones not ours)."""
    not_own, not_own_l = (f"AND NOT {_OWN.format(a=a)}" if own else "" for a in "ml")
    rows = store.conn.execute(
        f"""SELECT g.network, g.author_handle, g.n, g.latest,
              (SELECT l.url FROM mentions l NOT INDEXED WHERE l.network = g.network AND l.author_handle = g.author_handle
               AND l.sentiment_label = 'negative' AND l.created_at = g.latest {not_own_l} ORDER BY l.id LIMIT 1)
            FROM (SELECT m.network, m.author_handle, count(*) AS n, max(m.created_at) AS latest
                  FROM mentions m NOT INDEXED
                  WHERE m.sentiment_label = 'negative' AND m.created_at >= :start AND m.created_at < :end
                    AND m.author_handle IS NOT NULL {not_own}
                  GROUP BY m.network, m.author_handle HAVING n >= :at_least) g
            ORDER BY g.n DESC, g.network, g.author_handle LIMIT :limit""",
        {"start": start, "end": end, "own": own_keys(own), "at_least": at_least, "limit": limit},
    )
    return [NegativeAuthor(net, handle, n, url) for net, handle, n, _, url in rows]


def test_negative_authors_subtract_our_own_negatives_exactly(store: Store) -> None:
    """Our own negatives leave the groups they fall in, found from our own posts of the day: by
    handle ("Brand" and "BRAND", both ours, leave whole), by author id under another handle (a
    group shared with others, that drops below ``at_least``, or whose latest was ours), and
    equally late ones (the lowest id not ours, though ours is lower). A group that drops lets one
    ranked below it in the plain count into the list; a range off the quarter hours agrees."""
    day = date(2026, 11, 2)
    at = datetime.combine(day, datetime.min.time(), UTC)

    def neg(native: str, hour: int, handle: str, author_id: str | None = None) -> Mention:
        return Mention("x", native, f"aurora {native}", at + timedelta(hours=hour), url=f"https://t/{native}",
                       author_handle=handle, author_id=author_id)  # fmt: skip

    store.sync_watches([("a", "aurora")])
    store.save_page(Page("x", "a", [
        *(neg(f"f{i}", i, "fan1", "77" if i > 2 else None) for i in range(1, 6)),  # 5, of which 3 ours: 2
        neg("t0", 9, "troll", "77"), neg("t1", 6, "troll"), neg("t2", 9, "troll"), neg("t3", 9, "troll"),
        *(neg(f"m{i}", i, "mixed") for i in range(1, 5)), neg("m5", 8, "mixed", "77"),  # ours the latest
        *(neg(f"p{i}", i, "plain") for i in range(3)),
        *(neg(f"b{i}", i, "Brand") for i in range(4)), *(neg(f"B{i}", i, "BRAND") for i in range(3)),
    ]))  # fmt: skip
    ids = [row[0] for row in store.conn.execute("SELECT id FROM mentions")]
    store.set_sentiment([(i, "negative", 0.9, "test", None) for i in ids])
    own = (("x", "brand"), ("x", "77"))
    day_range = day_bounds(day, ZoneInfo("UTC"))
    off_quarter = (day_range[0] - timedelta(minutes=7), day_range[1] - timedelta(minutes=7))

    def row(handle: str, n: int, native: str) -> NegativeAuthor:
        return NegativeAuthor("x", handle, n, f"https://t/{native}")

    expected = {
        (3, 10): [row("mixed", 4, "m4"), row("plain", 3, "p2"), row("troll", 3, "t2")],
        (2, 2): [row("mixed", 4, "m4"), row("plain", 3, "p2")],  # fan1 and Brand counted 5 and 4, not ours
        (0, 10): [row("mixed", 4, "m4"), row("plain", 3, "p2"), row("troll", 3, "t2"), row("fan1", 2, "f2")],
    }
    for start, end in (day_range, off_quarter):
        for (at_least, limit), authors in expected.items():
            got = store.digest.negative_authors(start, end, own, at_least, limit)
            assert (
                got == authors == reference_authors(store, utc_iso(start), utc_iso(end), own, at_least, limit)
            )


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
            for limit in (4, 30):
                assert store.digest.top_mentions(start, end, own, limit) == reference_top(
                    store, lo, hi, own, limit
                )
                assert store.digest.unanswered_negative(start, end, own, limit) == reference_unanswered(
                    store, lo, hi, own, limit
                ), (start, own, limit)
            for at_least, limit in ((2, 3), (3, 10)):
                assert store.digest.negative_authors(start, end, own, at_least, limit) == reference_authors(
                    store, lo, hi, own, at_least, limit
                ), (start, own)


@pytest.mark.parametrize("seed", [11, 12])
def test_the_day_lists_equal_a_plain_query_through_updates_rescores_and_deletes(
    store: Store, seed: int
) -> None:
    history(store, seed=seed)
    start, end = day_bounds(DAYS[0], ZoneInfo("UTC"))
    assert len(store.digest.top_mentions(start, end, (), 30)) == 30  # a day that fills the lists
    assert store.digest.unanswered_negative(start, end, OWNS[2], 30)[0] > 30
    kinds = [answer_kinds(store, utc_iso(s), utc_iso(e), OWNS[2]) for s, e in ranges()[:2]]  # UTC's two days
    assert all(sum(k[kind] for k in kinds) > 0 for kind in kinds[0]), kinds  # every case is compared
    check(store)
    late_engagement(store, seed)
    check(store)
    rescore(store, seed)
    check(store)
    delete_some(store, seed)
    check(store)


def test_a_day_ten_times_denser_costs_the_lists_about_the_same(store: Store) -> None:
    """Top mentions and unanswered negatives (list and count, no own accounts) read the day's
    parts, not its mentions: ten times the mentions of a day, about the same SQLite work. (A
    part holds more than the list's length on both days, as at 1M and 10M with the digest's 30
    and 60: on a quieter day a walk reads its whole part.)"""
    rng = random.Random(3)
    store.sync_watches([("a", "aurora")])
    quiet, busy = date(2026, 11, 2), date(2026, 11, 3)
    for day, n in ((quiet, 2000), (busy, 20000)):
        start = datetime.combine(day, datetime.min.time(), UTC)
        ms = [Mention("x", f"{day}-{i}", "aurora", start + timedelta(seconds=rng.randrange(86400)),
                      like_count=rng.randrange(400)) for i in range(n)]  # fmt: skip
        store.save_page(Page("x", "a", ms, matches={m.native_id: ["a"] for m in ms}))
    ids = [row[0] for row in store.conn.execute("SELECT id FROM mentions")]
    store.set_sentiment([(i, rng.choice(LABELS[:4]), 0.9, "test", None) for i in ids])
    cost = {}
    for day in (quiet, busy):
        start, end = day_bounds(day, ZoneInfo("UTC"))
        cost[day] = (
            vm_steps(store.conn, lambda s=start, e=end: store.digest.top_mentions(s, e, (), 3)),  # type: ignore[misc]
            vm_steps(store.conn, lambda s=start, e=end: store.digest.unanswered_negative(s, e, (), 3)),  # type: ignore[misc]
        )
        assert store.digest.top_mentions(start, end, (), 30) == reference_top(
            store, utc_iso(start), utc_iso(end), (), 30
        )
    for quiet_cost, busy_cost in zip(cost[quiet], cost[busy], strict=True):
        assert busy_cost < 1.5 * quiet_cost, cost


def test_the_day_lists_walk_mentions_engaged(store: Store) -> None:
    history(store, n=200)
    start, end = day_bounds(DAYS[0], ZoneInfo("Asia/Kathmandu"))
    own = OWNS[2]
    for call in (
        lambda: store.digest.top_mentions(start, end, own, 30),
        lambda: store.digest.unanswered_negative(start, end, own, 30),
        lambda: store.digest.negative_authors(start, end, own),
    ):
        lines = [line for _, line in plan_of(store, call)]
        walked = (
            "USING INDEX mentions_engaged (<expr>=? AND <expr>=?)",
            "USING COVERING INDEX mentions_negative_day",
        )
        assert any(w in line for line in lines for w in walked), lines
        assert not any(line.startswith("SCAN m ") or "mentions_day" in line for line in lines), lines


def test_the_unanswered_count_settles_each_negative_once(store: Store) -> None:
    """Answered by an own reply and again in its thread, ours and answered: settled once each; an
    own post before the day (a reply, a thread post) or on another network answers nothing; an
    own reply of the next morning does. Then replies, answers and owed mentions deleted or re-scored."""
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

    def owed() -> tuple[int, list[str]]:
        count, rows = store.digest.unanswered_negative(start, end, own, 30)
        assert (count, rows) == reference_unanswered(store, utc_iso(start), utc_iso(end), own, 30)
        return count, sorted(r.native_id for r in rows)

    def delete(native: str) -> None:
        with store.conn:
            store.conn.execute("DELETE FROM mention_watches WHERE mention_id = ?", (ids[native],))
            store.conn.execute("DELETE FROM mention_versions WHERE mention_id = ?", (ids[native],))
            store.conn.execute("DELETE FROM mentions WHERE id = ?", (ids[native],))

    assert owed() == (5, ["n12", "n2", "n3", "n5", "n8"])
    delete("o7")  # the reply to n9 is gone: n9 is owed again
    assert owed() == (6, ["n12", "n2", "n3", "n5", "n8", "n9"])
    store.set_sentiment(
        [(ids["n10"], "neutral", 0.9, "test", None), (ids["n2"], "positive", 0.9, "test", None)]
    )
    assert owed() == (5, ["n12", "n3", "n5", "n8", "n9"])
    delete("n11")  # answered, gone: nothing changes
    assert owed() == (5, ["n12", "n3", "n5", "n8", "n9"])
    delete("n12")  # owed, gone
    assert owed() == (4, ["n3", "n5", "n8", "n9"])


def test_a_day_ten_times_denser_costs_the_unanswered_count_with_own_accounts_about_the_same(
    tmp_path: Path,
) -> None:
    """The same day with 2,000 and with 20,000 mentions, our own account posting the same on
    both (replies and thread posts) and conversations of the same size: the unanswered count
    and list with own accounts cost about the same SQLite work, and equal the plain query."""
    day = date(2026, 11, 2)
    start, end = day_bounds(day, ZoneInfo("UTC"))
    own = (("x", "Brand"),)
    cost = []
    for n in (2000, 20000):
        rng = random.Random(5)
        with Store.open(tmp_path / f"{n}.db") as store:
            store.sync_watches([("a", "aurora")])
            ms = [Mention("x", f"m{i}", "aurora", start + timedelta(seconds=rng.randrange(86400)),
                          conversation_id=f"c{rng.randrange(n // 5)}" if rng.random() < 0.5 else None,
                          like_count=rng.randrange(400)) for i in range(n)]  # fmt: skip
            ours = [Mention("x", f"o{i}", "aurora", start + timedelta(seconds=rng.randrange(86400)),
                            author_handle="Brand", in_reply_to_id=f"m{rng.randrange(n)}" if i % 2 else None,
                            conversation_id=None if i % 2 else f"c{rng.randrange(n // 5)}") for i in range(40)]  # fmt: skip
            store.save_page(Page("x", "a", [*ms, *ours]))
            ids = [row[0] for row in store.conn.execute("SELECT id FROM mentions")]
            store.set_sentiment([(i, rng.choice(LABELS[:4]), 0.9, "test", None) for i in ids])
            if n == 2000:  # the plain query reads every mention per negative one: the quiet day only
                kinds = answer_kinds(store, utc_iso(start), utc_iso(end), own)
                assert kinds["reply only"] and kinds["thread only"] and kinds["own"], kinds
                assert store.digest.unanswered_negative(start, end, own, 30) == reference_unanswered(
                    store, utc_iso(start), utc_iso(end), own, 30
                )
            cost.append(
                vm_steps(store.conn, lambda s=store: s.digest.unanswered_negative(start, end, own, 3))
            )  # type: ignore[misc]
    assert cost[1] < 1.5 * cost[0], cost
