"""Several daemons sending from one PostgreSQL outbox (#22): each message is sent once.

SQLite has one writer; on PostgreSQL every daemon's store claims what ``pending`` gives it
(storage.pg.alerts), so two daemons never send the same message and a dead one's wait.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from listener.records import AlertChange
from storage.pg.alerts import CLAIM
from storage.pg.store import PgStore

T0 = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
CHANNELS = [f"hook{i}" for i in range(8)]


def change(n: int) -> AlertChange:
    at = T0 + timedelta(minutes=n)
    return AlertChange(
        watch=f"w{n}", network="", kind="volume", state="opened", severity="warning", started_at=at, at=at,
        observed=9, expected=1, summary=f"incident {n}", explanation={},
    )  # fmt: skip


def test_two_daemons_draining_one_outbox_send_each_message_once(postgres_url: str) -> None:
    """Both wait at a barrier, then loop as ``deliver_pending`` does (small batches, so they interleave)."""
    stores = [PgStore.open(postgres_url), PgStore.open(postgres_url)]
    try:
        for n in range(10):
            stores[0].alerts.record(change(n), CHANNELS)
        sent: list[list[int]] = [[], []]
        errors: list[BaseException] = []
        barrier = threading.Barrier(2)
        now = T0 + timedelta(hours=1)

        def drain(k: int) -> None:
            try:
                barrier.wait(timeout=10)
                while batch := stores[k].alerts.pending(now, limit=3):
                    for item in batch:
                        sent[k].append(item.id)
                        stores[k].alerts.attempted(item.id, None, None, now=now)
            except BaseException as exc:  # surfaced below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=drain, args=(k,)) for k in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        assert sorted(sent[0] + sent[1]) == list(range(1, 81))  # every message, none twice
        assert stores[0].conn.execute(
            "SELECT count(*), count(DISTINCT delivery_id) FROM delivery_attempts"
        ).fetchone() == (80, 80)
    finally:
        for store in stores:
            store.close()


def test_a_claim_holds_while_its_daemon_works_and_lapses_when_it_dies(postgres_url: str) -> None:
    with PgStore.open(postgres_url) as a, PgStore.open(postgres_url) as b:
        a.alerts.record(change(0), ["email", "webhook", "apprise"])
        batch = a.alerts.pending(T0)
        assert len(batch) == 3 and b.alerts.pending(T0) == []
        assert a.alerts.pending(T0) == batch  # the claimant asks again: the same, as on SQLite
        later = T0 + CLAIM - timedelta(minutes=1)
        a.alerts.attempted(batch[0].id, None, None, now=later)  # a try renews the rest of the batch
        assert b.alerts.pending(T0 + CLAIM) == []
        # a dies here: its last claims lapse one CLAIM after its last try, and b sends the rest
        assert [d.id for d in b.alerts.pending(later + CLAIM)] == [d.id for d in batch[1:]]
        assert a.alerts.pending(later + CLAIM) == []


def test_two_daemons_recording_the_same_change_queue_its_news_once(postgres_url: str) -> None:
    """Each round both record the same new incident at once: one of them finds it news."""
    stores = [PgStore.open(postgres_url), PgStore.open(postgres_url)]
    try:
        news: list[bool] = []
        errors: list[BaseException] = []
        for n in range(20):
            barrier = threading.Barrier(2)

            def record(k: int, n: int, barrier: threading.Barrier) -> None:
                try:
                    barrier.wait(timeout=10)
                    news.append(stores[k].alerts.record(change(n), ["email"])[1])
                except BaseException as exc:  # surfaced below, in the test's thread
                    errors.append(exc)

            threads = [threading.Thread(target=record, args=(k, n, barrier)) for k in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
        assert errors == [] and sorted(news) == [False] * 20 + [True] * 20
        assert len(stores[0].alerts.pending(T0 + timedelta(hours=1))) == 20
    finally:
        for store in stores:
            store.close()
