"""The digest's HTML: an email that reads on a 390 px phone and in a 1000 px window.

Tables and inline styles, what Outlook, Gmail and Apple Mail agree on. The layout
is fluid (100% wide, at most 640 px): no element is wider than a phone except
inside Outlook's own conditional comment, which keeps its 640 px column. Long
URLs and words break (``overflow-wrap``) instead of widening the page. Every
value comes from ``render.view``, already made safe; Jinja2 escapes it again.
"""

from __future__ import annotations

from jinja2 import Environment, Template

__all__ = ["HTML"]

_H2 = "margin:22px 0 6px 0;font-size:17px;line-height:1.3;font-weight:bold"
_NOTE = "margin:4px 0 8px 0;font-size:12px;color:#555555"
_LINK = "color:#2b6cb0;word-break:break-all;overflow-wrap:anywhere"
_CARD = "margin:8px 0;padding:6px 8px;border-left:3px solid #cccccc"

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_ENV.globals.update(h2=_H2, note=_NOTE, link=_LINK, card=_CARD)
HTML: Template = _ENV.from_string(
    """\
<!DOCTYPE html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="x-apple-disable-message-reformatting">
<title>{{ subject }}</title></head>
<body style="margin:0;padding:0;background:#f4f4f4;-webkit-text-size-adjust:100%">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="width:100%;background:#f4f4f4"><tr><td align="center" style="padding:0">
<!--[if mso]><table role="presentation" width="640" cellpadding="0" cellspacing="0"><tr><td><![endif]-->
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="width:100%;max-width:640px;background:#ffffff;font-family:Arial,Helvetica,sans-serif;font-size:15px;color:#222222;line-height:1.45;text-align:left">
<tr><td style="padding:14px 14px;background:#2d3748;color:#ffffff;font-size:19px;line-height:1.3;font-weight:bold">{{ title }}</td></tr>
<tr><td style="padding:12px 14px 20px 14px;overflow-wrap:anywhere;word-break:break-word">
<p style="margin:0 0 8px 0">{{ summary }}</p>
{% if next_step %}<p style="margin:0 0 8px 0;padding:8px 10px;background:#fff5f5;border-left:3px solid {{ colours.negative }}"><b>{{ next_step }}</b>{% if inbox %}<br>{{ inbox_label }}: <a href="{{ inbox }}" style="{{ link }}">{{ inbox }}</a>{% endif %}</p>{% endif %}
<p style="{{ h2 }}">{{ w.chart }}</p>
<img src="cid:{{ cid }}" width="{{ chart_width }}" height="{{ chart_height }}" alt="{{ chart_alt }}" style="display:block;border:0;width:100%;max-width:{{ chart_width }}px;height:auto">
<p style="{{ h2 }}">{{ w.watches }}</p>
<table role="presentation" cellpadding="0" cellspacing="0" style="border-collapse:collapse;width:100%;font-size:14px;line-height:1.35">
<tr>{% for c in watch_columns %}<th style="padding:4px 6px 4px 0;text-align:{{ 'left' if loop.first else 'right' }};vertical-align:bottom;border-bottom:2px solid #cccccc">{{ c }}</th>{% endfor %}</tr>
{% for r in watch_rows %}<tr>
<td style="padding:6px 6px 6px 0;text-align:left;vertical-align:top;border-bottom:1px solid #eeeeee{{ ';font-weight:bold' if loop.last }}">{{ r.name }}</td>
{% for main, changes in r.cells %}<td style="padding:6px 0 6px 6px;text-align:right;vertical-align:top;border-bottom:1px solid #eeeeee;white-space:nowrap"><b>{{ main }}</b>{% for x in changes %}<br><span style="font-size:12px;color:#555555">{{ x }}</span>{% endfor %}</td>
{% endfor %}</tr>
{% endfor %}</table>
<p style="{{ note }}">{{ w.table_note }}</p>
{% macro posts(list) %}{% for m in list %}<p style="{{ card }}"><b{% if m.tag %} style="color:{{ colours.negative }}"{% endif %}>{{ m.head }}</b>{% if m.why %}<br><span style="font-size:13px;color:#555555">{{ m.why }}</span>{% endif %}<br>{{ m.text }}{% if m.links %}<br>{% for label, url in m.links %}<a href="{{ url }}" style="{{ link }};font-weight:bold">{{ label }}</a>{% if not loop.last %} &nbsp;·&nbsp; {% endif %}{% endfor %}{% endif %}</p>
{% endfor %}{% endmacro %}
{% macro alerts_of(list) %}{% for a in list %}<p style="margin:8px 0;padding:6px 8px;border-left:3px solid {{ colours.negative }}"><b>{{ a.head }}</b><br>{{ a.summary }}{% for x in a.details %}<br>{{ x }}{% endfor %}{% if a.example %}<br>{{ a.example }}{% endif %}{% if a.url %}<br><a href="{{ a.url }}" style="{{ link }};font-weight:bold">{{ w.open_link }}</a>{% endif %}</p>
{% endfor %}{% endmacro %}
{% for section in sections %}
<p style="{{ h2 }}">{{ section.title }}</p>
{% if section.note %}<p style="{{ note }}">{{ section.note }}</p>{% endif %}
{% if section.posts %}{{ posts(section.posts) }}{% elif section.alerts %}{{ alerts_of(section.alerts) }}{% elif section.lines %}{% for line in section.lines %}<p style="margin:4px 0">{{ line.text }}{% if line.url %} · <a href="{{ line.url }}" style="{{ link }}">{{ line.url }}</a>{% endif %}</p>
{% endfor %}{% else %}<p style="margin:0">{{ section.empty }}</p>{% endif %}
{% if section.more %}<p style="margin:4px 0">{{ section.more }}</p>{% endif %}
{% endfor %}
<p style="{{ h2 }}">{{ w.health }}</p>
{% for h in health %}<p style="margin:4px 0{{ '' if h.ok else ';color:' ~ colours.negative }}">{{ h.line }}</p>
{% endfor %}
{{ alerts_of(health_alerts) }}
<p style="margin:24px 0 0 0;font-size:12px;color:#777777">{{ footer }}</p>
</td></tr></table>
<!--[if mso]></td></tr></table><![endif]-->
</td></tr></table>
</body></html>
"""
)
