"""Several daemons writing one PostgreSQL store (#22): the counts kept by triggers lose nothing.

Two writers save pages of the same authors, watches and 5-minute buckets at once, a scorer
scores them and an erasure request deletes one author's again and again, while a connection
polls the bucket change feed as the alert pass does. The kept counts must equal a GROUP BY over the mentions afterwards, and a series rebuilt only from the
reported changes must equal the stored one: a change committed out of order would be lost.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from listener.model import Mention, Page
from listener.records import utc_iso
from storage.pg.store import PgStore

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
WATCHES = ["brand", "complaints"]
END = T0 + timedelta(hours=2)


def page(rng: random.Random, writer: int, round_: int) -> Page:
    mentions = [
        Mention(
            "x", f"{writer}-{round_}-{i}", "aurora", T0 + timedelta(minutes=rng.randrange(120)),
            author_handle=f"author{rng.randrange(5)}", author_name=f"Name {rng.randrange(3)}",
        )
        for i in range(rng.randrange(1, 8))
    ]  # fmt: skip
    matches = {m.native_id: rng.sample(WATCHES, rng.randint(1, 2)) for m in mentions}
    return Page("x", "brand", mentions, matches=matches)


def run_together(jobs: list[Callable[[], None]]) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(jobs))

    def run(job: Callable[[], None]) -> None:
        try:
            barrier.wait(timeout=10)
            job()
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []


class Reader:
    """The alert pass's use of the feed: re-read each reported watch from its first changed bucket."""

    def __init__(self, store: PgStore) -> None:
        self.store, self.seen, self.rebuilt, self.polls = store, 0, 0, 0
        self.series: dict[str, dict[int, tuple[int, int, int]]] = {w: {} for w in WATCHES}

    def poll(self) -> None:
        changes = self.store.bucket_changes(self.seen)
        self.polls += 1
        stale = WATCHES if not changes.complete else list(changes.since)
        self.rebuilt += not changes.complete
        for watch in stale:
            lo = T0 if not changes.complete else datetime.fromtimestamp(changes.since[watch], UTC)
            kept = {at: c for at, c in self.series[watch].items() if at < lo.timestamp()}
            for at, *counts in self.store.bucket_counts(watch, lo, END, 300):
                kept[at] = (counts[0], counts[1], counts[2])
            self.series[watch] = kept
        self.store.forget_bucket_changes(changes.latest)
        self.seen = changes.latest


def expected_authors(store: PgStore) -> list[tuple[Any, ...]]:
    rows = store.conn.execute(
        "SELECT network, author_handle, count(*), count(*) FILTER (WHERE sentiment_label = 'negative'), "
        "count(*) FILTER (WHERE sentiment_label IS NULL), min(created_at), max(created_at) "
        "FROM mentions GROUP BY 1, 2 ORDER BY 1, 2"
    ).fetchall()
    return [(n, h, c, neg, u, utc_iso(lo), utc_iso(hi)) for n, h, c, neg, u, lo, hi in rows]


def test_writers_a_scorer_and_an_erasure_keep_exact_counts_and_a_poller_misses_no_change(
    postgres_url: str,
) -> None:
    stores = [PgStore.open(postgres_url) for _ in range(5)]
    stores[0].sync_watches([(w, w) for w in WATCHES])
    reader = Reader(stores[3])
    done = threading.Event()
    forgotten: list[int] = []

    def writer(n: int) -> Callable[[], None]:
        def write() -> None:
            rng = random.Random(n)
            for round_ in range(25):
                stores[n].save_page(page(rng, n, round_))

        return write

    def scorer() -> None:
        rng = random.Random(7)
        while not done.is_set():
            todo = stores[2].unscored(limit=10)
            stores[2].set_sentiment(
                [(i, rng.choice(["negative", "neutral"]), 0.5, "m", None) for i, _, _ in todo]
            )

    def forgetter() -> None:  # an erasure request, again and again, of one of the writers' authors
        while not done.is_set():
            forgotten.append(stores[4].forget_author("x", "author0"))

    def poller() -> None:
        while not done.is_set():
            reader.poll()

    def writers() -> None:
        run_together([writer(0), writer(1)])
        done.set()

    run_together([writers, scorer, forgetter, poller])
    reader.poll()
    store = stores[0]
    assert store.count_mentions() > 50 and reader.polls > 10 and reader.rebuilt <= 1
    assert store.scoring_backlog()[0] < store.count_mentions()  # the scorer ran alongside
    assert sum(forgotten) > 0  # and so did the erasure
    for watch in WATCHES:
        stored = {at: (v, n, u) for at, v, n, u in store.bucket_counts(watch, T0, END, 300)}
        truth: dict[int, list[int]] = {}
        for created, label in store.conn.execute(
            "SELECT m.created_at, m.sentiment_label FROM mentions m JOIN mention_watches mw ON mw.mention_id = m.id "
            "JOIN watches w ON w.id = mw.watch_id WHERE w.name = %s",
            (watch,),
        ).fetchall():
            bucket = truth.setdefault(int(created.timestamp()) // 300 * 300, [0, 0, 0])
            bucket[0] += 1
            bucket[1] += label == "negative"
            bucket[2] += label is None
        assert stored == {at: tuple(c) for at, c in truth.items()}, watch
        assert reader.series[watch] == stored, watch
    authors = [
        (a.network, a.handle, a.mentions, a.negative, a.unscored, a.first_seen, a.last_seen)
        for a in store.authors.all()
    ]
    assert authors == expected_authors(store)
    names = {f"Name {n}" for n in range(3)}
    assert all(len(set(a.names)) == len(a.names) and set(a.names) <= names for a in store.authors.all())
    assert all(len(a.names) == 3 for a in store.authors.all() if a.handle != "author0")
    for s in stores:
        s.close()
