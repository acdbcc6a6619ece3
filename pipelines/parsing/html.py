"""HTML (and Markdown, rendered to HTML first) to blocks with bs4 + lxml.

Scripts, styles, navigation, forms, hidden elements (inline XBRL headers in SEC filings sit in a
``display:none`` div) and page-level header/footer chrome are removed; h1-h6 become headings;
data tables become one block with a row per line. A table with figures is parsed into cells
(``pipelines.tables``): its title is its caption, else the short line or heading right before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bs4 import BeautifulSoup, Comment, Declaration, Doctype, NavigableString, ProcessingInstruction, Tag

from pipelines.cleaning import normalize_text
from pipelines.documents import BlockDraft, BlockKind
from pipelines.tables import Table, build_table

_REMOVED_TAGS = [
    "script", "style", "noscript", "template", "nav", "aside", "iframe", "svg", "canvas", "button", "select",
    "input", "textarea", "object", "embed", "form", "head", "math", "audio", "video", "map",
]  # fmt: skip
_BLOCK_TAGS = {
    "address", "article", "blockquote", "body", "caption", "center", "dd", "details", "dialog", "dir", "div",
    "dl", "dt", "fieldset", "figcaption", "figure", "footer", "header", "hgroup", "hr", "html", "legend", "li",
    "main", "menu", "ol", "p", "section", "summary", "ul", "table", "thead", "tbody", "tfoot", "tr", "td", "th",
}  # fmt: skip
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_META_KEYS = {
    "description", "author", "keywords", "date", "article:published_time", "og:title", "og:site_name",
    "og:description", "dc.title", "dc.date", "dc.creator", "citation_title", "citation_date", "citation_author",
}  # fmt: skip
_BREAK = "\u2029"  # stands for <br> while inline whitespace is collapsed
_SKIPPED_STRINGS = (Comment, Declaration, Doctype, ProcessingInstruction)
_LEADING_CELLS = {"$", "€", "£", "¥", "("}
_TRAILING_CELLS = {")", "%", "%)", ")%"}
_MAX_COLSPAN = 40  # a colspan of thousands would otherwise blow a 3-column table up into a huge grid
_TITLE_LINE_CHARS = 200


@dataclass
class HtmlContent:
    drafts: list[BlockDraft]
    title: str | None
    metadata: dict[str, Any] = field(default_factory=dict)


def _collapse_inline(text: str) -> str:
    lines = (" ".join(part.split()) for part in text.split(_BREAK))
    return "\n".join(line for line in lines if line)


def _inline_text(tag: Tag) -> str:
    for br in tag.find_all("br"):
        br.replace_with(_BREAK)
    return _collapse_inline(tag.get_text(""))


def _is_hidden(tag: Tag) -> bool:
    if tag.attrs is None:
        return False
    if tag.has_attr("hidden") or str(tag.get("aria-hidden", "")).lower() == "true":
        return True
    return bool(_HIDDEN_STYLE.search(str(tag.get("style", ""))))


def _is_data_table(table: Tag) -> bool:
    if table.find("table") is not None:
        return False  # layout table around content
    rows = table.find_all("tr")
    if not rows:
        return False
    widest = max(len([c for c in row.find_all(["td", "th"]) if c.get_text(strip=True)]) for row in rows)
    return not (widest <= 1 and len(table.get_text(" ", strip=True)) > 200)


def _table_text(table: Tag) -> str:
    lines = []
    caption = table.find("caption")
    if caption is not None:
        text = _inline_text(caption)
        if text:
            lines.append(text)
    for row in table.find_all("tr"):
        cells: list[str] = []
        for cell in row.find_all(["td", "th"]):
            text = " ".join(_inline_text(cell).split())
            if not text:
                continue
            if cells and (text in _TRAILING_CELLS or cells[-1] in _LEADING_CELLS):
                cells[-1] += text
            else:
                cells.append(text)
        if cells:
            lines.append(" | ".join(cells))
    return "\n".join(lines)


def _cell_span(cell: Tag) -> int:
    try:
        return max(1, min(_MAX_COLSPAN, int(str(cell.get("colspan", "1")).strip() or "1")))
    except ValueError:
        return 1


def _table_grid(table: Tag) -> tuple[list[list[str]], int | None]:
    """Rows of cell texts with each colspan expanded, and how many leading rows the markup marks as headers."""
    grid: list[list[str]] = []
    header_rows = 0
    counting_headers = True
    for row in table.find_all("tr"):
        cells = row.find_all(["td", "th"])
        texts: list[str] = []
        for cell in cells:
            text = " ".join(_inline_text(cell).split())
            texts.extend([text] * _cell_span(cell))
        if not any(texts):
            continue
        is_header = row.find_parent("thead") is not None or all(
            cell.name == "th" for cell in cells if cell.get_text(strip=True)
        )
        if counting_headers and is_header:
            header_rows += 1
        else:
            counting_headers = False
        grid.append(texts)
    return grid, (header_rows or None)


def _structured_table(table: Tag, title: str, notes: list[str]) -> Table | None:
    grid, header_rows = _table_grid(table)
    if not grid:
        return None
    # A spanning header cell repeats its text over the columns it covers; a spanning body cell
    # (a figure centred over "$" and value columns) must not count twice.
    return build_table(grid, title=title, notes=notes, header_rows=header_rows)


class _BlockWalker:
    def __init__(self) -> None:
        self.drafts: list[BlockDraft] = []
        self.buffer: list[str] = []

    def flush(self) -> None:
        text = _collapse_inline("".join(self.buffer))
        self.buffer = []
        if text:
            self.drafts.append(BlockDraft(BlockKind.PARAGRAPH, text))

    def title_before(self) -> tuple[str, list[str]]:
        """A table's title: the short line right before it ("Net sales (in millions):"), else the nearest
        heading; the other of the two is kept as a note (it may say the scale)."""
        previous = self.drafts[-1] if self.drafts else None
        heading = next((d.text for d in reversed(self.drafts[-3:]) if d.kind is BlockKind.HEADING), "")
        if previous is not None and previous.kind is BlockKind.PARAGRAPH and len(previous.text) <= _TITLE_LINE_CHARS:
            return previous.text, [heading] if heading else []
        return heading, []

    def walk(self, node: Tag) -> None:
        for child in list(node.children):
            if isinstance(child, Tag):
                self.visit(child)
            elif isinstance(child, NavigableString) and not isinstance(child, _SKIPPED_STRINGS):
                self.buffer.append(str(child))

    def visit(self, tag: Tag) -> None:
        name = (tag.name or "").lower()
        if name in _HEADINGS:
            self.flush()
            text = " ".join(_inline_text(tag).split())
            if text:
                self.drafts.append(BlockDraft(BlockKind.HEADING, text, heading_level=_HEADINGS[name]))
            return
        if name == "br":
            self.buffer.append(_BREAK)
            return
        if name == "table" and _is_data_table(tag):
            self.flush()
            caption_tag = tag.find("caption")
            caption = " ".join(_inline_text(caption_tag).split()) if caption_tag is not None else ""
            title, notes = self.title_before() if not caption else (caption, [])
            parsed = _structured_table(tag, title, notes)
            if parsed is not None:
                if caption:  # the caption is part of the document text, as a line of its own
                    self.drafts.append(BlockDraft(BlockKind.PARAGRAPH, caption))
                self.drafts.append(BlockDraft(BlockKind.TABLE, parsed.text(), table=parsed))
                return
            text = _table_text(tag)
            if text:
                self.drafts.append(BlockDraft(BlockKind.TABLE, text))
            return
        if name == "pre":
            self.flush()
            text = "\n".join(line.rstrip() for line in tag.get_text("").split("\n") if line.strip())
            if text:
                self.drafts.append(BlockDraft(BlockKind.PARAGRAPH, text))
            return
        if name in _BLOCK_TAGS:
            self.flush()
            self.walk(tag)
            self.flush()
            return
        self.walk(tag)


def _metadata(soup: BeautifulSoup) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for meta in soup.find_all("meta"):
        key = str(meta.get("name") or meta.get("property") or "").strip().lower()
        value = " ".join(str(meta.get("content") or "").split())
        if key in _META_KEYS and value and key not in found:
            found[key] = normalize_text(value)[:1000]
    html = soup.find("html")
    language = html.get("lang") if isinstance(html, Tag) else None
    return {"meta": found, "language": str(language)} if language else ({"meta": found} if found else {})


def html_to_blocks(markup: str) -> HtmlContent:
    """Parse decoded HTML into drafts, a title guess and the metadata found in ``<head>``."""
    soup = BeautifulSoup(markup, "lxml")
    title_tag = soup.find("title")
    title = " ".join(title_tag.get_text(" ").split()) if title_tag else ""
    metadata = _metadata(soup)
    title = title or metadata.get("meta", {}).get("og:title", "")
    for tag in soup.find_all(_REMOVED_TAGS):
        tag.decompose()
    for tag in soup.find_all(attrs={"role": ["navigation", "search"]}):
        tag.decompose()
    for tag in soup.find_all(["header", "footer"]):
        if not tag.decomposed and tag.find_parent(["article", "main"]) is None:
            tag.decompose()
    for tag in soup.find_all(True):
        if not tag.decomposed and _is_hidden(tag):
            tag.decompose()
    walker = _BlockWalker()
    root = soup.find("body") or soup
    walker.walk(root)
    walker.flush()
    if not title:
        first_heading = next((d for d in walker.drafts if d.kind is BlockKind.HEADING), None)
        title = first_heading.text if first_heading else ""
    return HtmlContent(drafts=walker.drafts, title=normalize_text(title).strip() or None, metadata=metadata)


def markdown_to_blocks(text: str) -> HtmlContent:
    import markdown

    rendered = markdown.markdown(text, extensions=["tables", "fenced_code", "sane_lists"], output_format="html")
    content = html_to_blocks(f"<html><body>{rendered}</body></html>")
    first_h1 = next((d for d in content.drafts if d.kind is BlockKind.HEADING and d.heading_level == 1), None)
    content.title = first_h1.text if first_h1 else content.title
    return content
