"""The daemon's kept series (``SeriesMemory``) find exactly what a pass that reads everything finds.

Two real databases get the same mentions, pass after pass: a calm week, then a surge of
complaints that arrive late, are scored a pass later, and partly erased. One is evaluated
with the memory the daemon keeps (changed buckets only, scorers updated in place), the
other from scratch each time; every pass must record the same alert changes.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from listener.alerts.evaluate import evaluate
from listener.alerts.memory import SeriesMemory
from listener.alerts.settings import AlertSettings
from listener.model import Mention, Page, SaveResult
from storage import Store
from storage.pg.store import PgStore
from tests.backends import Backend
from tests.test_evaluate import SURGE, WATCH, history, store_all, surge

STEP = timedelta(minutes=5)


def arrivals(rng: random.Random, start: datetime, end: datetime) -> list[tuple[Mention, str]]:
    """Complaints from ``start`` to ``end`` at a rate that climbs for two hours, then calms down."""
    out, t, i = [], start, 0
    while t < end:
        hours = (t - start).total_seconds() / 3600
        rate = 0.5 + (6.0 * hours if hours < 2 else max(0.3, 12.0 - 3.0 * (hours - 2)))  # per minute
        t += timedelta(seconds=rng.expovariate(rate / 60))
        angry = rng.random() < (0.7 if 0.5 < hours < 3 else 0.1)
        text = "aurora rimborso negato vergogna" if angry else "aurora caffè buono"
        out.append(
            (
                Mention("x", f"a{i}", text, t, author_handle=f"late{i % 40}"),
                "negative" if angry else "neutral",
            )
        )
        i += 1
    return [(m, label) for m, label in out if m.created_at < end]


def twin(backend: Backend, request: pytest.FixtureRequest) -> Any:
    """A second, empty store of the backend's kind: the same rows get the same ids only on the same backend.

    (PostgreSQL's sequence also spends a number on each mention it had already stored.)
    """
    if backend.name == "sqlite":
        return Store.open(request.getfixturevalue("tmp_path") / "fresh.db")
    server = request.getfixturevalue("postgres_server")
    return PgStore.open(server.url(server.create_database()))


def save(store: Any, items: list[tuple[Mention, str]]) -> None:
    if items:
        store.save_page(
            Page("x", "brand", [m for m, _ in items], matches={m.native_id: ["brand"] for m, _ in items})
        )


def score(store: Any, items: list[tuple[Mention, str]]) -> None:
    ids = dict(store.conn.execute("SELECT native_id, id FROM mentions WHERE sentiment_label IS NULL"))
    store.set_sentiment(
        [(ids[m.native_id], label, 0.9, "test", None) for m, label in items if m.native_id in ids]
    )


def changes(found: object) -> list[tuple[object, ...]]:
    return [
        (c.kind, c.state, c.severity, c.started_at, c.resolved_at, c.observed, c.expected, c.summary,
         c.explanation)
        for c in found.changes  # type: ignore[attr-defined]
    ]  # fmt: skip


def edit_baseline(store: Any, calm: list[tuple[Mention, str]]) -> None:
    """The last calm day's posts are edited to say what the surge says (the explanation's baseline moves)."""
    edited = [
        replace(m, text="aurora rimborso negato vergogna")
        for m, _ in calm
        if m.created_at > SURGE - timedelta(days=1)
    ]
    save(store, [(m, "neutral") for m in edited])


def test_kept_series_record_what_a_full_pass_records(tmp_path: Path) -> None:
    """On SQLite only, for the suite's time (20-40 s a backend): each kind of change it feeds the
    memory is a case of tests/test_storage_buckets.py, and the memory runs on PostgreSQL below."""
    kept, fresh = Store.open(tmp_path / "kept.db"), Store.open(tmp_path / "fresh.db")
    calm = history(random.Random(5))
    for store in (kept, fresh):
        store_all(store, calm)
    wave = arrivals(random.Random(8), SURGE, SURGE + timedelta(hours=7))
    memory, settings = SeriesMemory(), AlertSettings(channels=("email",))
    unscored: list[tuple[Mention, str]] = []
    now, seen, total = SURGE, 0, 0
    while now < SURGE + timedelta(hours=7):
        now += STEP
        # What was posted up to a minute ago arrives now; one in five arrives 20 minutes late.
        due = [x for x in wave[seen:] if x[0].created_at < now - timedelta(minutes=1)]
        seen += len(due)
        late = [
            x
            for x in due
            if int(x[0].native_id[1:]) % 5 == 0 and x[0].created_at > now - timedelta(minutes=20)
        ]
        wave[seen:seen] = late  # they come back round
        arrived = [x for x in due if x not in late]
        for store in (kept, fresh):
            score(store, unscored)  # sentiment arrives a pass after its mention
            save(store, arrived)
            if now == SURGE + timedelta(hours=4):
                store.forget_author("x", "late7")  # an erasure request mid-incident
            if now == SURGE + timedelta(hours=2):
                edit_baseline(store, calm)
        unscored = arrived
        for store in (kept, fresh):  # the source's runs, for the health checks' kept times
            store.finish_run(store.start_run("x", "brand", now=now), SaveResult(), 0, now=now)
        a = evaluate(kept, [WATCH], [("x", "brand")], settings, now, memory=memory)
        b = evaluate(fresh, [WATCH], [("x", "brand")], settings, now)
        assert changes(a) == changes(b), now
        times = memory.times("x", "brand")  # kept only while the watch gets nothing new
        assert times is None or times.newest == fresh.newest_mentions([("x", "brand")])[("x", "brand")]
        total += len(a.changes)
    assert total >= 3  # the surge opened, grew and resolved: the comparison covered incidents
    assert kept.bucket_changes(0).since == {}  # the memory read its changes and let them go
    kept.close()
    fresh.close()


def test_a_memory_that_missed_changes_reads_everything_again(
    backend: Backend, request: pytest.FixtureRequest
) -> None:
    kept, fresh = backend.store, twin(backend, request)
    memory, settings = SeriesMemory(), AlertSettings()
    for store in (kept, fresh):
        store_all(store, history(random.Random(5)))
    evaluate(kept, [WATCH], [], settings, SURGE, memory=memory)
    evaluate(fresh, [WATCH], [], settings, SURGE)
    for store in (kept, fresh):
        store_all(store, surge(120, 30))
    kept.forget_bucket_changes(10**9)  # read by someone else (another daemon), or capped
    assert not kept.bucket_changes(1).complete
    now = SURGE + timedelta(minutes=35)
    found = changes(evaluate(kept, [WATCH], [], settings, now, memory=memory))
    assert found == changes(evaluate(fresh, [WATCH], [], settings, now))
    assert any(kind == "volume" for kind, *_ in found)
    fresh.close()


def test_kept_mention_times_find_the_same_silence_and_are_read_once(tmp_path: Path) -> None:
    """A source falls silent: health says so with the memory as without, reading its times once.

    SQLite only: the reads are counted with SQLite's trace callback.
    """
    kept, fresh = Store.open(tmp_path / "kept.db"), Store.open(tmp_path / "fresh.db")
    rng = random.Random(3)  # a quiet watch: a mention every half hour or so for a week, then nothing
    start = SURGE - timedelta(days=9)
    calm = [(Mention("x", f"q{i}", "aurora caffè", start + timedelta(minutes=30 * i + rng.random() * 20)), "neutral")
            for i in range(7 * 48)]  # fmt: skip
    for store in (kept, fresh):
        store_all(store, calm)
    reads: list[str] = []
    kept.conn.set_trace_callback(lambda sql: reads.append(sql) if "FROM watch_times WHERE" in sql else None)
    memory, settings = SeriesMemory(), AlertSettings()
    now, opened = SURGE - timedelta(days=2), []
    while now < SURGE:
        now += timedelta(hours=1)
        for store in (kept, fresh):  # the collector keeps looking; nothing new comes
            store.finish_run(store.start_run("x", "brand", now=now), SaveResult(), 0, now=now)
        a = evaluate(kept, [WATCH], [("x", "brand")], settings, now, memory=memory)
        assert changes(a) == changes(evaluate(fresh, [WATCH], [("x", "brand")], settings, now)), now
        opened += [c.kind for c in a.changes if c.state == "open"]
    assert "health:quiet" in opened
    assert len(reads) == 1
    kept.close()
    fresh.close()


def test_a_watch_gone_from_the_config_leaves_nothing_kept(backend: Backend) -> None:
    store = backend.store
    store_all(store, history(random.Random(5)))
    memory, settings = SeriesMemory(), AlertSettings()
    evaluate(store, [WATCH], [], settings, SURGE, memory=memory)
    assert memory.nbytes > 100_000  # nine days of 5-minute buckets and two detectors' state
    evaluate(store, [], [], settings, SURGE + STEP, memory=memory)
    assert memory.nbytes == 0
