"""The demo's calm days and their storm: generated chatter about Caffè Aurora, then an angry surge.

Written for this project from sentence templates (no third-party text). Four and a
half days of ordinary talk in Italian and English, on X and Reddit, follow a daily rhythm in
Milan (breakfast, lunch and afternoon peaks, quiet nights): mostly neutral or
happy, with some grumbling. It is the detectors' history. Then Aurora's app breaks
again: over the last hour and a half double charges spread under one hashtag,
"rimborso" and "refund" everywhere, ending minutes before now. Seeded, so every run
tells the same story relative to its own clock.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from listener.demo.redditserver import RedditServer
from listener.demo.xserver import XServer

__all__ = ["HASHTAG", "Plan", "Post", "baseline", "live", "publish", "surge"]

ROME = ZoneInfo("Europe/Rome")
HASHTAG = "#AuroraDown"
# Relative activity per local hour in Milan: breakfast, lunch and after-work peaks.
HOURLY = (1.0, 0.5, 0.3, 0.2, 0.3, 0.8, 3, 8, 11, 9, 6, 6, 8, 8, 5, 4, 5, 6, 6, 5, 4, 3, 2, 1.5)
X_PER_DAY, REDDIT_PER_DAY, OFF_TOPIC_PER_DAY = 65, 35, 6
BASELINE_DAYS = 4.5  # volume alerts need four days of history (DetectorSettings)
SURGE_SPAN = (timedelta(minutes=95), timedelta(minutes=6))  # how long before now it starts, and ends
SURGE_X, SURGE_REDDIT = 70, 30

PLACES = ("via Tortona", "Brera", "Isola", "Porta Romana", "NoLo", "Città Studi", "Navigli", "Porta Venezia")
DRINKS_IT = ("espresso", "cappuccino", "marocchino", "macchiato", "caffè d'orzo", "decaffeinato")
DRINKS_EN = ("flat white", "cortado", "espresso", "cappuccino", "latte", "iced coffee")
FOOD_IT = ("cornetto", "brioche al pistacchio", "tramezzino", "pezzo di focaccia", "maritozzo")
WHEN_IT = ("stamattina", "a pranzo", "nel pomeriggio", "prima del lavoro", "dopo la palestra")
WHEN_EN = ("this morning", "at lunch", "this afternoon", "before work", "after the gym")

# Calm chatter: (tone, language, template). Tones only steer the mix; the model scores the text.
CALM: tuple[tuple[str, str, str], ...] = (
    ("positive", "it", "Colazione da Caffè Aurora in {place}: {drink} e {food}, tutto perfetto."),
    ("positive", "it", "Il {drink} di Caffè Aurora in {place} è sempre buonissimo."),
    ("positive", "it", "Pausa da Caffè Aurora {when}, personale gentilissimo come sempre."),
    ("positive", "it", "Caffè Aurora in {place}: la miscela Alba con un {food} è una coccola."),
    ("positive", "it", "Consiglio Caffè Aurora a chi passa da {place}, ottimo {drink}."),
    ("positive", "it", "Ordinato dall'app di Caffè Aurora, pronto in cinque minuti. Comodissimo."),
    ("neutral", "it", "Qualcuno sa a che ora apre Caffè Aurora in {place} la domenica?"),
    ("neutral", "it", "Da Caffè Aurora {when} con i colleghi, riunione davanti a un {drink}."),
    ("neutral", "it", "Caffè Aurora in {place} ha cambiato l'arredamento, ora ci sono tavoli fuori."),
    ("neutral", "it", "Oggi {drink} da Caffè Aurora, domani si torna in ufficio."),
    ("neutral", "it", "Caffè Aurora vende anche la miscela Alba in grani da 250 grammi."),
    ("neutral", "it", "Appuntamento da Caffè Aurora in {place} alle {hour}, chi c'è?"),
    ("neutral", "it", "Caffè Aurora in {place} accetta buoni pasto? Devo fare un ordine per l'ufficio."),
    ("negative", "it", "Il {drink} di Caffè Aurora {when} era tiepido, peccato."),
    ("negative", "it", "Caffè Aurora in {place} sempre pieno, non si trova un tavolo."),
    ("negative", "it", "Il {food} di Caffè Aurora era un po' secco {when}, non il solito."),
    ("positive", "en", "Great {drink} at Caffè Aurora in {place} {when}."),
    ("positive", "en", "Caffè Aurora in {place} never disappoints. The Alba blend is lovely."),
    ("positive", "en", "Friendly staff and a proper {drink} at Caffè Aurora. Happy."),
    ("positive", "en", "Ordered ahead on the Caffè Aurora app, coffee was waiting for me. Nice."),
    ("neutral", "en", "Working from Caffè Aurora in {place} {when}, decent wifi."),
    ("neutral", "en", "Does Caffè Aurora in {place} take cards? Heading there {when}."),
    ("neutral", "en", "Caffè Aurora sells its Alba beans in 250 g bags now."),
    ("neutral", "en", "Meeting a friend at Caffè Aurora in {place} at {hour}."),
    ("negative", "en", "My {drink} at Caffè Aurora was lukewarm {when}. Not their best."),
    ("negative", "en", "Caffè Aurora in {place} was too crowded {when}, gave up on a table."),
)
TONE_MIX = {"positive": 0.42, "neutral": 0.46, "negative": 0.12}
THREADS = {  # Reddit submissions of the calm days: (subreddit, title, body)
    "it": (
        ("italy", "Caffè Aurora a Milano: quale sede consigliate?", "Devo portare i miei a colazione."),
        ("italy", "Caffè Aurora, la miscela Alba vale il prezzo?", "Curioso di sentire le vostre opinioni."),
        (
            "milano",
            "Caffè Aurora in {place}: com'è il nuovo locale?",
            "Ci passo spesso ma non sono mai entrato.",
        ),
        ("italy", "Caffè Aurora apre a Torino", "Qualcuno sa quando?"),
    ),
    "en": (
        ("Coffee", "Caffè Aurora in Milan: worth the detour?", "I'll be in {place} for a conference."),
        ("Coffee", "Tried the Alba blend from Caffè Aurora", "Hazelnut, cocoa, a bit flat in milk drinks."),
    ),
}
OFF_TOPIC = (
    ("italy", "Consigli per un weekend a Bologna?", "Cerco trattorie non turistiche."),
    ("italy", "Sciopero dei treni venerdì", "Qualcuno sa quali linee sono garantite?"),
    ("Coffee", "Best hand grinder under 100?", "Mostly pour-over, sometimes moka."),
    ("Coffee", "Descaling a moka pot", "Vinegar or citric acid?"),
    ("italy", "Ricetta della carbonara: panna sì o no?", "Scherzo, ovviamente no."),
)

SURGE_TEXTS: tuple[tuple[str, str], ...] = (
    ("it", "Ancora? App di Caffè Aurora bloccata, pagato e niente caffè. Rimborso subito. {tag}"),
    (
        "it",
        "Nessuno risponde all'assistenza di Caffè Aurora. Dov'è il mio rimborso di {amount}? Pessimi. {tag}",
    ),
    ("it", "Disinstallata l'app di Caffè Aurora. Addebito doppio, ordine perso, zero risposte. {tag}"),
    (
        "it",
        "Caffè Aurora mi ha addebitato {amount} due volte, di nuovo. Pessimo servizio, voglio il rimborso. {tag}",
    ),
    ("it", "Secondo giorno di app Caffè Aurora in tilt: soldi presi e nessun rimborso. Vergognoso. {tag}"),
    ("it", "Caffè Aurora, ridatemi i miei {amount}: app rotta, assistenza muta, pessima esperienza. {tag}"),
    (
        "it",
        "Basta, l'app di Caffè Aurora è inutile: doppio addebito anche oggi, rimborso mai arrivato. {tag}",
    ),
    (
        "it",
        "In coda da Caffè Aurora in {place} perché l'app non funziona e mi ha pure addebitato {amount}. Furioso. {tag}",
    ),
    ("en", "The Caffè Aurora app charged me twice AGAIN. I want a refund. {tag}"),
    ("en", "Caffè Aurora app down for the second day, order paid and never made. Refund please {tag}"),
    ("en", "Terrible: Caffè Aurora double-charged my card {amount} and support is silent. {tag}"),
    ("en", "Still waiting for my Caffè Aurora refund. App broken, money gone. {tag}"),
    ("en", "Avoid the Caffè Aurora app today, it takes your money twice and gives you nothing. {tag}"),
)
SURGE_REDDIT_THREADS = (
    ("italy", "it", "App di Caffè Aurora di nuovo giù, doppio addebito: che disastro",
     "Oggi mi hanno preso {amount} due volte. Come si chiede il rimborso?"),
    ("Coffee", "en", "Caffè Aurora's app double-charged me again",
     "Second outage in two days. Anyone got a refund yet?"),
)  # fmt: skip
BRAND_REPLIES = (
    ("it", "Stiamo lavorando al guasto dell'app di Caffè Aurora: ogni addebito doppio sarà rimborsato."),
    ("en", "We're on it: Caffè Aurora app payments are paused and every double charge will be refunded."),
)
ANGRY = ("fede_92", "marta_l", "jamie_l", "giorgio_v", "ordini_falliti", "teo")  # the scripted ones come back

NAMES_IT = ("giulia", "marco", "sara", "luca", "chiara", "paolo", "anna", "fede", "ale", "sofia", "matteo",
            "elena", "davide", "marta", "simone", "irene", "andrea", "franci", "lore", "vale")  # fmt: skip
NAMES_EN = ("emma", "jack", "olivia", "liam", "mia", "noah", "ava", "leo", "zoe", "sam", "kate", "tom")
SUFFIXES = ("", "_mi", "_milano", "88", "92", "_b", "_r", ".caffe", "_travels", "_dev", "x", "01")


@dataclass(frozen=True, slots=True)
class Post:
    """One planned post. On Reddit a ``title`` makes a submission; else a comment under ``thread``."""

    when: datetime
    network: str
    author: str
    text: str
    lang: str
    likes: int = 0
    subreddit: str = ""
    title: str = ""
    thread: int | None = None  # index of the submission in the plan


@dataclass
class Plan:
    posts: list[Post]

    def count(self, network: str) -> int:
        return sum(p.network == network for p in self.posts)


def _handles(rng: random.Random, names: Sequence[str], n: int) -> list[str]:
    found: dict[str, None] = {}
    while len(found) < n:
        found[rng.choice(names) + rng.choice(SUFFIXES)] = None
    return list(found)


def _fill(template: str, rng: random.Random, lang: str) -> str:
    return template.format(
        place=rng.choice(PLACES),
        drink=rng.choice(DRINKS_IT if lang == "it" else DRINKS_EN),
        food=rng.choice(FOOD_IT),
        when=rng.choice(WHEN_IT if lang == "it" else WHEN_EN),
        hour=f"{rng.randint(7, 19)}:{rng.choice(('00', '15', '30', '45'))}",
        amount=f"{rng.randint(3, 14)},{rng.choice(('20', '40', '60', '80', '90'))}€",
        tag=HASHTAG,
    )


def _calm_text(rng: random.Random, lang: str) -> str:
    tone = rng.choices(list(TONE_MIX), weights=list(TONE_MIX.values()))[0]
    choices = [t for tone_, lang_, t in CALM if tone_ == tone and lang_ == lang]
    return _fill(rng.choice(choices), rng, lang)


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small hourly means used here."""
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def baseline(now: datetime, seed: int = 2026) -> Plan:
    """``BASELINE_DAYS`` of calm talk up to ``now``, hour by hour in Milan's daily rhythm."""
    rng = random.Random(seed)
    people_it, people_en = _handles(rng, NAMES_IT, 160), _handles(rng, NAMES_EN, 60)
    posts: list[Post] = []
    threads: list[int] = []  # indexes of Reddit submissions that comments may join
    first = now - timedelta(days=BASELINE_DAYS)
    hour = first.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    total = sum(HOURLY)
    while hour < now:
        weight = HOURLY[hour.astimezone(ROME).hour] / total
        for network, per_day in (("x", X_PER_DAY), ("reddit", REDDIT_PER_DAY), ("off", OFF_TOPIC_PER_DAY)):
            for _ in range(_poisson(rng, per_day * weight)):
                when = hour + timedelta(seconds=rng.randrange(3600))
                if when >= now:
                    continue
                lang = "it" if rng.random() < 0.7 else "en"
                author = rng.choice(people_it if lang == "it" else people_en)
                if network == "x":
                    text = _calm_text(rng, lang)
                    posts.append(Post(when, "x", author, text, lang, likes=int(rng.expovariate(0.3))))
                elif network == "off":
                    sub, title, body = rng.choice(OFF_TOPIC)
                    posts.append(Post(when, "reddit", author, body, lang, subreddit=sub, title=title))
                else:
                    recent = [i for i in threads if timedelta(0) < when - posts[i].when < timedelta(hours=36)]
                    if not recent or rng.random() < 0.2:
                        sub, title, body = rng.choice(THREADS[lang])
                        threads.append(len(posts))
                        posts.append(Post(when, "reddit", author, _fill(body, rng, lang), lang,
                                          likes=rng.randint(1, 40), subreddit=sub, title=_fill(title, rng, lang)))  # fmt: skip
                    else:
                        parent = rng.choice(recent)
                        lang = posts[parent].lang
                        author = rng.choice(people_it if lang == "it" else people_en)
                        posts.append(Post(when, "reddit", author, _calm_text(rng, lang), lang,
                                          likes=rng.randint(0, 12), thread=parent))  # fmt: skip
        hour += timedelta(hours=1)
    return Plan(posts)


def surge(now: datetime, seed: int = 2027) -> Plan:
    """The outage story spreading: many angry posts, denser towards the end, a few loud authors."""
    rng = random.Random(seed)
    start, end = now - SURGE_SPAN[0], now - SURGE_SPAN[1]
    span = (end - start).total_seconds()
    crowd = [*ANGRY, *_handles(rng, NAMES_IT, 30), *_handles(rng, NAMES_EN, 12)]
    weights = [1 / (rank + 1) ** 0.9 for rank in range(len(crowd))]  # a few people post again and again

    def moment() -> datetime:
        return start + timedelta(seconds=span * math.sqrt(rng.random()))  # the story gathers pace

    posts: list[Post] = []
    for sub, lang, title, body in SURGE_REDDIT_THREADS:
        when = start + timedelta(seconds=rng.randrange(600))
        posts.append(Post(when, "reddit", rng.choices(crowd, weights)[0], _fill(body, rng, lang), lang,
                          likes=rng.randint(40, 300), subreddit=sub, title=title))  # fmt: skip
    threads = list(range(len(posts)))
    for network, count in (("x", SURGE_X), ("reddit", SURGE_REDDIT)):
        for _ in range(count):
            lang, template = rng.choice(SURGE_TEXTS)
            text = _fill(template, rng, lang)
            author = rng.choices(crowd, weights)[0]
            when = max(moment(), posts[threads[-1]].when + timedelta(minutes=1))
            if network == "x":
                likes = int(rng.paretovariate(1.1) * 4)  # most get a few likes, one or two go viral
                posts.append(Post(when, "x", author, text, lang, likes=likes))
            else:
                parent = next((t for t in threads if posts[t].lang == lang), threads[0])
                posts.append(Post(when, "reddit", author, text, lang, likes=rng.randint(1, 60),
                                  thread=parent))  # fmt: skip
    for i, (lang, text) in enumerate(BRAND_REPLIES):
        when = start + (end - start) * (0.5 + 0.3 * i)
        posts.append(Post(when, "x", "caffe_aurora", text, lang, likes=12))
    return Plan(posts)


def live(now: datetime) -> Plan:
    """What arrives while the daemon runs: the storm is not over."""
    return Plan([
        Post(now, "reddit", "fede_92", "Caffè Aurora: rimborso ancora fermo e app ancora giù. Ridicolo. "
             f"{HASHTAG}", "it", likes=9, subreddit="italy", title="Caffè Aurora, terzo doppio addebito"),
        Post(now, "reddit", "jamie_l", f"Still no refund, and the app is still down. {HASHTAG}", "en", likes=5,
             subreddit="Coffee", title="Caffè Aurora: day two of double charges"),
    ])  # fmt: skip


def publish(plan: Plan, x: XServer, reddit: RedditServer) -> int:
    """Put the planned posts on the servers, in time order; return how many."""
    names: dict[int, str] = {}
    order = sorted(range(len(plan.posts)), key=lambda i: plan.posts[i].when)
    with x.lock, reddit.lock:  # the servers may be answering a running collector
        for i in order:
            p = plan.posts[i]
            if p.network == "x":
                x.add_post(p.author, p.text, p.when, lang=p.lang, likes=p.likes)
            elif p.title:
                names[i] = reddit.add_submission(p.subreddit, p.author, p.title, p.when, selftext=p.text,
                                                 score=p.likes)  # fmt: skip
            else:
                assert p.thread is not None
                reddit.add_comment(names[p.thread], p.author, p.text, p.when, score=p.likes)
    return len(plan.posts)
