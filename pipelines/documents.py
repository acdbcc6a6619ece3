"""The plain data every stage passes on: a document as ordered text blocks with offsets.

A document's full text is its blocks' texts joined by a blank line (``BLOCK_SEPARATOR``), so
``document.text[block.start:block.end] == block.text`` always holds. Section paths are never
stored independently of the text: ``assemble`` derives them from the heading blocks, so a stage
that rewrites a heading (cleaning, redaction) rewrites every path that contains it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from pipelines.tables import Table

BLOCK_SEPARATOR = "\n\n"


class DocumentFormat(StrEnum):
    PDF = "pdf"
    HTML = "html"
    TEXT = "text"
    MARKDOWN = "markdown"
    JSONL = "jsonl"


class BlockKind(StrEnum):
    HEADING = "heading"
    PARAGRAPH = "paragraph"
    TABLE = "table"  # one row per line (with ``table`` set: the header line, then one line per body row)


@dataclass(frozen=True)
class BlockDraft:
    """A block before offsets and section paths are known (what parsers produce)."""

    kind: BlockKind
    text: str
    page: int | None = None
    page_end: int | None = None
    heading_level: int | None = None  # 1 = top level; only for headings
    table: Table | None = None  # a TABLE block parsed into cells; its text is ``table.text()``


@dataclass(frozen=True)
class TextBlock:
    kind: BlockKind
    text: str
    section_path: tuple[str, ...]  # enclosing headings, outermost first; a heading's path ends with itself
    page: int | None  # 1-based page where the block starts; None for formats without pages
    page_end: int | None  # page where it ends (a paragraph can run over a page break)
    heading_level: int | None
    start: int  # offsets into ParsedDocument.text
    end: int
    table: Table | None = None

    def draft(self, text: str | None = None, *, table: Table | None = None) -> BlockDraft:
        return BlockDraft(
            kind=self.kind,
            text=self.text if text is None else text,
            page=self.page,
            page_end=self.page_end,
            heading_level=self.heading_level,
            table=self.table if table is None else table,
        )


@dataclass(frozen=True)
class LineError:
    """One bad line of a JSON lines batch."""

    line_number: int  # 1-based
    reason_code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line_number, "reason": self.reason_code, "message": self.message}


@dataclass(frozen=True)
class ParsedDocument:
    text: str
    blocks: tuple[TextBlock, ...]
    format: DocumentFormat
    title: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)  # found in the file; JSON-serialisable values
    page_count: int | None = None
    source_name: str | None = None
    source_sha256: str = ""  # of the uploaded bytes (of the line, for a JSON lines batch member)
    line_number: int | None = None  # position in a JSON lines batch

    def with_blocks(self, drafts: Iterable[BlockDraft], **changes: Any) -> ParsedDocument:
        """The same document with new block texts; offsets and section paths are recomputed."""
        text, blocks = assemble(drafts)
        return replace(self, text=text, blocks=blocks, **changes)

    @property
    def headings(self) -> list[TextBlock]:
        return [block for block in self.blocks if block.kind is BlockKind.HEADING]


def assemble(drafts: Iterable[BlockDraft]) -> tuple[str, tuple[TextBlock, ...]]:
    """Join drafts into a full text with offsets; empty drafts are dropped."""
    parts: list[str] = []
    blocks: list[TextBlock] = []
    heading_stack: list[tuple[int, str]] = []
    offset = 0
    for draft in drafts:
        text = draft.text.strip()
        if not text:
            continue
        if draft.kind is BlockKind.HEADING:
            level = max(1, draft.heading_level or 1)
            while heading_stack and heading_stack[-1][0] >= level:
                heading_stack.pop()
            heading_stack.append((level, " ".join(text.split())))
        if parts:
            offset += len(BLOCK_SEPARATOR)
        page_end = draft.page_end if draft.page_end is not None else draft.page
        blocks.append(
            TextBlock(
                kind=draft.kind,
                text=text,
                section_path=tuple(title for _, title in heading_stack),
                page=draft.page,
                page_end=page_end,
                heading_level=draft.heading_level if draft.kind is BlockKind.HEADING else None,
                start=offset,
                end=offset + len(text),
                table=draft.table if draft.kind is BlockKind.TABLE else None,
            )
        )
        parts.append(text)
        offset += len(text)
    return BLOCK_SEPARATOR.join(parts), tuple(blocks)


def build_document(drafts: Iterable[BlockDraft], *, format: DocumentFormat, **fields: Any) -> ParsedDocument:
    text, blocks = assemble(drafts)
    return ParsedDocument(text=text, blocks=blocks, format=format, **fields)
