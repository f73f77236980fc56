"""HTML to plain text, for networks that send markup (Mastodon, RSS, YouTube, Hacker News).

The stored ``text`` is what the author wrote, as plain text: no tags, no entities,
paragraphs and line breaks kept as newlines. Scripts and styles are dropped with
their content. The original markup stays in the mention's ``raw`` payload.
"""

from __future__ import annotations

import re
import warnings

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning

__all__ = ["html_to_text"]

_BLOCKS = ("p", "div", "li", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "tr")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_GAPS = re.compile(r"\n\s*\n+")


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment; a string without tags comes back unescaped and trimmed."""
    if not markup:
        return ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)  # a bare URL is fine text
        soup = BeautifulSoup(markup, "html.parser")
    for tag in soup(["script", "style", "template"]):
        tag.decompose()
    for br in soup("br"):
        br.replace_with("\n")
    for block in soup(_BLOCKS):
        block.insert_before("\n\n")
        block.insert_after("\n\n")
    text = _SPACES.sub(" ", soup.get_text())
    lines = "\n".join(line.strip() for line in text.split("\n"))
    return _GAPS.sub("\n\n", lines).strip()
