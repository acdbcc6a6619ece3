"""PDF text layers with pypdf: page numbers kept, running headers and footers dropped.

Encrypted PDFs are refused outright, including those that open with an empty user password.
Such files are "protected" by their owner (often with copy/extract permissions switched off),
decrypting AES ones needs the ``cryptography`` package this project does not ship, and one
predictable rule ("remove the protection and upload again") is easier to explain to a user
than one that depends on how the file was protected.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from pipelines.cleaning import SourceLine, merge_symbol_lines, normalize_text, strip_page_furniture
from pipelines.documents import BlockDraft, BlockKind
from pipelines.parsing.errors import EncryptedPdf, NoTextLayer, TooManyPages, UnreadableDocument
from pipelines.parsing.structure import Reflow, is_table_row, is_top_level_heading, lines_to_blocks
from pipelines.tables import Table, build_table, table_bounds, table_region, text_table_grid

_JUNK_TITLE = re.compile(r"^(?:untitled|slide \d+|document\d*|microsoft word)$", re.IGNORECASE)
_TITLE_LINE_CHARS = 200
# pdfplumber reads every character of a page: only pages whose text layer has this many table-like
# lines are searched for tables, so a 300-page prose filing costs nothing extra.
_MIN_TABLE_LINES = 2
_FILE_EXTENSION = re.compile(r"\.(?:docx?|pdf|rtf|indd|txt|xlsx?|pptx?)$", re.IGNORECASE)


@dataclass
class PdfContent:
    drafts: list[BlockDraft]
    title: str | None
    page_count: int
    metadata: dict[str, Any] = field(default_factory=dict)


def _open(data: bytes) -> Any:
    from pypdf import PdfReader

    try:
        return PdfReader(BytesIO(data), strict=False)
    # pypdf raises many unrelated exception types on malformed files; all mean "cannot read it".
    except Exception as exc:
        raise UnreadableDocument(f"The PDF could not be read: {exc}", {"error": type(exc).__name__}) from exc


def _outline_headings(reader: Any) -> dict[str, int]:
    """Bookmark titles by depth: when a line of the text layer equals one, it is that level's heading."""
    found: dict[str, int] = {}

    def visit(entries: list[Any], depth: int) -> None:
        for entry in entries:
            if isinstance(entry, list):
                visit(entry, depth + 1)
                continue
            title = " ".join(normalize_text(str(getattr(entry, "title", "") or "")).lower().split())
            if title and title not in found:
                found[title] = min(depth + 1, 6)

    try:
        visit(list(reader.outline), 0)
    except Exception:  # a broken outline only costs us the hint, never the document
        return {}
    return found


def _info_value(info: Any, read: Any) -> Any:
    try:
        return read(info)
    except Exception:  # malformed info dictionaries (bad dates, broken strings) raise on access
        return None


def _metadata(reader: Any) -> dict[str, Any]:
    info = _info_value(reader, lambda r: r.metadata)
    if not info:
        return {}
    found: dict[str, Any] = {}
    text_fields = {
        "title": lambda i: i.title,
        "author": lambda i: i.author,
        "subject": lambda i: i.subject,
        "keywords": lambda i: i.get("/Keywords"),
        "creator": lambda i: i.creator,
        "producer": lambda i: i.producer,
    }
    for key, read in text_fields.items():
        value = _info_value(info, read)
        if value:
            found[key] = " ".join(normalize_text(str(value)).split())[:1000]
    for key, read in (("created", lambda i: i.creation_date), ("modified", lambda i: i.modification_date)):
        value = _info_value(info, read)
        if value is not None:
            found[key] = value.isoformat()
    return found


def _title_from_metadata(title: str | None) -> str | None:
    if not title:
        return None
    title = re.sub(r"^microsoft (?:word|powerpoint|excel) - ", "", title.strip(), flags=re.IGNORECASE)
    title = _FILE_EXTENSION.sub("", title).strip()
    if len(title) < 3 or _JUNK_TITLE.match(title) or not any(ch.isalpha() for ch in title):
        return None
    return title


def _page_tables(data: bytes, page_numbers: list[int]) -> dict[int, list[list[list[str]]]]:
    """Cell grids of the ruled (else text-aligned) tables pdfplumber finds on the given 1-based pages."""
    if not page_numbers:
        return {}
    import pdfplumber

    found: dict[int, list[list[list[str]]]] = {}
    try:
        with pdfplumber.open(BytesIO(data)) as pdf:
            for number in page_numbers:
                page = pdf.pages[number - 1]
                grids = [table_region(grid) for grid in page.extract_tables()]
                if not any(grids):
                    grids = _unruled_tables(page)
                grids = [grid for grid in grids if len(grid) >= 2]
                if grids:
                    found[number] = grids
    except Exception:  # table extraction is a bonus: a PDF pdfplumber cannot read keeps its text
        return {}
    return found


_TEXT_STRATEGY = {"vertical_strategy": "text", "horizontal_strategy": "text"}


def _unruled_tables(page: Any) -> list[list[list[str]]]:
    """Tables without rules: found by text alignment, then read from the words of just their rows.

    On a whole page, text alignment takes the prose around a table for rows and cuts its columns
    to fit that prose too. Within the table's rows, cells are runs of words split at wide gaps,
    and figures are aligned on the right, as in a text table (``text_table_grid``).
    """
    grids = []
    for table in page.find_tables(_TEXT_STRATEGY):
        bounds = table_bounds(table.extract())
        if bounds is None:
            continue
        boxes = [row.bbox for row in table.rows[bounds[0] : bounds[1]]]
        box = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
        lines = _aligned_lines(page.crop(box).extract_words())
        if len(lines) >= 2:
            grids.append(text_table_grid(lines))
    return grids


def _aligned_lines(words: list[dict[str, Any]]) -> list[str]:
    """Words grouped into lines by their top, with a wide gap (over 1.5 characters) written as a cell break."""
    if not words:
        return []
    widths = sorted((w["x1"] - w["x0"]) / max(1, len(w["text"])) for w in words)
    gap = 1.5 * widths[len(widths) // 2]
    rows: list[list[dict[str, Any]]] = []
    for word in sorted(words, key=lambda w: (round(w["top"]), w["x0"])):
        if rows and abs(rows[-1][0]["top"] - word["top"]) <= 2:
            rows[-1].append(word)
        else:
            rows.append([word])
    lines = []
    for row in rows:
        row.sort(key=lambda w: w["x0"])
        text = row[0]["text"]
        for previous, word in itertools.pairwise(row):
            text += ("   " if word["x0"] - previous["x1"] > gap else " ") + word["text"]
        lines.append(text)
    return lines


def _table_run(lines: list[SourceLine], grid: list[list[str]]) -> tuple[int, int] | None:
    """The longest run of lines whose words all come from the table's cells (the table in the text layer)."""
    vocabulary = {word for row in grid for cell in row for word in normalize_text(cell).split()}
    best: tuple[int, int] | None = None
    start = None
    for index, line in enumerate([*lines, SourceLine("\u0000", None)]):
        words = line.text.split()
        inside = bool(words) and all(word in vocabulary for word in words)
        if inside and start is None:
            start = index
        elif not inside and start is not None:
            if best is None or index - start > best[1] - best[0]:
                best = (start, index)
            start = None
    return best if best is not None and best[1] - best[0] >= 2 else None


def _with_tables(
    lines: list[SourceLine], tables: dict[int, list[list[list[str]]]]
) -> list[SourceLine | tuple[list[list[str]], int]]:
    """The lines, with each table's run of lines replaced by its grid (and page)."""
    out: list[SourceLine | tuple[list[list[str]], int]] = []
    by_page: dict[int | None, list[SourceLine]] = {}
    for line in lines:
        by_page.setdefault(line.page, []).append(line)
    for page, page_lines in by_page.items():
        items: list[SourceLine | tuple[list[list[str]], int]] = list(page_lines)
        for grid in tables.get(page or 0, []):
            plain = [item if isinstance(item, SourceLine) else SourceLine("\u0000") for item in items]
            run = _table_run(plain, grid)
            if run is not None and page is not None:
                items[run[0] : run[1]] = [(grid, page)]
        out.extend(items)
    return out


def _title_before(drafts: list[BlockDraft]) -> tuple[str, list[str]]:
    previous = drafts[-1] if drafts else None
    heading = next((d.text for d in reversed(drafts[-3:]) if d.kind is BlockKind.HEADING), "")
    if previous is not None and previous.kind is BlockKind.PARAGRAPH and len(previous.text) <= _TITLE_LINE_CHARS:
        return previous.text, [heading] if heading else []
    return heading, []


def _blocks_with_tables(
    items: list[SourceLine | tuple[list[list[str]], int]], known_headings: dict[str, int]
) -> list[BlockDraft]:
    drafts: list[BlockDraft] = []
    segment: list[SourceLine] = []
    for item in [*items, None]:
        if isinstance(item, SourceLine):
            segment.append(item)
            continue
        if segment:
            drafts.extend(lines_to_blocks(segment, reflow=Reflow.WRAPPED, known_headings=known_headings))
            segment = []
        if item is None:
            break
        grid, page = item
        title, notes = _title_before(drafts)
        table: Table | None = build_table(grid, title=title, notes=notes, page=page)
        if table is not None:
            drafts.append(BlockDraft(BlockKind.TABLE, table.text(), page=page, page_end=page, table=table))
        else:
            text = "\n".join(" | ".join(cell for cell in row if cell) for row in grid if any(row))
            drafts.append(BlockDraft(BlockKind.TABLE, text, page=page, page_end=page))
    return drafts


def pdf_to_blocks(data: bytes, *, max_pages: int) -> PdfContent:
    reader = _open(data)
    if reader.is_encrypted:
        raise EncryptedPdf(
            "The PDF is encrypted (password-protected or restricted). Remove the protection and upload it again."
        )
    try:
        page_count = len(reader.pages)
    except Exception as exc:
        raise UnreadableDocument(f"The PDF's page tree could not be read: {exc}") from exc
    if page_count > max_pages:
        raise TooManyPages(
            f"The PDF has {page_count} pages; the limit is {max_pages}.", {"pages": page_count, "limit": max_pages}
        )
    page_texts: list[str] = []
    failures = 0
    for page in reader.pages:
        try:
            page_texts.append(page.extract_text() or "")
        except Exception:  # one broken page content stream should not lose the rest of the document
            failures += 1
            page_texts.append("")
    if page_count and failures == page_count:
        raise UnreadableDocument("No page of the PDF could be read.")
    if not any(text.strip() for text in page_texts):
        raise NoTextLayer(
            "The PDF has no text layer (it is probably a scan); run OCR on it and upload the result.",
            {"pages": page_count},
        )
    raw_first_lines = [line.strip() for line in normalize_text(page_texts[0]).split("\n") if line.strip()]
    pages = strip_page_furniture([normalize_text(text).split("\n") for text in page_texts], keep=is_top_level_heading)
    lines = [SourceLine(line, number) for number, page_lines in enumerate(pages, start=1) for line in page_lines]
    lines = merge_symbol_lines(lines)
    candidates = [
        number
        for number, page_lines in enumerate(pages, start=1)
        if sum(1 for line in page_lines if is_table_row(line)) >= _MIN_TABLE_LINES
    ]
    tables = _page_tables(data, candidates)
    known_headings = _outline_headings(reader)
    if tables:
        drafts = _blocks_with_tables(_with_tables(lines, tables), known_headings)
    else:
        drafts = lines_to_blocks(lines, reflow=Reflow.WRAPPED, known_headings=known_headings)
    metadata = _metadata(reader)
    title = _title_from_metadata(metadata.get("title"))
    if title is None:
        first_heading = next((d for d in drafts[:5] if d.kind is BlockKind.HEADING), None)
        if first_heading is not None:
            title = first_heading.text
        elif raw_first_lines and len(raw_first_lines[0]) <= 150:
            title = raw_first_lines[0]
    return PdfContent(drafts=drafts, title=title, page_count=page_count, metadata=metadata)
