"""PDF text layers with pypdf: page numbers kept, running headers and footers dropped.

Encrypted PDFs are refused outright, including those that open with an empty user password.
Such files are "protected" by their owner (often with copy/extract permissions switched off),
decrypting AES ones needs the ``cryptography`` package this project does not ship, and one
predictable rule ("remove the protection and upload again") is easier to explain to a user
than one that depends on how the file was protected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from pipelines.cleaning import SourceLine, merge_symbol_lines, normalize_text, strip_page_furniture
from pipelines.documents import BlockDraft, BlockKind
from pipelines.parsing.errors import EncryptedPdf, NoTextLayer, TooManyPages, UnreadableDocument
from pipelines.parsing.structure import Reflow, is_top_level_heading, lines_to_blocks

_JUNK_TITLE = re.compile(r"^(?:untitled|slide \d+|document\d*|microsoft word)$", re.IGNORECASE)
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
    drafts = lines_to_blocks(lines, reflow=Reflow.WRAPPED, known_headings=_outline_headings(reader))
    metadata = _metadata(reader)
    title = _title_from_metadata(metadata.get("title"))
    if title is None:
        first_heading = next((d for d in drafts[:5] if d.kind is BlockKind.HEADING), None)
        if first_heading is not None:
            title = first_heading.text
        elif raw_first_lines and len(raw_first_lines[0]) <= 150:
            title = raw_first_lines[0]
    return PdfContent(drafts=drafts, title=title, page_count=page_count, metadata=metadata)
