"""The digest's wording in Italian and English, and numbers and dates as each language writes them.

Hand-written rather than from the C locale: a server rarely has ``it_IT``
installed, and the digest must read the same wherever it runs.
"""

from __future__ import annotations

import re
from datetime import date

__all__ = ["WORDS", "day_name", "number", "percent", "reason", "signed_percent"]

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Daily digest", "subject_mentions": "mentions", "subject_negative": "negative",
        "vs_mean": "vs 7-day mean", "vs_mean_short": "vs 7-day mean", "summary": "{n} mentions on {day}: {delta} against the 7-day mean "
        "({mean} a day); {share} negative ({neg} of the {scored} mentions scored for sentiment).",
        "chart": "Mentions, last 7 days",
        "table_note": "Each change compares the day with the day before (vs yesterday) and with the average "
        "day of the 7 days before it (vs 7-day mean). Negative: the share of negative mentions among those "
        "scored for sentiment; its changes are in percentage points (pp).",
        "health_runs": "{runs} runs, {failed} failed", "health_volume": "mentions: {n} (7-day mean {mean})",
        "chart_alt": "Bar chart of mentions per day over the last 7 days; red: negative",
        "watches": "Watches", "watch": "watch", "mentions": "mentions", "vs_yesterday": "vs yesterday",
        "negative": "negative", "neg_yesterday": "neg. vs yesterday", "neg_mean": "neg. vs 7-day mean",
        "mean7": "7-day mean", "all": "all mentions",
        "to_answer": "{n} stories need an answer from you.",
        "to_answer_more": "At least {n} stories need an answer from you.",
        "to_answer_none": "No story needs an answer from you.", "inbox": "Answer them from the inbox",
        "stories": "Answer first",
        "stories_note": "One line per story (a post and its copies on other networks), what needs an answer "
        "first on top: negative and not answered by your accounts, then the most engaged and seen, then the "
        "most recent. Handled and ignored stories are left out: those of the day are listed below, with "
        "their notes.",
        "no_stories": "Nothing to answer.", "reply": "Reply", "open_link": "Open the post", "in_inbox": "Mark it in the inbox",
        "dealt": "Dealt with in the inbox",
        "dealt_note": "Stories of the day marked in the inbox: {n}, the latest first. Escalated ones stay "
        "in the list above until handled.", "dealt_more": "at least {n}",
        "dealt_handled": "handled", "dealt_escalated": "escalated", "dealt_ignored": "ignored",
        "do_not_feed": "troll: do not feed",
        "alerts": "Alerts of the day", "no_alerts": "No alert today.",
        "more_alerts": "…and {n} more: see 'listener alerts'.", "terms": "driving terms (posts now vs the week before)",
        "authors": "most active authors (network, posts)", "example": "most engaged post",
        "trolls": "Trolls: do not feed them",
        "trolls_note": "Negative on {days} or more different days of the last {window}. Answer once, politely, "
        "with facts, or not at all. A customer who complains many times on one bad day is not a troll.",
        "troll_line": "negative on {days} days of the last {window}, since {first}; {replies} replies from you today",
        "no_trolls": "None today.", "health": "Source health",
        "network": "network", "status": "status", "runs": "runs", "failed_runs": "failed",
        "last_error": "last error", "ok": "ok", "failed": "every run failed", "errors": "some runs failed",
        "quiet": "quiet: far fewer mentions than usual", "idle": "no collection run",
        "open": "open", "updated": "growing", "resolved": "resolved", "acknowledged": "acknowledged",
        "since": "since", "footer": "Sent by listener. Times are in {zone}.",
    },
    "it": {
        "title": "Riepilogo giornaliero", "subject_mentions": "menzioni", "subject_negative": "negative",
        "vs_mean": "sulla media a 7 giorni", "vs_mean_short": "vs media 7 gg", "summary": "{n} menzioni il {day}: {delta} rispetto alla media "
        "a 7 giorni ({mean} al giorno); {share} negative ({neg} delle {scored} menzioni di cui è stato "
        "valutato il sentiment).", "chart": "Menzioni, ultimi 7 giorni",
        "table_note": "Ogni variazione confronta il giorno con il giorno prima (vs ieri) e con la media dei 7 "
        "giorni precedenti (vs media 7 gg). Negative: la quota di menzioni negative tra quelle di cui è stato "
        "valutato il sentiment; le sue variazioni sono in punti percentuali (pp).",
        "health_runs": "{runs} raccolte, {failed} fallite", "health_volume": "menzioni: {n} (media 7 gg {mean})",
        "chart_alt": "Grafico a barre delle menzioni al giorno negli ultimi 7 giorni; in rosso: negative",
        "watches": "Ricerche", "watch": "ricerca", "mentions": "menzioni", "vs_yesterday": "vs ieri",
        "negative": "negative", "neg_yesterday": "neg. vs ieri", "neg_mean": "neg. vs media 7 gg",
        "mean7": "media 7 gg", "all": "tutte le menzioni",
        "to_answer": "{n} storie aspettano una tua risposta.",
        "to_answer_more": "Almeno {n} storie aspettano una tua risposta.",
        "to_answer_none": "Nessuna storia aspetta una tua risposta.", "inbox": "Rispondi dalla inbox",
        "stories": "A cosa rispondere prima",
        "stories_note": "Una riga per storia (un post e le sue copie su altre reti), prima ciò che aspetta "
        "una risposta: negative e senza risposta dai tuoi account, poi le più coinvolgenti e viste, poi le più "
        "recenti. Le storie gestite o ignorate non ci sono: quelle del giorno sono più sotto, con le loro "
        "note.",
        "no_stories": "Niente a cui rispondere.", "reply": "Rispondi", "open_link": "Apri il post", "in_inbox": "Segnala nella inbox",
        "dealt": "Già trattate nella inbox",
        "dealt_note": "Storie del giorno segnate nella inbox: {n}, le più recenti prima. Quelle segnalate "
        "restano nella lista qui sopra finché non sono gestite.", "dealt_more": "almeno {n}",
        "dealt_handled": "gestita", "dealt_escalated": "segnalata", "dealt_ignored": "ignorata",
        "do_not_feed": "troll: non alimentarlo",
        "alerts": "Allerte del giorno", "no_alerts": "Nessuna allerta oggi.",
        "more_alerts": "…e altre {n}: vedi 'listener alerts'.", "terms": "termini trainanti (post ora vs la settimana prima)",
        "authors": "autori più attivi (rete, post)", "example": "post più coinvolgente",
        "trolls": "Troll: non alimentarli",
        "trolls_note": "Negativi in {days} o più giorni diversi degli ultimi {window}. Rispondi una volta, con "
        "garbo e con i fatti, oppure non rispondere. Un cliente che si lamenta molte volte in una brutta "
        "giornata non è un troll.",
        "troll_line": "negativo in {days} giorni degli ultimi {window}, dal {first}; {replies} risposte da te oggi",
        "no_trolls": "Nessuno oggi.", "health": "Stato delle fonti",
        "network": "rete", "status": "stato", "runs": "raccolte", "failed_runs": "fallite",
        "last_error": "ultimo errore", "ok": "ok", "failed": "tutte le raccolte sono fallite",
        "errors": "alcune raccolte sono fallite", "quiet": "silenziosa: molte meno menzioni del solito",
        "idle": "nessuna raccolta", "open": "aperta", "updated": "in crescita", "resolved": "rientrata",
        "acknowledged": "presa in carico", "since": "dalle",
        "footer": "Inviato da listener. Orari nel fuso {zone}.",
    },
}  # fmt: skip

_DAYS = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "it": ["lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"],
}
_MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"],
    "it": ["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre",
           "ottobre", "novembre", "dicembre"],
}  # fmt: skip


def day_name(day: date, language: str) -> str:
    """``Friday 20 November 2026`` / ``venerdì 20 novembre 2026``."""
    return f"{_DAYS[language][day.weekday()]} {day.day} {_MONTHS[language][day.month - 1]} {day.year}"


def number(value: float, language: str, decimals: int = 0) -> str:
    """1,234.5 in English, 1.234,5 in Italian."""
    text = f"{value:,.{decimals}f}"
    return text.translate(str.maketrans(",.", ".,")) if language == "it" else text


def percent(value: float | None, language: str) -> str:
    if value is None:
        return "–"
    return number(value * 100, language, 0 if value == 0 or abs(value) >= 0.1 else 1) + "%"


def signed_percent(now: float, before: float | None, language: str) -> str:
    """The change from ``before`` to ``now``: +12%, −40%; "new" from nothing."""
    if before is None or before == 0:
        return "–" if not now else ("nuovo" if language == "it" else "new")
    change = (now - before) / before
    sign = "+" if change >= 0 else "−"
    return sign + percent(abs(change), language)


def points(now: float | None, before: float | None, language: str) -> str:
    """A change of share in percentage points: +3.5 pp / +3,5 pp."""
    if now is None or before is None:
        return "–"
    diff = (now - before) * 100
    sign = "+" if diff >= 0 else "−"
    return f"{sign}{number(abs(diff), language, 1)} pp"


# The ranking's reasons (``listener.stories.priority``), said in Italian; counts as Italian writes them.
_REASONS_IT = {
    "negative": "negativa", "partly negative": "in parte negativa", "unanswered": "senza risposta", "answered": "già risposto dai tuoi account",
    "customer": "cliente: rispondi",
    "troll: do not feed": "troll: non alimentarlo", "escalated": "segnalata",
}  # fmt: skip
_COUNTED = re.compile(r"^([\d,]+) (networks|interactions|views|negative posts)$")
_COUNTED_IT = {"networks": "reti", "interactions": "interazioni", "views": "visualizzazioni",
               "negative posts": "post negativi"}  # fmt: skip
_ONE_IT = {"networks": "rete", "interactions": "interazione", "views": "visualizzazione",
           "negative posts": "post negativo"}  # fmt: skip


def reason(text: str, language: str) -> str:
    """One reason a story ranks where it does (``3 networks``), in the reader's language."""
    if m := _COUNTED.match(text):
        n, what = int(m.group(1).replace(",", "")), m.group(2)
        if language == "it":
            return f"{number(n, 'it')} {_COUNTED_IT[what] if n != 1 else _ONE_IT[what]}"
        return f"{number(n, 'en')} {what if n != 1 else what.removesuffix('s')}"
    if language == "it":
        return _REASONS_IT.get(text, text)
    return {"customer": "customer: answer", "answered": "answered by your accounts"}.get(text, text)
