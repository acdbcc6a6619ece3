"""Plain text to blocks: paragraphs by blank lines (or one per line when a file has none)."""

from __future__ import annotations

from pipelines.cleaning import SourceLine, drop_repeated_lines, merge_symbol_lines, normalize_text
from pipelines.documents import BlockDraft, BlockKind
from pipelines.parsing.structure import Reflow, lines_to_blocks


def text_to_blocks(text: str) -> list[BlockDraft]:
    lines = [SourceLine(line.rstrip()) for line in normalize_text(text).split("\n")]
    lines = drop_repeated_lines(merge_symbol_lines(lines))
    filled = [i for i, line in enumerate(lines) if line.text]
    has_paragraph_breaks = bool(filled) and any(not lines[i].text for i in range(filled[0], filled[-1]))
    return lines_to_blocks(lines, reflow=Reflow.BLANK_LINES if has_paragraph_breaks else Reflow.LINES)


def guess_title(drafts: list[BlockDraft]) -> str | None:
    """A heading among the first blocks, else a short first line."""
    for draft in drafts[:3]:
        if draft.kind is BlockKind.HEADING:
            return draft.text
    if drafts:
        first_line = drafts[0].text.split("\n", 1)[0].strip()
        if len(first_line) <= 120:
            return first_line
    return None
