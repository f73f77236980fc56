"""The own-account guard on scripted histories: a takeover alerts once, ordinary weeks never."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from listener.alerts.evaluate import evaluate
from listener.alerts.settings import AlertSettings
from listener.model import Mention, Page
from storage.interfaces import ListenerStore
from tests.backends import Backend

ROME = ZoneInfo("Europe/Rome")
START = datetime(2026, 2, 2, 0, 0, tzinfo=ROME)
ACCOUNTS = [("x", "caffe_aurora")]
SETTINGS = AlertSettings(channels=("email",), timezone="Europe/Rome")
DOMAINS = ("caffeaurora.it", "caffeaurora.it", "caffeaurora.it", "instagram.com", "milanotoday.it")
POSTS_IT = (
    "Buongiorno Milano! Oggi la miscela Alba è in offerta nei nostri bar.",
    "Vi aspettiamo in via Tortona per la degustazione delle 17.",
    "Grazie a tutti per le foto di questa settimana ☕",
    "Nuovi orari del bar di Brera: apriamo alle 7:30.",
)
POSTS_EN = ("A proper espresso near the Duomo: come and try our Alba blend.",)


class Feed:
    """Writes the brand's posts and the replies they get, as a collector's pages would."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.n = 0

    def post(self, when: datetime, text: str, lang: str = "it", name: str = "Caffè Aurora",
             author: str = "caffe_aurora", reply_to: str | None = None, negative: bool = False) -> str:  # fmt: skip
        self.n += 1
        native_id = str(1000 + self.n)
        mention = Mention("x", native_id, text, when.astimezone(UTC), url=f"https://x.com/{author}/status/{native_id}",
                          author_id=f"id-{author}", author_handle=author, author_name=name, language=lang,
                          in_reply_to_id=reply_to)  # fmt: skip
        self.store.save_page(Page("x", "@caffe_aurora", [mention]), when)
        if negative:
            self.store.conn.execute(
                f"UPDATE mentions SET sentiment_label = 'negative' WHERE native_id = '{native_id}'"
            )
        return native_id


def normal_weeks(feed: Feed, days: int, seed: int = 7) -> Iterator[datetime]:
    """Ordinary posting: 1-4 posts a day between 8:00 and 20:30, a few replies each; yields each day."""
    rng = random.Random(seed)
    for day in range(days):
        base = START + timedelta(days=day)
        hours = sorted(rng.sample(range(8, 21), rng.randint(1, 4)))
        for hour in hours:
            when = base + timedelta(hours=hour, minutes=rng.randrange(60))
            english = rng.random() < 0.2
            text = rng.choice(POSTS_EN if english else POSTS_IT)
            if rng.random() < 0.5:
                text += f" https://{rng.choice(DOMAINS)}/p/{rng.randrange(999)}"
            post = feed.post(when, text, "en" if english else "it")
            for r in range(rng.randint(0, 6)):
                feed.post(when + timedelta(minutes=5 + r), "Risposta", author=f"fan{r}", reply_to=post,
                          negative=rng.random() < 0.25)  # fmt: skip
        if day % 9 == 4:  # an event day: three posts in one hour
            for k in range(3):
                feed.post(base + timedelta(hours=18, minutes=10 * k), "Live dalla degustazione! #caffeaurora")
        yield base + timedelta(days=1)


def alerts(store: ListenerStore) -> list[tuple[str, str, str, str]]:
    return [(a.kind, a.severity, a.watch, a.network) for a in store.alerts.list() if a.kind == "own-account"]


def check(store: ListenerStore, now: datetime) -> None:
    evaluate(store, [], [], SETTINGS, now.astimezone(UTC), accounts=ACCOUNTS)


def test_four_ordinary_weeks_raise_nothing(backend: Backend) -> None:
    store = backend.store
    feed = Feed(store)
    for day_end in normal_weeks(feed, 28):
        for hour in range(0, 24, 4):
            check(store, day_end - timedelta(hours=hour))
    assert feed.n > 200
    assert alerts(store) == []


def test_an_off_hours_burst_with_a_new_link_domain_is_one_critical_alert(backend: Backend) -> None:
    store = backend.store
    feed = Feed(store)
    for _ in normal_weeks(feed, 28):
        pass
    night = START + timedelta(days=28, hours=3, minutes=10)
    for k in range(4):
        feed.post(
            night + timedelta(minutes=5 * k),
            f"FREE coffee coins for everyone!! claim now https://aurora-coins.example/claim?k={k}",
            "en",
        )
    for later in (night + timedelta(minutes=25), night + timedelta(minutes=40), night + timedelta(hours=5)):
        check(store, later)
    assert alerts(store) == [("own-account", "critical", "@caffe_aurora", "x")]
    [alert] = [a for a in store.alerts.list() if a.kind == "own-account"]
    assert alert.explanation["signals"] == ["burst", "new-domain", "off-hours"]  # English is usual here
    assert "aurora-coins.example" in alert.summary and alert.observed == 4
    assert alert.started_at == night.astimezone(UTC).isoformat()
    queued = backend.rows(f"SELECT count(*) FROM deliveries WHERE alert_id = {alert.id}")
    assert queued == [(1,)]  # checked three times, announced once


def test_a_changed_profile_name_alone_is_enough(backend: Backend) -> None:
    store = backend.store
    feed = Feed(store)
    for _ in normal_weeks(feed, 10):
        pass
    feed.post(START + timedelta(days=10, hours=11), "Buongiorno Milano!", name="Aurora Crypto Giveaway")
    check(store, START + timedelta(days=10, hours=12))
    [alert] = [a for a in store.alerts.list() if a.kind == "own-account"]
    assert alert.explanation["signals"] == ["name-change"]
    assert "'Caffè Aurora' to 'Aurora Crypto Giveaway'" in alert.summary


def test_a_negative_reply_wave_far_above_usual_alerts(backend: Backend) -> None:
    store = backend.store
    feed = Feed(store)
    for _ in normal_weeks(feed, 21):
        pass
    when = START + timedelta(days=21, hours=10)
    post = feed.post(when, "Da oggi il caffè al banco costa 2 euro.")
    for r in range(14):
        feed.post(
            when + timedelta(minutes=r + 1), "Vergogna", author=f"angry{r}", reply_to=post, negative=True
        )
    check(store, when + timedelta(minutes=30))
    [alert] = [a for a in store.alerts.list() if a.kind == "own-account"]
    assert alert.explanation["signals"] == ["reply-wave"]
    assert alert.explanation["samples"][0]["text"] == "Da oggi il caffè al banco costa 2 euro."


def test_the_guard_can_be_switched_off(backend: Backend) -> None:
    store = backend.store
    feed = Feed(store)
    feed.post(START + timedelta(hours=3), "x", name="A")
    feed.post(START + timedelta(hours=4), "y", name="B")
    settings = SETTINGS.model_copy(
        update={"own_accounts": SETTINGS.own_accounts.model_copy(update={"enabled": False})}
    )
    evaluate(store, [], [], settings, (START + timedelta(hours=5)).astimezone(UTC), accounts=ACCOUNTS)
    assert alerts(store) == []
