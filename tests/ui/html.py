"""A few questions tests ask of rendered HTML, answered with the standard library's parser."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    text_parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []

    def handle_starttag(self, tag, attrs):
        element = Element(tag, dict(attrs))
        self.elements.append(element)
        if tag not in VOID_TAGS:
            self._open.append(element)

    def handle_endtag(self, tag):
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                break

    def handle_data(self, data):
        for element in self._open:
            element.text_parts.append(data)


def parse(html: str | bytes) -> list[Element]:
    collector = _Collector()
    collector.feed(html.decode() if isinstance(html, bytes) else html)
    return collector.elements


def find_all(html: str | bytes, **attrs: str) -> list[Element]:
    """Elements whose attributes include all of ``attrs`` (``data_nav`` means ``data-nav``)."""
    wanted = {name.replace("_", "-"): value for name, value in attrs.items()}
    return [e for e in parse(html) if all(e.attrs.get(k) == v for k, v in wanted.items())]


def find_one(html: str | bytes, **attrs: str) -> Element:
    found = find_all(html, **attrs)
    assert len(found) == 1, f"expected one element with {attrs}, found {len(found)}"
    return found[0]


def nav_items(html: str | bytes) -> list[str]:
    """The ``data-nav`` keys of the main navigation, in page order."""
    return [e.attrs["data-nav"] for e in parse(html) if e.tag == "a" and e.attrs.get("data-nav")]
