"""An alert pass over a real database: the surge is caught, explained, queued once; unscored waits."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from listener.alerts.evaluate import evaluate
from listener.alerts.settings import AlertSettings
from listener.model import Mention, Page, Watch
from listener.query import parse
from storage import Store
from tests.backends import Backend

START = datetime(2026, 11, 10, tzinfo=UTC)
SURGE = START + timedelta(days=9, hours=15)
WATCH = Watch("brand", "aurora", parse("aurora"))
CALM = [
    "aurora caffè buono stamattina",
    "provato il nuovo aurora",
    "aurora apre a torino",
    "good aurora coffee",
]


def history(rng: random.Random) -> list[tuple[Mention, str]]:
    """Nine days of calm chatter with a daily rhythm, about 10% negative."""
    out = []
    t = START
    i = 0
    while t < SURGE:
        rate = 0.6 + 0.5 * math.sin((t.hour - 6) / 24 * 2 * math.pi)  # mentions per minute
        t += timedelta(seconds=rng.expovariate(max(rate, 0.05) / 60))
        label = "negative" if rng.random() < 0.1 else "neutral"
        out.append(
            (Mention("x", f"c{i}", rng.choice(CALM), t, author_handle=f"user{rng.randint(1, 500)}"), label)
        )
        i += 1
    return [(m, label) for m, label in out if m.created_at < SURGE]


def surge(n: int, minutes: int) -> list[tuple[Mention, str]]:
    angry = "aurora rimborso negato #boicottaaurora vergogna"
    return [
        (Mention("x", f"s{i}", angry, SURGE + timedelta(seconds=i * minutes * 60 / n), author_handle=f"angry{i % 7}",
                 url=f"https://x.com/angry{i % 7}/status/{i}", like_count=i), "negative")
        for i in range(n)
    ]  # fmt: skip


def store_all(store: Any, items: list[tuple[Mention, str]], score: bool = True) -> None:
    store.sync_watches([("brand", "aurora")])
    mentions = [m for m, _ in items]
    for start in range(0, len(mentions), 1000):
        chunk = mentions[start : start + 1000]
        store.save_page(Page("x", "brand", chunk, matches={m.native_id: ["brand"] for m in chunk}))
    if score:
        ids = dict(store.conn.execute("SELECT native_id, id FROM mentions"))
        store.set_sentiment([(ids[m.native_id], label, 0.9, "test", None) for m, label in items])


def test_a_negative_surge_opens_one_explained_alert_and_queues_it_once(backend: Backend) -> None:
    store = backend.store
    rng = random.Random(5)
    store_all(store, history(rng) + surge(120, 30))
    settings = AlertSettings(channels=("email",))
    now = SURGE + timedelta(minutes=35)
    first = evaluate(store, [WATCH], [], settings, now)
    kinds = {row.kind for row in first.changes}
    assert kinds == {"volume", "negative"}
    negative = next(r for r in first.changes if r.kind == "negative")
    assert negative.severity in ("warning", "critical")
    assert "negative share" in negative.summary
    terms = [t["term"] for t in negative.explanation["terms"]]
    assert "rimborso" in terms and "aurora" not in terms
    assert negative.explanation["hashtags"][0]["tag"] == "#boicottaaurora"
    assert negative.explanation["samples"][0]["url"].startswith("https://x.com/angry")
    stored = next(a for a in store.alerts.list() if a.kind == "negative")
    assert stored.id == negative.id and stored.state == "open"
    # It opened and grew within this pass: one change, with the latest figures.
    assert [r.kind for r in first.changes].count("negative") == 1
    assert stored.explanation == negative.explanation
    queued = store.alerts.pending(now + timedelta(days=1))
    assert sorted(d.alert.kind for d in queued) == ["negative", "volume"]
    again = evaluate(store, [WATCH], [], settings, now + timedelta(minutes=5))
    assert again.news == 0
    assert len(store.alerts.pending(now + timedelta(days=1))) == 2


def test_the_explanation_follows_the_incident_from_pass_to_pass(backend: Backend) -> None:
    store = backend.store
    store_all(store, history(random.Random(5)) + surge(120, 30))
    settings = AlertSettings(channels=("email",))
    early = evaluate(store, [WATCH], [], settings, SURGE + timedelta(minutes=15))
    opened = next(r for r in early.changes if r.kind == "negative")
    evaluate(store, [WATCH], [], settings, SURGE + timedelta(minutes=35))
    stored = next(a for a in store.alerts.list() if a.kind == "negative")
    assert stored.id == opened.id
    assert opened.explanation["networks"]["x"] < stored.explanation["networks"]["x"] <= 120


def test_calm_history_fires_nothing(store: Store) -> None:
    """On SQLite only: the same storage reads as the surge's case, which runs on both backends."""
    store_all(store, history(random.Random(6)))
    found = evaluate(
        store, [WATCH], [], AlertSettings(channels=("email",)), SURGE, since=SURGE - timedelta(days=2)
    )
    assert [r for r in found.changes if r.kind in ("volume", "negative")] == []


def test_unscored_mentions_hold_back_the_negative_detector(backend: Backend) -> None:
    store = backend.store
    rng = random.Random(5)
    calm = history(rng)
    store_all(store, calm)
    store_all(store, surge(120, 30), score=False)
    now = SURGE + timedelta(minutes=35)
    found = evaluate(store, [WATCH], [], AlertSettings(), now)
    assert {r.kind for r in found.changes} == {"volume"}
    ids = dict(store.conn.execute("SELECT native_id, id FROM mentions WHERE sentiment_label IS NULL"))
    store.set_sentiment([(i, "negative", 0.9, "test", "it") for i in ids.values()])
    later = evaluate(store, [WATCH], [], AlertSettings(), now + timedelta(minutes=5))
    assert "negative" in {r.kind for r in later.changes}


def test_quiet_hours_hold_warnings_but_not_critical() -> None:
    settings = AlertSettings(channels=("email",), timezone="Europe/Rome", quiet_hours="23:00-07:00")
    night = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)  # 00:30 in Rome
    assert settings.release_time(night, "warning") == datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
    assert settings.release_time(night, "critical") == night
    day = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert settings.release_time(day, "warning") == day
