"""A digest as an email: HTML with inline CSS, a plain-text part and the chart inline.

Every string that came from the internet (post text, handles, alert summaries,
collector error messages) goes through ``chat_safe`` once, here, when the view
is built; the HTML template then escapes it (Jinja2 autoescape) and only
``http(s)`` links become ``href``. Layout is tables and inline styles, what
Outlook, Gmail and Apple Mail agree on. The chart is a PNG part of a
``multipart/related`` referenced as ``cid:``: Gmail drops ``data:`` images.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment

from listener import mail
from listener.alerts.message import chat_safe, safe_url, spread_text
from listener.digest.build import Digest, WatchLine
from listener.digest.chart import NEGATIVE, OTHER, bar_chart
from listener.digest.words import WORDS, day_name, number, percent, points, signed_percent
from listener.records import SEVERITY_RANK
from storage.digest import AlertRow, TopMention

__all__ = ["Rendered", "render", "to_email"]

CHART_CID = "chart"  # replaced by a unique Content-ID in to_email
MAX_ALERTS = 20  # the rest is one line: Gmail clips messages over 102 KB


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str  # references the chart as cid:CHART_CID
    chart: bytes  # PNG


def _rgb(colour: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*colour)


def _watch_row(line: WatchLine, name: str, lang: str) -> list[str]:
    return [
        chat_safe(name, 64), number(line.volume, lang), signed_percent(line.volume, line.prev_volume, lang),
        signed_percent(line.volume, line.mean_volume, lang), percent(line.share, lang),
        points(line.share, line.prev_share, lang), points(line.share, line.mean_share, lang),
    ]  # fmt: skip


def _mention(
    m: TopMention, zone: ZoneInfo, trolls: set[tuple[str, str]], w: dict[str, str], d: Digest
) -> dict[str, Any]:
    when = datetime.fromisoformat(m.created_at).astimezone(zone).strftime("%H:%M")
    flag = f" · {w['troll_flag']}" if (m.network, m.author_handle) in trolls else ""
    spread = d.spreads.get(m.id)
    label = spread_text(spread.size - 1, spread.others(m.network), d.options.language) if spread else ""
    copies = f" · {label}" if label else ""
    return {
        "head": chat_safe(f"{m.network} · {m.author_handle or '?'} · {when} · {w['engagement']} {m.engagement}"
                          f"{' · ' + m.watches if m.watches else ''}{flag}{copies}", 200),
        "text": chat_safe(m.text),
        "url": safe_url(m.url),
    }  # fmt: skip


def _term(item: dict[str, Any], key: str) -> str:
    """``rimborso (12 vs 0)``: a driving term with its count in the incident and before it."""
    counts = f" ({item['window']} vs {item['baseline']})" if "window" in item and "baseline" in item else ""
    return f"{item.get(key, '')}{counts}"


def _alert(a: AlertRow, zone: ZoneInfo, day: date, w: dict[str, str]) -> dict[str, Any]:
    exp = a.explanation
    started = datetime.fromisoformat(a.started_at).astimezone(zone)
    since = started.strftime("%H:%M" if started.date() == day else "%d/%m %H:%M")
    scope = a.watch + (f" ({a.network})" if a.network else "")
    details = []
    if exp.get("terms"):
        details.append(f"{w['terms']}: " + ", ".join(_term(t, "term") for t in exp["terms"][:6]))
    if exp.get("hashtags"):
        details.append("#: " + ", ".join(_term(t, "tag") for t in exp["hashtags"][:5]))
    if exp.get("authors"):
        details.append(f"{w['authors']}: " + ", ".join(
            f"{x.get('handle')} ({x.get('network')}, {x.get('count')})" for x in exp["authors"][:5]))  # fmt: skip
    sample = (exp.get("samples") or [None])[0]
    return {
        "head": chat_safe(f"{a.severity.upper()} · {scope} · {w.get(a.state, a.state)} · {w['since']} {since}", 200),
        "summary": chat_safe(a.summary, 300),
        "details": [chat_safe(d, 300) for d in details],
        "example": chat_safe(f"{w['example']}: {sample.get('author') or '?'}: {sample.get('text', '')}", 330)
        if isinstance(sample, dict) else None,
        "url": safe_url(sample.get("url")) if isinstance(sample, dict) else None,
    }  # fmt: skip


def view(d: Digest) -> dict[str, Any]:
    """The digest as safe, formatted strings: the one source of both the HTML and the text."""
    lang = d.options.language
    w = WORDS[lang]
    zone = ZoneInfo(d.options.timezone)
    t = d.total
    trolls = {(a.network, a.author_handle) for a in d.trolls}
    when = day_name(d.day, lang)
    alerts = sorted(d.alerts, key=lambda a: (-SEVERITY_RANK.get(a.severity, 0), a.started_at, a.id))
    subject = (
        f"[listener] {w['title']} {d.day.isoformat()}: {number(t.volume, lang)} {w['subject_mentions']} "
        f"({signed_percent(t.volume, t.mean_volume, lang)} {w['vs_mean']}), "
        f"{percent(t.share, lang)} {w['subject_negative']}"
    )
    return {
        "w": w,
        "subject": subject,
        "title": f"{w['title']} · {when}",
        "summary": w["summary"].format(
            n=number(t.volume, lang),
            day=when,
            delta=signed_percent(t.volume, t.mean_volume, lang),
            mean=number(t.mean_volume, lang, 1),
            share=percent(t.share, lang),
        ),
        "columns": [
            w["watch"],
            w["mentions"],
            w["vs_yesterday"],
            w["vs_mean_short"],
            w["negative"],
            w["neg_yesterday"],
            w["neg_mean"],
        ],
        "rows": [_watch_row(line, line.name, lang) for line in d.watches],
        "total": _watch_row(t, w["all"], lang),
        "alerts": [_alert(a, zone, d.day, w) for a in alerts[:MAX_ALERTS]],
        "more_alerts": w["more_alerts"].format(n=len(alerts) - MAX_ALERTS)
        if len(alerts) > MAX_ALERTS
        else "",
        "top": [_mention(m, zone, trolls, w, d) for m in d.top],
        "unanswered_count": w["unanswered_count"].format(n=number(d.unanswered_total, lang)),
        "unanswered": [_mention(m, zone, trolls, w, d) for m in d.unanswered],
        "trolls": [
            {
                "text": chat_safe(f"{a.network} · {a.author_handle}: {a.negative} {w['posts']}", 200),
                "url": safe_url(a.last_url),
            }
            for a in d.trolls
        ],
        "repeat": [
            chat_safe(
                f"{a.network} · {a.handle or a.author_key}: "
                + w["repeat_line"].format(
                    n=a.negative, total=a.mentions, first=a.first_seen[:10], replies=a.replies_received
                ),
                200,
            )
            for a in d.repeat_authors
        ],
        "health_columns": [
            w["network"],
            w["status"],
            w["runs"],
            w["failed_runs"],
            w["mentions"],
            w["mean7"],
            w["last_error"],
        ],
        "health": [
            {
                "ok": h.status == "ok",
                "cells": [
                    chat_safe(h.network, 40),
                    w[h.status],
                    str(h.runs),
                    str(h.failed),
                    number(h.volume, lang),
                    number(h.mean_volume, lang, 1),
                    chat_safe(h.last_error or "", 200),
                ],
            }
            for h in d.health
        ],
        "health_alerts": [_alert(a, zone, d.day, w) for a in d.health_alerts],
        "footer": w["footer"].format(zone=d.options.timezone),
        "colours": {"negative": _rgb(NEGATIVE), "other": _rgb(OTHER)},
    }


_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_HTML = _ENV.from_string(
    """\
<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="margin:0;padding:0;background:#f4f4f4">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f4f4f4"><tr><td>
<table role="presentation" width="640" cellpadding="0" cellspacing="0" align="center" style="max-width:640px;background:#ffffff;font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222222;line-height:1.4">
<tr><td style="padding:16px;background:#2d3748;color:#ffffff;font-size:18px;font-weight:bold">{{ title }}</td></tr>
<tr><td style="padding:16px">
<p style="margin:0 0 12px 0">{{ summary }}</p>
<p style="margin:16px 0 4px 0;font-size:16px;font-weight:bold">{{ w.chart }}</p>
<img src="cid:{{ cid }}" width="560" height="220" alt="{{ w.chart_alt }}" style="display:block;border:0;max-width:100%;height:auto">
<p style="margin:4px 0 0 0;font-size:12px;color:#555555"><span style="color:{{ colours.negative }}">&#9632;</span> {{ w.legend_negative }} &nbsp; <span style="color:{{ colours.other }}">&#9632;</span> {{ w.legend_other }} &nbsp; - - {{ w.legend_mean }}</p>
<p style="margin:20px 0 4px 0;font-size:16px;font-weight:bold">{{ w.watches }}</p>
<table cellpadding="4" cellspacing="0" style="border-collapse:collapse;font-size:13px;width:100%">
<tr>{% for c in columns %}<th style="text-align:{{ 'left' if loop.first else 'right' }};border-bottom:2px solid #cccccc">{{ c }}</th>{% endfor %}</tr>
{% for row in rows %}<tr>{% for c in row %}<td style="text-align:{{ 'left' if loop.first else 'right' }};border-bottom:1px solid #eeeeee">{{ c }}</td>{% endfor %}</tr>
{% endfor %}<tr>{% for c in total %}<td style="text-align:{{ 'left' if loop.first else 'right' }};font-weight:bold">{{ c }}</td>{% endfor %}</tr>
</table>
{% macro items(list) %}{% for m in list %}<p style="margin:6px 0;padding:6px 8px;border-left:3px solid #cccccc"><b>{{ m.head }}</b><br>{{ m.text }}{% if m.url %}<br><a href="{{ m.url }}" style="color:#2b6cb0">{{ m.url }}</a>{% endif %}</p>
{% endfor %}{% endmacro %}
{% macro alerts_of(list) %}{% for a in list %}<p style="margin:6px 0;padding:6px 8px;border-left:3px solid {{ colours.negative }}"><b>{{ a.head }}</b><br>{{ a.summary }}{% for d in a.details %}<br>{{ d }}{% endfor %}{% if a.example %}<br>{{ a.example }}{% endif %}{% if a.url %}<br><a href="{{ a.url }}" style="color:#2b6cb0">{{ a.url }}</a>{% endif %}</p>
{% endfor %}{% endmacro %}
<p style="margin:20px 0 4px 0;font-size:16px;font-weight:bold">{{ w.alerts }}</p>
{% if alerts %}{{ alerts_of(alerts) }}{% if more_alerts %}<p style="margin:0">{{ more_alerts }}</p>{% endif %}{% else %}<p style="margin:0">{{ w.no_alerts }}</p>{% endif %}
<p style="margin:20px 0 4px 0;font-size:16px;font-weight:bold">{{ w.top }}</p>
{% if top %}{{ items(top) }}{% else %}<p style="margin:0">{{ w.none }}</p>{% endif %}
<p style="margin:20px 0 4px 0;font-size:16px;font-weight:bold">{{ w.unanswered }}</p>
{% if unanswered %}<p style="margin:0">{{ unanswered_count }}</p>{{ items(unanswered) }}{% else %}<p style="margin:0">{{ w.all_answered }}</p>{% endif %}
<p style="margin:20px 0 4px 0;font-size:16px;font-weight:bold">{{ w.trolls }}</p>
{% if trolls %}<p style="margin:0 0 4px 0;color:#555555">{{ w.trolls_note }}</p>
{% for t in trolls %}<p style="margin:4px 0">{{ t.text }}{% if t.url %} · <a href="{{ t.url }}" style="color:#2b6cb0">{{ t.url }}</a>{% endif %}</p>
{% endfor %}{% else %}<p style="margin:0">{{ w.none }}</p>{% endif %}
{% if repeat %}<p style="margin:20px 0 4px 0;font-size:16px;font-weight:bold">{{ w.repeat }}</p>
<p style="margin:0 0 4px 0;color:#555555">{{ w.repeat_note }}</p>
{% for r in repeat %}<p style="margin:4px 0">{{ r }}</p>
{% endfor %}{% endif %}
<p style="margin:20px 0 4px 0;font-size:16px;font-weight:bold">{{ w.health }}</p>
<table cellpadding="4" cellspacing="0" style="border-collapse:collapse;font-size:13px;width:100%">
<tr>{% for c in health_columns %}<th style="text-align:left;border-bottom:2px solid #cccccc">{{ c }}</th>{% endfor %}</tr>
{% for h in health %}<tr>{% for c in h.cells %}<td style="text-align:left;border-bottom:1px solid #eeeeee;{{ '' if h.ok else 'color:' ~ colours.negative }}">{{ c }}</td>{% endfor %}</tr>
{% endfor %}</table>
{{ alerts_of(health_alerts) }}
<p style="margin:24px 0 0 0;font-size:12px;color:#777777">{{ footer }}</p>
</td></tr></table>
</td></tr></table>
</body></html>
"""
)


def _text(v: dict[str, Any]) -> str:
    w = v["w"]
    widths = [
        max(len(str(r[i])) for r in [v["columns"], *v["rows"], v["total"]]) for i in range(len(v["columns"]))
    ]

    def table_line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells)
        ).rstrip()

    def entries(items: list[dict[str, Any]]) -> list[str]:
        return [f"- {m['head']}\n  {m['text']}" + (f"\n  {m['url']}" if m["url"] else "") for m in items]

    def alert_lines(items: list[dict[str, Any]]) -> list[str]:
        return [
            "\n  ".join([f"- {a['head']}", a["summary"], *a["details"], *([a["example"]] if a["example"] else []),
                         *([a["url"]] if a["url"] else [])])
            for a in items
        ]  # fmt: skip

    lines = [v["title"], "", v["summary"], "", f"{w['watches']}:", table_line(v["columns"])]
    lines += [table_line(r) for r in v["rows"]] + [table_line(v["total"]), "", f"{w['alerts']}:"]
    lines += alert_lines(v["alerts"]) or [w["no_alerts"]]
    lines += [v["more_alerts"]] if v["more_alerts"] else []
    lines += ["", f"{w['top']}:", *(entries(v["top"]) or [w["none"]]), "", f"{w['unanswered']}:"]
    lines += [v["unanswered_count"], *entries(v["unanswered"])] if v["unanswered"] else [w["all_answered"]]
    lines += ["", f"{w['trolls']}:"]
    if v["trolls"]:
        lines += [
            w["trolls_note"],
            *(f"- {t['text']}" + (f" {t['url']}" if t["url"] else "") for t in v["trolls"]),
        ]
    else:
        lines.append(w["none"])
    if v["repeat"]:
        lines += ["", f"{w['repeat']}:", w["repeat_note"], *(f"- {r}" for r in v["repeat"])]
    lines += ["", f"{w['health']}:"]
    lines += [f"- {' · '.join(c for c in h['cells'] if c)}" for h in v["health"]]
    lines += alert_lines(v["health_alerts"])
    return "\n".join([*lines, "", v["footer"], ""])


def render(d: Digest) -> Rendered:
    """Subject, plain text, HTML and the chart of a digest."""
    v = view(d)
    chart = bar_chart(d.chart, d.total.mean_volume)
    html = _HTML.render(cid=CHART_CID, **v)
    return Rendered(subject=v["subject"], text=_text(v), html=html, chart=chart)


def to_email(r: Rendered, sender: str, recipients: list[str] | tuple[str, ...],
             now: datetime, domain: str | None = None) -> EmailMessage:  # fmt: skip
    """multipart/alternative: text/plain, then multipart/related (text/html + image/png).

    The subject is our own words and figures; it still goes through
    ``header_value`` like every header of every mail we send.
    """
    message = mail.new_message()
    message["Subject"] = mail.header_value(r.subject)
    # From is set by mail.send (it assigns the header, which fails if one is there already).
    message["To"] = mail.header_value(", ".join(recipients), None)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid("digest", domain=domain or sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    cid = make_msgid("chart", domain=domain or sender.rpartition("@")[2] or None)
    message.set_content(r.text)
    message.add_alternative(r.html.replace(f"cid:{CHART_CID}", f"cid:{cid[1:-1]}"), subtype="html")
    html_part = message.get_payload()[1]  # type: ignore[index]
    assert isinstance(html_part, EmailMessage)
    html_part.add_related(r.chart, "image", "png", cid=cid, filename="chart.png", disposition="inline")
    return message


def preview_html(r: Rendered) -> str:
    """The HTML for a browser: the chart inline as a data: URI (fine in a browser, not in Gmail)."""
    import base64

    data = base64.b64encode(r.chart).decode("ascii")
    return r.html.replace(f"cid:{CHART_CID}", f"data:image/png;base64,{data}")
