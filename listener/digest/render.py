"""A digest as an email: HTML with inline CSS, a plain-text part and the chart inline.

Every string that came from the internet (post text, handles, alert summaries,
collector error messages) goes through ``chat_safe`` once, here, when the view
is built; the HTML template (``template``) then escapes it (Jinja2 autoescape)
and only ``http(s)`` links become ``href``. The chart is a PNG part of a
``multipart/related`` referenced as ``cid:``: Gmail drops ``data:`` images.
Times are local to the digest's zone, named once in the footer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from listener import mail
from listener.alerts.message import chat_safe, safe_url, spread_text
from listener.charts import NEGATIVE, ChartLabels, daily_chart
from listener.digest.build import Digest, Troll, WatchLine
from listener.digest.dealt import dealt_section
from listener.digest.template import HTML
from listener.digest.words import WORDS, day_name, number, percent, points, reason, signed_percent
from listener.localtime import local_clock, local_date, local_times_in
from listener.records import SEVERITY_RANK
from listener.stories import RankedStory
from storage.digest import AlertRow

__all__ = ["Rendered", "render", "to_email"]

CHART_CID = "chart"  # replaced by a unique Content-ID in to_email
CHART_WIDTH = 600  # px as shown; drawn at twice that, sharp on a phone's screen
MAX_ALERTS = 20  # the rest is one line: Gmail clips messages over 102 KB


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str  # references the chart as cid:CHART_CID
    chart: bytes  # PNG


def _watch_row(line: WatchLine, name: str, lang: str) -> list[str]:
    return [
        chat_safe(name, 64), number(line.volume, lang), signed_percent(line.volume, line.prev_volume, lang),
        signed_percent(line.volume, line.mean_volume, lang), percent(line.share, lang),
        points(line.share, line.prev_share, lang), points(line.share, line.mean_share, lang),
    ]  # fmt: skip


def _watch_cells(line: WatchLine, name: str, w: dict[str, str], lang: str) -> dict[str, Any]:
    """One watch for a narrow screen: its mentions and negative share, each with its changes below."""
    volume = [
        (signed_percent(line.volume, line.prev_volume, lang), w["vs_yesterday"]),
        (signed_percent(line.volume, line.mean_volume, lang), w["vs_mean_short"]),
    ]
    share = [(points(line.share, line.prev_share, lang), w["vs_yesterday"]),
             (points(line.share, line.mean_share, lang), w["vs_mean_short"])]  # fmt: skip
    return {"name": chat_safe(name, 64), "cells": [
        (number(line.volume, lang), [f"{x} {label}" for x, label in volume if x != "–"]),
        (percent(line.share, lang), [f"{x} {label}" for x, label in share if x != "–"]),
    ]}  # fmt: skip


def _spread(r: RankedStory, lang: str) -> str:
    """``+19 copies on reddit, mastodon``: where the story went beyond its lead post."""
    others = [net for net, _ in r.story.networks if net != r.story.lead.network]
    return spread_text(r.story.members - 1, others or [r.story.lead.network], lang)


def _story(r: RankedStory, w: dict[str, str], d: Digest) -> dict[str, Any]:
    """One story to answer: who and when, its author tag, why it ranks, the post, reply and open links."""
    lead, lang = r.story.lead, d.options.language
    when = local_clock(lead.created_at, d.options.timezone, lang, d.day)
    tag = w["do_not_feed"] if r.author == "troll" else ""
    # The time is in the head, the troll tag too; an answered customer is answered.
    skip = {"troll: do not feed", *(["customer"] if r.story.answered else [])}
    why = [reason(x, lang) for x in r.reasons if not x.endswith(" ago") and x not in skip]
    reply, original = safe_url(r.reply_url), safe_url(r.open_url)
    links = [(w["reply"], reply), (w["open_link"], original if original != reply else None)]
    if d.options.inbox_url:  # its card in the inbox (listener serve), to mark it handled
        links.append((w["in_inbox"], safe_url(f"{d.options.inbox_url}/-/inbox#story-{r.story.key}")))
    return {
        "head": chat_safe(
            " · ".join(x for x in (lead.network, lead.author_handle or "?", when, tag) if x), 200
        ),
        "tag": bool(tag),
        "why": chat_safe(" · ".join(x for x in (*why, _spread(r, lang)) if x), 300),
        "text": chat_safe(lead.text),
        "links": [(label, url) for label, url in links if url],
    }


def _troll(t: Troll, w: dict[str, str], d: Digest) -> dict[str, Any]:
    h, lang = t.history, d.options.language
    line = w["troll_line"].format(days=h.negative_days, window=d.rule.window_days,
                                  first=local_date(h.first_negative or h.first_seen, d.options.timezone, lang),
                                  replies=t.author.replies_received)  # fmt: skip
    return {"text": chat_safe(f"{h.network} · {t.author.handle or t.author.author_key}: {line}", 300),
            "url": safe_url(t.url)}  # fmt: skip


def _term(item: dict[str, Any], key: str) -> str:
    """``rimborso (12 vs 0)``: a driving term with its count in the incident and before it."""
    counts = f" ({item['window']} vs {item['baseline']})" if "window" in item and "baseline" in item else ""
    return f"{item.get(key, '')}{counts}"


def _alert(a: AlertRow, d: Digest, w: dict[str, str]) -> dict[str, Any]:
    exp = a.explanation
    since = local_clock(a.started_at, d.options.timezone, d.options.language, d.day)
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
        "summary": chat_safe(local_times_in(a.summary, d.options.timezone, d.options.language), 300),
        "details": [chat_safe(x, 300) for x in details],
        "example": chat_safe(f"{w['example']}: {sample.get('author') or '?'}: {sample.get('text', '')}", 330)
        if isinstance(sample, dict) else None,
        "url": safe_url(sample.get("url")) if isinstance(sample, dict) else None,
    }  # fmt: skip


def _summary(d: Digest, w: dict[str, str]) -> str:
    lang, t = d.options.language, d.total
    return w["summary"].format(
        n=number(t.volume, lang), day=day_name(d.day, lang), delta=signed_percent(t.volume, t.mean_volume, lang),
        mean=number(t.mean_volume, lang, 1), share=percent(t.share, lang), neg=number(t.negative, lang),
        scored=number(t.scored, lang),
    )  # fmt: skip


def _health(d: Digest, w: dict[str, str]) -> list[dict[str, Any]]:
    """One line per network: ``x · ok · 24 runs, 0 failed · 312 mentions (7-day mean 280.1)``."""
    lang = d.options.language
    return [
        {
            "ok": h.status == "ok",
            "line": chat_safe(" · ".join(part for part in (
                h.network, w[h.status], w["health_runs"].format(runs=h.runs, failed=h.failed),
                w["health_volume"].format(n=number(h.volume, lang), mean=number(h.mean_volume, lang, 1)),
                h.last_error and f"{w['last_error']}: {h.last_error}") if part), 400),
        }
        for h in d.health
    ]  # fmt: skip


def _sections(d: Digest, w: dict[str, str]) -> list[dict[str, Any]]:
    """The digest's lists in order, each: title, a note, and posts, alerts or lines (or the empty text)."""
    alerts = sorted(d.alerts, key=lambda a: (-SEVERITY_RANK.get(a.severity, 0), a.started_at, a.id))
    more = len(alerts) - MAX_ALERTS
    return [
        {"title": w["stories"], "note": w["stories_note"] if d.stories else "", "empty": w["no_stories"],
         "posts": [_story(r, w, d) for r in d.stories]},
        *([dealt_section(d.dealt, w, d.options.timezone, d.options.language, d.day)] if d.dealt.count else []),
        {"title": w["alerts"], "alerts": [_alert(a, d, w) for a in alerts[:MAX_ALERTS]], "empty": w["no_alerts"],
         "more": w["more_alerts"].format(n=more) if more > 0 else ""},
        {"title": w["trolls"], "empty": w["no_trolls"], "lines": [_troll(t, w, d) for t in d.trolls],
         "note": w["trolls_note"].format(days=d.rule.min_negative_days, window=d.rule.window_days)},
    ]  # fmt: skip


def _to_answer(d: Digest, w: dict[str, str]) -> str:
    """The one place the number of stories needing an answer is said."""
    n = number(d.to_answer, d.options.language)
    if not d.to_answer:
        return w["to_answer_none"]
    return (w["to_answer_more"] if d.to_answer_more else w["to_answer"]).format(n=n)


def view(d: Digest) -> dict[str, Any]:
    """The digest as safe, formatted strings: the one source of both the HTML and the text."""
    lang = d.options.language
    w = WORDS[lang]
    t = d.total
    subject = (
        f"[listener] {w['title']} {d.day.isoformat()}: {number(t.volume, lang)} {w['subject_mentions']} "
        f"({signed_percent(t.volume, t.mean_volume, lang)} {w['vs_mean']}), "
        f"{percent(t.share, lang)} {w['subject_negative']}"
    )
    columns = ["watch", "mentions", "vs_yesterday", "vs_mean_short", "negative", "neg_yesterday", "neg_mean"]
    return {
        "w": w, "lang": lang, "subject": subject, "title": f"{w['title']} · {day_name(d.day, lang)}",
        "summary": _summary(d, w), "next_step": _to_answer(d, w), "inbox": safe_url(d.options.inbox_url),
        "inbox_label": w["inbox"],
        "columns": [w[c] for c in columns],
        "rows": [_watch_row(line, line.name, lang) for line in d.watches],
        "total": _watch_row(t, w["all"], lang),
        "watch_columns": [w["watch"], w["mentions"], w["negative"]],
        "watch_rows": [*(_watch_cells(x, x.name, w, lang) for x in d.watches), _watch_cells(t, w["all"], w, lang)],
        "sections": _sections(d, w),
        "health": _health(d, w),
        "health_alerts": [_alert(a, d, w) for a in d.health_alerts],
        "footer": w["footer"].format(zone=d.options.timezone),
        "colours": {"negative": NEGATIVE},
        "chart_alt": w["chart_alt"], "chart_width": CHART_WIDTH, "chart_height": CHART_WIDTH // 2,
    }  # fmt: skip


def _table(v: dict[str, Any]) -> list[str]:
    rows = [v["columns"], *v["rows"], v["total"]]
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(v["columns"]))]
    return [
        "  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r)).rstrip()
        for r in rows
    ]


def _alert_lines(items: list[dict[str, Any]]) -> list[str]:
    return [
        "\n  ".join([f"- {a['head']}", a["summary"], *a["details"], *([a["example"]] if a["example"] else []),
                     *([a["url"]] if a["url"] else [])])
        for a in items
    ]  # fmt: skip


def _section_lines(section: dict[str, Any]) -> list[str]:
    lines = ["", f"{section['title']}:"] + ([section["note"]] if section.get("note") else [])
    if section.get("posts"):
        for m in section["posts"]:
            lines.append(f"- {m['head']}" + (f"\n  {m['why']}" if m["why"] else "") + f"\n  {m['text']}")
            lines += [f"  {label}: {url}" if label != url else f"  {url}" for label, url in m["links"]]
    elif section.get("alerts"):
        lines += _alert_lines(section["alerts"])
    elif section.get("lines"):
        lines += [f"- {x['text']}" + (f" {x['url']}" if x["url"] else "") for x in section["lines"]]
    else:
        lines.append(section.get("empty", ""))
    return lines + ([section["more"]] if section.get("more") else [])


def _text(v: dict[str, Any]) -> str:
    w = v["w"]
    lines = [v["title"], "", v["summary"]]
    if v["next_step"]:
        lines += ["", v["next_step"], *([f"{v['inbox_label']}: {v['inbox']}"] if v["inbox"] else [])]
    lines += ["", f"{w['watches']}:", *_table(v), w["table_note"]]
    for section in v["sections"]:
        lines += _section_lines(section)
    lines += [
        "",
        f"{w['health']}:",
        *(f"- {h['line']}" for h in v["health"]),
        *_alert_lines(v["health_alerts"]),
    ]
    return "\n".join([*lines, "", v["footer"], ""])


def render(d: Digest) -> Rendered:
    """Subject, plain text, HTML and the chart of a digest."""
    v = view(d)
    days, mentions, negative = zip(*d.chart, strict=True) if d.chart else ((), (), ())
    labels = ChartLabels.of(d.options.language)
    chart = daily_chart(days, mentions, negative, labels, width_px=2 * CHART_WIDTH, mean=d.total.mean_volume)
    html = HTML.render(cid=CHART_CID, **v)
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
