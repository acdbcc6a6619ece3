"""Headings, paragraphs and tables from plain lines (PDF text layers, text files, JSON lines text).

These formats carry no markup, so structure is inferred: SEC-style "PART II" / "Item 7." lines
are top-level headings, short all-capital lines are second-level, short title-like lines that
stand between complete sentences and prose are third-level. Lines of a wrapped paragraph are
joined (hyphenation undone); table rows stay one per line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pipelines.cleaning import SourceLine, ends_sentence, is_repeatable_short_answer, join_wrapped
from pipelines.documents import BlockDraft, BlockKind
from pipelines.tables import build_table, flat_table_grid, text_table_grid


class Reflow(StrEnum):
    WRAPPED = "wrapped"  # PDF text: lines are wrapped; join them unless a line visibly ends a paragraph
    BLANK_LINES = "blank_lines"  # text with blank-line paragraphs: join prose lines inside a paragraph
    LINES = "lines"  # one paragraph per line (no blank lines anywhere, e.g. 10-K item exports)


_ITEM = re.compile(r"^(?:ITEM|Item)\s+\d{1,2}[A-Da-d]?\b\s*[.:\-—\u2013]?\s*(?P<rest>.*)$")
_PART = re.compile(r"^(?:PART|Part)\s+[IVX]{1,4}\b\.?\s*(?P<rest>.*)$")
_LIST_START = re.compile(r"^(?:[•●▪◦‣∙○■□➢►*\u2013-]\s+|\(?\d{1,2}[.)]\s+|\(?[a-z][.)]\s+|\([ivx]{1,4}\)\s+)")
_CELL_GAP = re.compile(r"(?:\t+| {2,})")
_NUMERIC_TOKEN = re.compile(r"^[($€£¥+\-\u2013—]*\d[\d,.]*[)%]*$|^[-\u2013—$€£¥%]$")
_SMALL_WORDS = {"a", "an", "and", "as", "at", "by", "for", "from", "in", "of", "on", "or", "the", "to", "vs", "with"}


def is_table_row(line: str) -> bool:
    if line.count("\t") or len(_CELL_GAP.findall(line.strip())) >= 2 or line.count(" | ") >= 2:
        return True
    if ends_sentence(line):
        return False  # a sentence full of figures ("... grew 12% to $5 million in 2023.") is prose
    tokens = line.split()
    numeric = sum(1 for token in tokens if _NUMERIC_TOKEN.match(token))
    return len(tokens) >= 3 and numeric >= 2 and numeric / len(tokens) >= 0.4


def table_row_text(line: str) -> str:
    cells = [cell.strip() for cell in _CELL_GAP.split(line.strip()) if cell.strip()]
    return " | ".join(cells) if len(cells) > 1 else " ".join(line.split())


def _is_caps_heading(line: str) -> bool:
    if len(line) > 120:  # checked first: a 15 MB line would otherwise be copied letter by letter
        return False
    letters = [ch for ch in line if ch.isalpha()]
    if len(letters) < 4 or line.endswith((",", ";")):
        return False
    if sum(ch.isdigit() for ch in line) > 0.2 * len(line):
        return False
    if not any(len(word) >= 3 and word.isalpha() for word in re.split(r"\W+", line)):
        return False
    return sum(ch.isupper() for ch in letters) / len(letters) >= 0.95


def _is_title_like(line: str, *, strict: bool = False) -> bool:
    if len(line) > 80 or not line[:1].isupper() or line.endswith(tuple(".,;:!?")):
        return False
    if any(symbol in line for symbol in "|$€£%"):
        return False
    words = re.findall(r"[A-Za-z][\w'\u2019&-]*", line)
    if not words or len(line.split()) > 10:
        return False
    content = [word for word in words if word.lower() not in _SMALL_WORDS]
    capitalised = sum(1 for word in content if word[0].isupper())
    return bool(content) and capitalised / len(content) >= (1.0 if strict else 0.5)


def _is_run_in_title(line: str) -> bool:
    """ "Gross Margins." alone on a line: a heading in text exports of filings."""
    return (
        line.endswith(".")
        and not line.endswith("..")
        and len(line.split()) <= 6
        and not is_repeatable_short_answer(line)
        and _is_title_like(line[:-1], strict=True)
    )


def _is_heading_candidate(line: str) -> bool:
    return _is_title_like(line) or _is_run_in_title(line)


@dataclass
class _Line:
    text: str
    page: int | None
    kind: str  # heading | table | list | prose
    level: int | None = None


def is_top_level_heading(text: str) -> bool:
    for pattern in (_ITEM, _PART):
        match = pattern.match(text)
        if match:
            rest = match.group("rest")
            limit = 200 if pattern is _ITEM else 80
            return len(text) <= limit and (not rest or not rest[0].islower())
    return False


def _classify(lines: Sequence[SourceLine], known_headings: Mapping[str, int]) -> list[_Line]:
    """Tag every non-blank line; blank lines become paragraph breaks (``None``)."""
    out: list[_Line | None] = []
    texts = [line.text.strip() for line in lines]
    i = 0
    while i < len(lines):
        text, page = texts[i], lines[i].page
        if not text:
            out.append(None)
            i += 1
            continue
        known = known_headings.get(" ".join(text.lower().split()))
        if known is not None:
            out.append(_Line(text, page, "heading", known))
        elif is_top_level_heading(text):
            item_match = _ITEM.match(text)
            nxt = texts[i + 1] if i + 1 < len(texts) else ""
            # "ITEM 1." on one line and "BUSINESS" on the next: one heading.
            bare_item = item_match is not None and not item_match.group("rest")
            if bare_item and nxt and len(nxt) <= 150 and (_is_caps_heading(nxt) or _is_title_like(nxt)):
                out.append(_Line(f"{text} {nxt}", page, "heading", 1))
                i += 2
                continue
            out.append(_Line(text, page, "heading", 1))
        elif is_table_row(text):
            out.append(_Line(table_row_text(text), page, "table"))
        elif _LIST_START.match(text):
            out.append(_Line(text, page, "list"))
        elif _is_caps_heading(text):
            out.append(_Line(text, page, "heading", 2))
        else:
            out.append(_Line(text, page, "prose"))
        i += 1
    return _confirm_title_headings(out)


def _confirm_title_headings(lines: list[_Line | None]) -> list[_Line]:
    """A short title-like prose line is a heading only between a finished sentence and more text."""
    result: list[_Line] = []
    filled = [(i, line) for i, line in enumerate(lines) if line is not None]
    for position, (index, line) in enumerate(filled):
        if line.kind == "prose" and _is_heading_candidate(line.text):
            previous = next((done for done in reversed(result) if done.kind != "break"), None)
            after_break = bool(result) and result[-1].kind == "break"
            previous_done = (
                after_break or previous is None or previous.kind in {"heading", "table"} or ends_sentence(previous.text)
            )
            following = filled[position + 1][1] if position + 1 < len(filled) else None
            followed_by_text = following is not None and (
                following.kind == "heading"
                or (following.kind in {"prose", "list"} and len(following.text) >= max(60, 2 * len(line.text)))
                or (following.kind == "prose" and _is_heading_candidate(following.text))
            )
            if previous_done and followed_by_text:
                line = _Line(line.text, line.page, "heading", 3)
        result.append(line)
        if index + 1 < len(lines) and lines[index + 1] is None:
            result.append(_Line("", None, "break"))
    return result


def lines_to_blocks(
    lines: Sequence[SourceLine],
    *,
    reflow: Reflow,
    known_headings: Mapping[str, int] | None = None,
) -> list[BlockDraft]:
    """Group tagged lines into heading, paragraph and table drafts."""
    drafts: list[BlockDraft] = []
    current: list[_Line] = []
    current_kind: str | None = None

    def flush() -> None:
        nonlocal current, current_kind
        if current:
            if current_kind == "table":
                text = "\n".join(line.text for line in current)
                kind = BlockKind.TABLE
                table = _text_table(current, drafts)
                if table is not None:
                    page = current[0].page
                    drafts.append(BlockDraft(kind, table.text(), page, current[-1].page, table=table))
                    current, current_kind = [], None
                    return
            else:
                text = current[0].text
                for line in current[1:]:
                    text = join_wrapped(text, line.text)
                kind = BlockKind.PARAGRAPH
            drafts.append(BlockDraft(kind=kind, text=text, page=current[0].page, page_end=current[-1].page))
        current, current_kind = [], None

    for line in _classify(lines, known_headings or {}):
        if line.kind == "break":
            flush()
            continue
        if line.kind == "heading":
            flush()
            drafts.append(BlockDraft(BlockKind.HEADING, line.text, line.page, line.page, heading_level=line.level))
            continue
        if line.kind == "table":
            if current_kind != "table":
                flush()
                current_kind = "table"
            current.append(line)
            continue
        # prose or list item
        if current_kind == "paragraph" and line.kind == "prose" and _continues(current[-1].text, line.text, reflow):
            current.append(line)
            continue
        flush()
        current, current_kind = [line], "paragraph"
    flush()
    return drafts


_TITLE_LINE_CHARS = 200
_FLAT_TABLE_CHARS = 80  # shorter single lines of figures are sentences or one-row fragments


def _text_table(lines: list[_Line], drafts: list[BlockDraft]) -> Any:
    """Cells of a whitespace-, tab- or pipe-aligned run of rows (two or more), or of a table flattened
    onto one line; None when neither reading holds."""
    flat = flat_table_grid(lines[0].text) if len(lines) == 1 and len(lines[0].text) >= _FLAT_TABLE_CHARS else None
    if flat is None and (len(lines) < 2 or sum(1 for line in lines if " | " in line.text) < 2):
        return None
    previous = drafts[-1] if drafts else None
    heading = next((d.text for d in reversed(drafts[-3:]) if d.kind is BlockKind.HEADING), "")
    title, notes = heading, []
    if previous is not None and previous.kind is BlockKind.PARAGRAPH and len(previous.text) <= _TITLE_LINE_CHARS:
        title, notes = previous.text, [heading] if heading else []
    if flat is not None:
        grid, header_rows, flat_notes = flat
        years = _trailing_years(title)
        if not header_rows and years and len(years) == len(grid[0]) - 1:
            # "... are as follows: 2006 2005 ------": the column headers ended up on the title's line.
            grid, header_rows = [["", *years], *grid], 1
        return build_table(grid, title=title, notes=[*flat_notes, *notes], header_rows=header_rows, page=lines[0].page)
    return build_table(text_table_grid([line.text for line in lines]), title=title, notes=notes, page=lines[0].page)


_YEAR_OR_RULE = re.compile(r"^(?:(?:19|20)\d{2}|[-=_]{3,})$")


def _trailing_years(text: str) -> list[str]:
    tokens = text.split()
    cut = len(tokens)
    while cut > 0 and _YEAR_OR_RULE.match(tokens[cut - 1]):
        cut -= 1
    return [token for token in tokens[cut:] if token[:1].isdigit()]


def _continues(previous: str, following: str, reflow: Reflow) -> bool:
    if reflow is Reflow.LINES:
        return False
    if reflow is Reflow.BLANK_LINES:
        return True
    if previous.endswith("-") and following[:1].islower():
        return True
    if not ends_sentence(previous):
        return True
    # A sentence ending exactly at the line end, continued by a lower-case word ("e.g." / "approx.").
    return following[:1].islower()
