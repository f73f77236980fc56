"""The digest reads on a 390 px phone: a viewport, a fluid column, nothing fixed wider than the screen."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from listener.digest.build import build_digest
from listener.digest.render import render
from tests.backends import Backend
from tests.test_digest import DAY, config, options, seed

PHONE = 390
_PX = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(px)?\s*$")


class Widths(HTMLParser):
    """Each element's width as a browser takes it: its CSS ``width`` (or ``min-width``), else the attribute."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fixed: list[tuple[str, float]] = []  # (tag, px) of every element with a width in pixels
        self.metas: list[dict[str, str]] = []
        self.links: list[str] = []
        self.fluid: list[str] = []  # styles of the elements whose width is 100%

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        css = dict(
            (k.strip().lower(), v.strip())
            for k, _, v in (d.partition(":") for d in a.get("style", "").split(";") if ":" in d)
        )
        for prop in ("min-width", "width"):
            value = css.get(prop, a.get("width", "") if prop == "width" else "")
            if m := _PX.match(value):
                self.fixed.append((tag, float(m.group(1))))
            elif value == "100%":
                self.fluid.append(a.get("style", ""))
        if tag == "meta":
            self.metas.append(a)
        if tag == "a":
            self.links.append(a.get("style", ""))


def test_the_digest_fits_a_phone(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    seed(store)
    html = render(build_digest(store, options(config(tmp_path)), DAY)).html
    page = Widths()
    page.feed(html)
    assert {"name": "viewport", "content": "width=device-width, initial-scale=1"} in page.metas
    assert [(tag, px) for tag, px in page.fixed if px > PHONE] == []
    assert any("max-width:640px" in style for style in page.fluid)  # one column, at most 640 px wide
    assert page.links and all("overflow-wrap:anywhere" in style for style in page.links)  # long URLs break
    assert re.search(r'<td style="[^"]*overflow-wrap:anywhere[^"]*">\n<p', html)  # so do long words


def test_outlook_alone_gets_a_fixed_column() -> None:
    """The only 640 px width is in the conditional comment that only Outlook reads."""
    from listener.digest.template import HTML

    source = HTML.render(cid="c", w={}, colours={}, sections=[], health=[], health_alerts=[])
    assert source.count('width="640"') == 1
    assert re.search(r'<!--\[if mso\]><table role="presentation" width="640"', source)
