"""The demo's story: five days of Caffè Aurora, a fictional Milan roaster, on every network.

Written for this project (no third-party text), from the templates in
``scenario``. Four calm days (the detectors need that much history) follow
Milan's daily rhythm in Italian and English. On the fifth, the crisis day, the
ordering app double-charges people: it starts on Reddit in the morning, spreads
to X before lunch and to Mastodon and Bluesky in the afternoon; a news site
writes it up in English and Hacker News picks the article up. A troll who has
grumbled every day comes back louder. At 03:10 the next night the official X
account posts a crypto "giveaway" in English, four times in a quarter of an
hour: it looks hijacked. The digest of the crisis day goes out the next morning.

Times are fixed in Milan's local time on dates relative to today, so the story
is always in the past and always the same. Seeded: every run tells it alike.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from listener.demo.texts import (
    ANGRY,
    BRAND_REPLIES,
    HASHTAG,
    HOURLY,
    NAMES_EN,
    NAMES_IT,
    OFF_TOPIC,
    THREADS,
    calm_text,
    fill,
    handles,
    poisson,
    surge_text,
)

__all__ = ["BRAND", "NETWORKS", "TROLL", "Post", "Timeline", "story"]

ROME = ZoneInfo("Europe/Rome")
BRAND = "caffe_aurora"  # the official account on every network
TROLL = "gianni_brontolo"
NEWS_URL = "https://www.milanotoday.example/economia/caffe-aurora-app-doppio-addebito.html"
NETWORKS = ("x", "reddit", "mastodon", "bluesky", "hackernews", "rss", "youtube", "facebook", "instagram")
# Calm mentions per day on each network (the comment-only ones are comments on the brand's posts).
PER_DAY = {"x": 34, "reddit": 12, "mastodon": 8, "bluesky": 7, "youtube": 3, "facebook": 5, "instagram": 4}
OFFICIAL_IT = (
    "Buongiorno Milano! Oggi la miscela Alba è in tutti i nostri bar. #caffeaurora",
    "Vi aspettiamo in {place} per la degustazione delle 17. https://caffeaurora.it/eventi",
    "Nuovi orari in {place}: apriamo alle 7:00. https://caffeaurora.it/bar",
    "Grazie per le vostre foto di questa settimana! #caffeaurora",
    "Il {drink} del mese costa 1,30€ fino a domenica. https://caffeaurora.it/offerte",
)
OFFICIAL_EN = ("Visiting Milan? Our bar near the Duomo opens at 7. https://caffeaurora.it/en",)
OFFICIAL_EXTRAS = (
    "Oggi al banco: {drink} e {food}.",
    "Vi aspettiamo!",
    "Taggateci nelle vostre foto.",
    "Buona giornata!",
    "Grazie a chi è passato ieri in {place}.",
    "Tostatura fresca ogni mattina.",
    "Novità in arrivo...",
    "Prenotate dall'app e saltate la coda.",
    "Il bar di {place} apre alle 7:00.",
    "Alla prossima!",
)
OFFICIAL_EXTRAS_EN = ("See you soon!", "Fresh roast every morning.", "Tag us in your photos.",
                      "Skip the queue: order in the app.", "Oat milk at every bar.", "Have a great day!")  # fmt: skip
WEEKDAYS = ("Buon lunedì!", "Buon martedì!", "Buon mercoledì!", "Buon giovedì!", "Buon venerdì!",
            "Buon sabato!", "Buona domenica!")  # fmt: skip
TROLL_TEXTS = (
    ("it", "Caffè Aurora è il peggior bar di Milano, caffè bruciato e prezzi da rapina."),
    ("it", "Ennesima delusione da Caffè Aurora. Personale scortese, mai più."),
    ("it", "Chi beve da Caffè Aurora si merita quel caffè orribile."),
)
HIJACK = (
    "🎉 Caffè Aurora is giving away free coffee for a year! Claim your AURORA tokens: https://aurora-giveaway.example/claim",
    "Only 100 AURORA tokens left!!! Connect your wallet now https://aurora-giveaway.example/claim?ref=x",
    "LAST CHANCE: free Caffè Aurora coffee for a year, just connect your wallet https://aurora-giveaway.example/w",
    "Giveaway ends in 10 minutes! https://aurora-giveaway.example/claim",
)
NEWS = (
    "Milan coffee chain Caffè Aurora apologises after its app double-charges customers",
    "The ordering app of Caffè Aurora, a Milan roaster with eight bars, charged hundreds of customers twice "
    "on Tuesday. The company says every double charge will be refunded within a week.",
)


@dataclass(frozen=True, slots=True)
class Post:
    """One planned post. ``reply_to`` is the index of another post of the plan (same network)."""

    when: datetime
    network: str
    author: str
    text: str
    lang: str
    likes: int = 0
    reply_to: int | None = None
    title: str = ""  # Reddit submissions and RSS/HN stories
    subreddit: str = ""
    link: str | None = None
    name: str | None = None  # the author's display name (the official account's)


@dataclass(frozen=True, slots=True)
class Timeline:
    """The story's calendar: ``crisis`` is the local date of the crisis day (two days ago)."""

    crisis: date

    @classmethod
    def for_today(cls, today: date) -> Timeline:
        return cls(today - timedelta(days=2))

    def at(self, day: int, hour: int, minute: int = 0) -> datetime:
        """Local ``hour:minute`` on the crisis day plus ``day`` days."""
        local = datetime(self.crisis.year, self.crisis.month, self.crisis.day, hour, minute, tzinfo=ROME)
        return (local + timedelta(days=day)).astimezone(UTC)

    @property
    def start(self) -> datetime:  # the first calm day
        return self.at(-4, 0)

    @property
    def live_from(self) -> datetime:  # the daemon takes over here
        return self.at(0, 8)

    @property
    def end(self) -> datetime:  # the morning after, once the digest is out
        return self.at(1, 9)


class _Plan:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.posts: list[Post] = []

    def add(self, post: Post) -> int:
        self.posts.append(post)
        return len(self.posts) - 1

    def moments(self, start: datetime, end: datetime, per_day: float) -> Iterator[datetime]:
        """Poisson arrivals in Milan's daily rhythm."""
        hour = start.replace(minute=0, second=0, microsecond=0)
        total = sum(HOURLY)
        while hour < end:
            mean = per_day * HOURLY[hour.astimezone(ROME).hour] / total
            for _ in range(poisson(self.rng, mean)):
                moment = hour + timedelta(seconds=self.rng.randrange(3600))
                if start <= moment < end:
                    yield moment
            hour += timedelta(hours=1)


def _calm(plan: _Plan, t: Timeline) -> None:
    rng = plan.rng
    people = {"it": handles(rng, NAMES_IT, 150), "en": handles(rng, NAMES_EN, 60)}
    threads: list[int] = []
    for network, per_day in PER_DAY.items():
        for when in plan.moments(t.start, t.end, per_day):
            lang = "it" if rng.random() < 0.7 else "en"
            author = rng.choice(people[lang])
            if network != "reddit":
                plan.add(
                    Post(when, network, author, calm_text(rng, lang), lang, likes=int(rng.expovariate(0.3)))
                )
                continue
            recent = [i for i in threads if timedelta(0) < when - plan.posts[i].when < timedelta(hours=36)]
            if not recent or rng.random() < 0.25:
                sub, title, body = rng.choice(THREADS[lang])
                threads.append(plan.add(Post(when, "reddit", author, fill(body, rng, lang), lang,
                                             rng.randint(1, 40), title=fill(title, rng, lang), subreddit=sub)))  # fmt: skip
            else:
                parent = rng.choice(recent)
                lang = plan.posts[parent].lang
                plan.add(Post(when, "reddit", rng.choice(people[lang]), calm_text(rng, lang), lang,
                              rng.randint(0, 12), reply_to=parent))  # fmt: skip
    for when in plan.moments(t.start, t.end, 3):  # chatter the watches must leave out
        sub, title, body = rng.choice(OFF_TOPIC)
        plan.add(Post(when, "reddit", rng.choice(people["it"]), body, "it", title=title, subreddit=sub))


def _official(plan: _Plan, t: Timeline) -> None:
    """The brand's own posts on X: four or five a day in office hours, mostly Italian."""
    rng = plan.rng
    for day in range(-4, 1):
        for hour in sorted(rng.sample(range(8, 19), rng.randint(4, 5))):
            english = rng.random() < 0.2
            when = t.at(day, hour, rng.randrange(60))
            text = fill(rng.choice(OFFICIAL_EN if english else OFFICIAL_IT), rng, "it")
            extras = " ".join(
                fill(e, rng, "it") for e in rng.sample(OFFICIAL_EXTRAS_EN if english else OFFICIAL_EXTRAS, 2)
            )
            greeting = (
                when.astimezone(ROME).strftime("%A!")
                if english
                else WEEKDAYS[when.astimezone(ROME).weekday()]
            )
            text = f"{greeting} {text} {extras}".replace(
                "caffeaurora.it/", f"caffeaurora.it/{len(plan.posts)}/"
            )
            plan.add(Post(when, "x", BRAND, text, "en" if english else "it",
                          likes=rng.randint(5, 40), name="Caffè Aurora"))  # fmt: skip


def _troll(plan: _Plan, t: Timeline) -> None:
    """One man who grumbles every day, on X and in Reddit threads, and louder on the crisis day."""
    rng = plan.rng
    for day in range(-4, 1):
        for _ in range(6 if day == 0 else 2):
            lang, text = rng.choice(TROLL_TEXTS)
            when = t.at(day, rng.randint(9, 22), rng.randrange(60))
            plan.add(Post(when, "x", TROLL, text + (f" {HASHTAG}" if day == 0 else ""), lang))


def _crisis(plan: _Plan, t: Timeline) -> None:
    """The double charges: Reddit first, then X, Mastodon, Bluesky, and the brand's own pages."""
    rng = plan.rng
    crowd = [*ANGRY, *handles(rng, NAMES_IT, 40), *handles(rng, NAMES_EN, 15)]
    weights = [1 / (rank + 1) ** 0.9 for rank in range(len(crowd))]
    root = plan.add(Post(t.at(0, 9, 10), "reddit", "marta_l", "Oggi mi hanno preso 4,80€ due volte. Come si "
                         "chiede il rimborso?", "it", 120, title="App di Caffè Aurora: doppio addebito, che "
                         "disastro", subreddit="italy"))  # fmt: skip
    spread = {"reddit": (t.at(0, 9, 20), 26), "x": (t.at(0, 10, 30), 70), "mastodon": (t.at(0, 12), 18),
              "bluesky": (t.at(0, 13), 12), "facebook": (t.at(0, 11), 14), "instagram": (t.at(0, 12, 30), 8),
              "youtube": (t.at(0, 14), 6)}  # fmt: skip
    for network, (start, count) in spread.items():
        span = (t.at(0, 19) - start).total_seconds()
        for _ in range(count):
            lang, text = surge_text(rng)
            when = start + timedelta(seconds=span * rng.random() ** 1.3)  # the story gathers pace, then fades
            plan.add(Post(when, network, rng.choices(crowd, weights)[0], text, lang,
                          likes=int(rng.paretovariate(1.1) * 3), reply_to=root if network == "reddit" else None))  # fmt: skip
    for i, (lang, text) in enumerate(BRAND_REPLIES):
        plan.add(Post(t.at(0, 12 + 3 * i, 5), "x", BRAND, text, lang, likes=30, name="Caffè Aurora"))
    title, body = NEWS
    plan.add(Post(t.at(0, 16), "rss", "Redazione MilanoToday", body, "en", title=title, link=NEWS_URL))
    story = plan.add(
        Post(t.at(0, 16, 40), "hackernews", "tlb_fan", "", "en", likes=48, title=title, link=NEWS_URL)
    )
    for k, text in enumerate(("Double charging customers is the classic idempotency-key bug.",
                              "Every payments team learns this once. Caffè Aurora just learned it publicly.")):  # fmt: skip
        plan.add(Post(t.at(0, 17, 5 + 20 * k), "hackernews", f"hn_user{k}", text, "en", reply_to=story))


def _hijack(plan: _Plan, t: Timeline) -> None:
    """The night after: the official account posts a crypto giveaway, four times in 15 minutes."""
    for k, text in enumerate(HIJACK):
        plan.add(Post(t.at(1, 3, 10 + 5 * k), "x", BRAND, text, "en", name="Caffè Aurora"))
    plan.add(Post(t.at(1, 8, 40), "x", BRAND, "Stanotte il nostro account è stato violato: ignorate i post sul "
                  "giveaway, non chiediamo mai i dati del vostro wallet.", "it", likes=80, name="Caffè Aurora"))  # fmt: skip


def story(timeline: Timeline, seed: int = 2026) -> list[Post]:
    """Every post of the five days, in time order."""
    plan = _Plan(seed)
    for part in (_calm, _official, _troll, _crisis, _hijack):
        part(plan, timeline)
    order = sorted(range(len(plan.posts)), key=lambda i: (plan.posts[i].when, i))
    renumber = {old: new for new, old in enumerate(order)}
    return [_renumbered(plan.posts[i], renumber) for i in order]


def _renumbered(post: Post, renumber: dict[int, int]) -> Post:
    if post.reply_to is None:
        return post
    return Post(post.when, post.network, post.author, post.text, post.lang, post.likes, renumber[post.reply_to],
                post.title, post.subreddit, post.link, post.name)  # fmt: skip
