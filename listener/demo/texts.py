"""The demo's words: templates for calm chatter and angry posts about Caffè Aurora, and their helpers.

Written for this project (no third-party text). Calm talk is mostly neutral or
happy, with some grumbling, in Italian and English; angry posts are about the
ordering app's double charges, under one hashtag. ``story`` arranges them in time.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

__all__ = ["HASHTAG", "HOURLY", "calm_text", "fill", "handles", "poisson", "surge_text"]

HASHTAG = "#AuroraDown"
# Relative activity per local hour in Milan: breakfast, lunch and after-work peaks.
HOURLY = (1.0, 0.5, 0.3, 0.2, 0.3, 0.8, 3, 8, 11, 9, 6, 6, 8, 8, 5, 4, 5, 6, 6, 5, 4, 3, 2, 1.5)

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
ASIDES = {
    "it": (
        "Domani ci porto mia sorella.",
        "Unico neo: il parcheggio.",
        "Consigliato a chi lavora in zona.",
        "Il barista si ricordava il mio nome!",
        "C'era la fila ma è scorsa veloce.",
        "Wifi un po' lento.",
        "Prezzi nella media del quartiere.",
        "Musica troppo alta per i miei gusti.",
        "Ottimo per studiare.",
        "Ci vado dal 2019 e non ha mai deluso.",
        "Peccato per i tavolini piccoli.",
        "Tornerò sabato.",
        "Il sabato mattina è pieno di famiglie.",
        "Hanno anche latte di avena.",
        "Ho pagato con l'app, comodo.",
        "Dehors riscaldato, una salvezza a novembre.",
        "Servizio rapido anche all'ora di punta.",
        "Il mio collega preferisce quello sotto l'ufficio.",
        "Da provare la torta di mele.",
        "Aperto anche la domenica pomeriggio.",
    ),
    "en": (
        "Bringing my parents next week.",
        "Staff speak good English.",
        "A bit pricey for students.",
        "Great spot to read for an hour.",
        "The queue moved fast.",
        "They also have oat milk.",
        "Card only at the counter, by the way.",
        "Loved the little terrace.",
        "My third visit this trip.",
        "The music was a bit loud.",
        "Ten minutes from the metro.",
        "Free water with every coffee, nice touch.",
    ),
}
ASIDES_ANGRY = {
    "it": (
        "Terza volta questo mese.",
        "Ho scritto anche via email, niente.",
        "Mia moglie stesso problema.",
        "Ero in pausa pranzo, tempo perso.",
        "Il numero dell'assistenza squilla a vuoto.",
        "Sono cliente da anni.",
        "Allego lo screenshot dell'estratto conto.",
        "Al banco dicono di usare l'app, ridicolo.",
        "Ho dovuto pagare di nuovo in contanti.",
        "Ordinavo per tutto l'ufficio.",
        "Mai vista una cosa simile.",
        "E intanto la carta è bloccata.",
    ),
    "en": (
        "Third time this month.",
        "Emailed support, nothing.",
        "My partner got hit too.",
        "I was on my lunch break.",
        "Support line just rings.",
        "Screenshot of my bank app attached.",
        "Had to pay again in cash.",
        "I ordered for my whole team.",
    ),
}
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
BRAND_REPLIES = (
    ("it", "Stiamo lavorando al guasto dell'app di Caffè Aurora: ogni addebito doppio sarà rimborsato."),
    ("en", "We're on it: Caffè Aurora app payments are paused and every double charge will be refunded."),
)
ANGRY = ("fede_92", "marta_l", "jamie_l", "giorgio_v", "ordini_falliti", "teo")  # the scripted ones come back

NAMES_IT = ("giulia", "marco", "sara", "luca", "chiara", "paolo", "anna", "fede", "ale", "sofia", "matteo",
            "elena", "davide", "marta", "simone", "irene", "andrea", "franci", "lore", "vale")  # fmt: skip
NAMES_EN = ("emma", "jack", "olivia", "liam", "mia", "noah", "ava", "leo", "zoe", "sam", "kate", "tom")
SUFFIXES = ("", "_mi", "_milano", "88", "92", "_b", "_r", ".caffe", "_travels", "_dev", "x", "01")


def handles(rng: random.Random, names: Sequence[str], n: int) -> list[str]:
    found: dict[str, None] = {}
    while len(found) < n:
        found[rng.choice(names) + rng.choice(SUFFIXES)] = None
    return list(found)


def fill(template: str, rng: random.Random, lang: str) -> str:
    return template.format(
        place=rng.choice(PLACES),
        drink=rng.choice(DRINKS_IT if lang == "it" else DRINKS_EN),
        food=rng.choice(FOOD_IT),
        when=rng.choice(WHEN_IT if lang == "it" else WHEN_EN),
        hour=f"{rng.randint(7, 19)}:{rng.choice(('00', '15', '30', '45'))}",
        amount=f"{rng.randint(3, 14)},{rng.choice(('20', '40', '60', '80', '90'))}€",
        tag=HASHTAG,
    )


def calm_text(rng: random.Random, lang: str) -> str:
    """A template sentence and two personal asides: people rarely write the same post twice."""
    tone = rng.choices(list(TONE_MIX), weights=list(TONE_MIX.values()))[0]
    choices = [t for tone_, lang_, t in CALM if tone_ == tone and lang_ == lang]
    first, second = rng.sample(ASIDES[lang], 2)
    return f"{fill(rng.choice(choices), rng, lang)} {first} {second}"


def surge_text(rng: random.Random) -> tuple[str, str]:
    """An angry post: a complaint between two details of the writer's own day."""
    lang, template = rng.choice(SURGE_TEXTS)
    before, after = rng.sample(ASIDES_ANGRY[lang], 2)
    return lang, f"{before} {fill(template, rng, lang)} {after}"


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small hourly means used here."""
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k
