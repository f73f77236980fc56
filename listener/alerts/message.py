"""An alert as a message: subject, plain text, HTML and JSON, every one inert.

Text from the internet (posts, handles, terms) is hostile. HTML goes through
Jinja2's autoescaping; plain text loses control and bidi characters, and
@everyone-style mass mentions are broken so a post cannot ping a whole chat.
Long texts are capped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment

from listener.alerts.next_step import inbox_for, next_step
from listener.localtime import local_time, local_times_in
from listener.output import inert
from storage.alerts import AlertRow

__all__ = ["Message", "build_message", "chat_safe", "safe_url", "sample_ids", "spread_text"]

MAX_POST = 280
MAX_TEXT = 3500
_MASS_MENTION = re.compile(r"(@)(everyone|here|channel|all)\b|<(!|@)", re.IGNORECASE)
_ZWSP = "\u200b"
_URL = re.compile(r"https?://[^\s<>\"'`\\\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]{1,2000}")

WORDS = {
    "en": {
        "opened": "new", "updated": "growing", "resolved": "resolved", "volume": "mentions",
        "negative": "negative share", "health": "source health", "expected": "expected",
        "terms": "Driving terms (posts now vs the week before)", "authors": "Top authors (posts)", "samples": "Most engaged posts",
        "languages": "Languages (posts)", "networks": "Networks (posts)", "since": "since",
        "own-account": "own account", "posts": "posts that do not look like it",
        "why": "Why it looks wrong", "interaction": "interaction", "interactions": "interactions",
        "triage:handled": "handled", "triage:ignored": "ignored", "triage:escalated": "escalated",
        "health:auth": "credentials refused", "health:rate-limited": "rate limit used up",
        "health:rejects": "unreadable items", "health:quiet": "unusually quiet",
    },
    "it": {
        "opened": "nuovo", "updated": "in crescita", "resolved": "rientrato", "volume": "menzioni",
        "negative": "quota negativa", "health": "stato delle fonti", "expected": "atteso",
        "terms": "Termini trainanti (post ora vs la settimana prima)", "authors": "Autori principali (post)", "samples": "Post più coinvolgenti",
        "languages": "Lingue (post)", "networks": "Reti (post)", "since": "dalle",
        "own-account": "account ufficiale", "posts": "post che non gli somigliano",
        "why": "Perché sembra anomalo", "interaction": "interazione", "interactions": "interazioni",
        "triage:handled": "gestito", "triage:ignored": "ignorato", "triage:escalated": "segnalato",
        "health:auth": "credenziali rifiutate", "health:rate-limited": "limite di richieste esaurito",
        "health:rejects": "elementi illeggibili", "health:quiet": "silenzio insolito",
    },
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    text: str
    html: str
    data: dict[str, Any]


def chat_safe(text: str, limit: int = MAX_POST) -> str:
    """One line of hostile text made safe to show in a chat or a terminal."""
    flat = inert(" ".join(str(text).split()))
    flat = _MASS_MENTION.sub(lambda m: m.group(0)[0] + _ZWSP + m.group(0)[1:], flat)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


_HTML = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True).from_string(
    """\
<div style="font-family:Arial,sans-serif;font-size:14px;line-height:1.4;color:#222;max-width:640px;width:100%;overflow-wrap:anywhere;word-break:break-word">
<p style="margin:0 0 8px 0;padding:8px;background:{{ colour }};color:#fff;font-weight:bold">{{ subject }}</p>
{% macro step_box() %}<div style="margin:16px 0 0 0;padding:8px 10px;background:#f1f5f9;border-left:3px solid {{ colour }}">
<p style="margin:0 0 4px 0;font-weight:bold">{{ step.title }}</p>
{% if step.ack %}<p style="margin:4px 0">{{ step.ack_label }}:<br><code style="font-family:Menlo,Consolas,monospace;background:#fff;padding:1px 4px">{{ step.ack }}</code></p>{% endif %}
{% if step.inbox %}<p style="margin:4px 0">{{ step.inbox_label }}: <a href="{{ step.inbox }}">{{ step.inbox }}</a></p>{% endif %}
{% if step.checklist_title %}<p style="margin:10px 0 4px 0;font-weight:bold">{{ step.checklist_title }}:</p>
<ol style="margin:0;padding-left:22px">{% for item in step.checklist %}<li>{{ item }}</li>{% endfor %}</ol>{% endif %}
</div>
{% endmacro %}
<p>{{ headline }}</p>
{% if step.checklist %}{{ step_box() }}{% endif %}
{% for title, items in lists %}
{% if items %}<p style="margin:12px 0 4px 0;font-weight:bold">{{ title }}</p>
<ul style="margin:0;padding-left:20px">{% for item in items %}<li>{{ item }}</li>{% endfor %}</ul>{% endif %}
{% endfor %}
{% if samples %}<p style="margin:12px 0 4px 0;font-weight:bold">{{ w.samples }}</p>
{% for s in samples %}<p style="margin:4px 0;padding:6px;border-left:3px solid #ccc">
<b>{{ s.head }}</b><br>{{ s.text }}
{% if s.url %}<br><a href="{{ s.url }}">{{ s.url }}</a>{% endif %}</p>{% endfor %}{% endif %}
{% if not step.checklist %}{{ step_box() }}{% endif %}
</div>"""
)
_COLOURS = {"info": "#2b6cb0", "warning": "#c05621", "critical": "#c53030"}


def _pct(value: float | None) -> str:
    return "?" if value is None else f"{value:.0%}"


def _headline(alert: AlertRow, w: dict[str, str], since: str, zone: str, language: str) -> str:
    """``since`` is the incident's start as people read it (``Dec 04 10:40``, with the zone or not)."""
    if alert.kind.startswith("health:"):
        return f"{w['health']}: {local_times_in(alert.summary, zone, language, name_zone=True)}"
    what = alert.explanation.get("what", {})
    scope = alert.watch + (f" ({alert.network})" if alert.network else "")
    if alert.kind == "own-account":
        return f"{w['own-account']} {scope}: {alert.observed or 0:g} {w['posts']}, {w['since']} {since}"
    if alert.kind == "negative":
        observed, expected = _pct(what.get("share")), _pct(what.get("expected_share"))
    else:
        observed, expected = f"{alert.observed or 0:g}", f"{alert.expected or 0:.1f}"
    return f"{w[alert.kind]} {scope}: {observed} vs {w['expected']} {expected}, {w['since']} {since}"


def _subject(alert: AlertRow, event: str, w: dict[str, str], since: str, language: str) -> str:
    """Only our own words, the configured watch and network, figures we computed, the severity.

    Never ``alert.summary``: a health summary quotes the server's error text,
    and a subject is a mail header. The summary goes in the body, made inert.
    """
    head = f"[listener] {alert.severity.upper()} {w.get(event, event)}:"
    if alert.kind.startswith("health:"):
        scope = alert.network + (f" ({alert.watch})" if alert.watch else "")
        return f"{head} {w['health']} {scope}: {w.get(alert.kind, alert.kind.removeprefix('health:'))}"
    return f"{head} {_headline(alert, w, since, 'UTC', language)}"


def safe_url(url: Any) -> str | None:
    """An http(s) link with nothing that could break out of an attribute or fool a reader; else None."""
    return url if isinstance(url, str) and _URL.fullmatch(url) else None


def spread_text(copies: int, networks: Sequence[str], language: str = "en") -> str:
    """``+2 copies on reddit, mastodon``: a near-duplicate story is shown once, with how far it went."""
    if copies <= 0:
        return ""
    where = ", ".join(str(n) for n in networks)
    if language == "it":
        word = "copia" if copies == 1 else "copie"
        return f"+{copies} {word}" + (f" su {where}" if where else "")
    word = "copy" if copies == 1 else "copies"
    return f"+{copies} {word}" + (f" on {where}" if where else "")


def _spread(sample: dict[str, Any], language: str) -> str:
    copies, networks = sample.get("copies"), sample.get("spread")
    if not isinstance(copies, int) or not isinstance(networks, list):
        return ""
    return spread_text(copies, networks, language)


def _drivers(exp: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Rising hashtags first, then words, each with its window and baseline counts."""
    return [(h["tag"], h) for h in exp.get("hashtags", [])] + [(t["term"], t) for t in exp.get("terms", [])]


def _words(language: str, kind: str) -> dict[str, str]:
    """Our words, plus a plug-in detector's for its own kind (its ``words``; else the kind itself)."""
    w = WORDS.get(language, WORDS["en"])
    if kind in w or kind.startswith("health:"):
        return w
    from listener import plugins

    own = getattr(plugins.detector_for(kind), "words", None) or {}
    return {**w, kind: kind, **own.get("en", {}), **own.get(language, {})}


def _interactions(value: Any, w: dict[str, str]) -> str:
    """``12 interactions``: likes, reposts, replies and quotes together; nothing when none or unknown."""
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        return ""
    return f"{value} {w['interaction'] if value == 1 else w['interactions']}"


def _sample(
    s: dict[str, Any], w: dict[str, str], language: str, zone: str, states: Mapping[int, str]
) -> dict[str, Any]:
    """One example post: who, where, when (local), how engaged and how far it spread, its triage
    state (``handled``: someone dealt with it in the inbox), then the text."""
    when = local_time(s["created_at"], zone, language) if s.get("created_at") else ""
    state = states.get(s["id"]) if isinstance(s.get("id"), int) else None
    parts = [s.get("network", ""), s.get("author") or "?", when, _interactions(s.get("engagement"), w),
             _spread(s, language), w.get(f"triage:{state}", "") if state else ""]  # fmt: skip
    return {
        "head": chat_safe(" · ".join(str(p) for p in parts if p), 200),
        "text": chat_safe(s.get("text", "")),
        "url": safe_url(s.get("url")),
    }


def sample_ids(alert: AlertRow) -> list[int]:
    """The mentions an alert shows as examples, to look up their triage state."""
    samples = alert.explanation.get("samples", [])
    return [s["id"] for s in samples if isinstance(s, dict) and isinstance(s.get("id"), int)]


def build_message(
    alert: AlertRow,
    event: str,
    language: str = "en",
    timezone: str = "UTC",
    inbox_url: str | None = None,
    states: Mapping[int, str] | None = None,
) -> Message:
    """Render one alert event; every piece of internet text is made inert here.

    Times are local to ``timezone`` ([alerts] timezone), its name said once, in
    the headline; the message ends with the next step (``next_step``). ``states``
    are the triage states of the example posts (``sample_ids``), by mention id.
    """
    w = _words(language, alert.kind)
    exp = alert.explanation
    since = local_time(alert.started_at, timezone, language)
    subject = chat_safe(_subject(alert, event, w, since, language), 200)
    lists = [
        (w["why"], [chat_safe(reason, 200) for reason in exp.get("reasons", [])]),
        (
            w["terms"],
            [chat_safe(f"{term} ({t['window']} vs {t['baseline']})", 80) for term, t in _drivers(exp)],
        ),
        (
            w["authors"],
            [chat_safe(f"{a['handle']} ({a['network']}): {a['count']}", 80) for a in exp.get("authors", [])],
        ),
        (w["languages"], [chat_safe(f"{k}: {v}", 40) for k, v in exp.get("languages", {}).items()]),
        (w["networks"], [chat_safe(f"{k}: {v}", 40) for k, v in exp.get("networks", {}).items()]),
    ]
    samples = [
        _sample(s, w, language, timezone, states or {}) for s in exp.get("samples", []) if isinstance(s, dict)
    ]
    headline = chat_safe(_headline(alert, w, f"{since} ({timezone})", timezone, language), 300)
    step = next_step(
        alert.id, alert.kind, event, language, inbox_for(safe_url(inbox_url), alert.kind, alert.watch)
    )
    # A hijack cannot wait for the end of the message: its checklist comes first.
    first, last = (step.lines(), []) if step.checklist else ([], step.lines())
    lines = [subject, "", headline, *(["", *first] if first else [])]
    for title, items in lists:
        if items:
            lines += ["", f"{title}:", *(f"- {item}" for item in items)]
    if samples:
        lines += ["", f"{w['samples']}:"]
        lines += [f"- {s['head']}: {s['text']}" + (f" {s['url']}" if s["url"] else "") for s in samples]
    tail = "\n".join(["", "", *last]) if last else ""
    text = "\n".join(lines)[: MAX_TEXT - len(tail)] + tail  # the next step survives the cap
    html = _HTML.render(subject=subject, headline=headline, lists=lists, samples=samples, w=w, step=step,
                        colour=_COLOURS.get(alert.severity, "#444"))  # fmt: skip
    data = {
        "id": alert.id, "event": event, "watch": alert.watch, "network": alert.network, "kind": alert.kind,
        "severity": alert.severity, "state": alert.state, "started_at": alert.started_at,
        "updated_at": alert.updated_at, "observed": alert.observed, "expected": alert.expected,
        "summary": chat_safe(local_times_in(alert.summary, timezone, language), 300), "text": text, "html": html,
    }  # fmt: skip
    return Message(subject=subject, text=text, html=html, data=data)
