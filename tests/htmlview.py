"""Reading an HTML email body back as a mail client would: tags, attributes, links, text."""

from __future__ import annotations

from html.parser import HTMLParser


class HtmlView(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.hrefs: set[str] = set()
        self.text = ""

    @classmethod
    def of(cls, body: str) -> HtmlView:
        view = cls()
        view.feed(body)
        view.close()
        return view

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes |= {name for name, _ in attrs}
        self.hrefs |= {value or "" for name, value in attrs if name == "href"}

    def handle_data(self, data: str) -> None:
        self.text += data
