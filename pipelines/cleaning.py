"""Text cleaning: Unicode and whitespace normalisation, page furniture, hyphenation, boilerplate.

Two levels:
- line helpers (``strip_page_furniture``, ``merge_symbol_lines``, ``drop_repeated_lines``,
  ``join_wrapped``) that the PDF and plain-text parsers call *before* they look for headings and
  paragraphs, because a running header detected as a heading would corrupt every section path;
- ``clean_document``, the pipeline stage: normalises every block of a parsed document and drops
  boilerplate blocks, returning a new document with recomputed offsets.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from typing import NamedTuple

from pipelines.documents import BlockDraft, BlockKind, ParsedDocument

# Characters that carry no text: soft hyphen, zero-width space/joiners, word joiner, BOM, Mongolian vowel sep.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff\u180e"), None)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"[^\S\n]+")
_SEPARATOR_RUN = re.compile(r"([.\-_=*~·•#])(?:[ ]?\1){3,}")
_SEPARATOR_LINE = re.compile(r"^[\W_]{3,}$")
_PAGE_NUMBER_LINE = re.compile(
    r"^(?:page|pg\.?|p\.)?\s*[-\u2013—]?\s*"
    r"(?:\d{1,4}|(?=[ivxlc])(?:c{0,3})(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3}))"
    r"\s*[-\u2013—]?\s*(?:(?:of|/)\s*\d{1,4})?$"
    r"|^[A-Z]\s?[-\u2013—]\s?\d{1,3}$",  # financial-statement pages: "F-12", "F - 12"
    re.IGNORECASE,
)
_LEADING_SYMBOLS = {"$", "€", "£", "¥", "(", "•", "●", "▪", "◦", "‣", "∙", "○", "■", "□", "➢", "►", "*", "\u2013", "-"}
_TRAILING_SYMBOLS = {"%", ")", "%)", ")%"}
# Short answers that legitimately repeat in filings ("Item 1B ... Not applicable.").
_SHORT_ANSWER = re.compile(r"^(?:not applicable|none|n/?a|omitted|reserved|\[reserved\])\.?$", re.IGNORECASE)
_NAVIGATION = re.compile(
    r"^(?:table of contents|back to (?:top|contents|table of contents)|return to (?:top|index|table of contents)"
    r"|index to financial statements|skip to (?:main )?content|click here to .{0,40})$",
    re.IGNORECASE,
)
# Compound prefixes whose hyphen is real when a line breaks right after it ("non-\nrecurring").
_KEEP_HYPHEN_AFTER = {
    "self", "non", "cross", "well", "long", "short", "third", "first", "second", "year", "end", "full",
    "part", "mid", "multi", "co", "pre", "post", "low", "high", "over", "under", "after", "all", "half",
}  # fmt: skip
_TERMINAL = ".!?:;"


class SourceLine(NamedTuple):
    """One extracted line and the page it came from ("" marks a blank line)."""

    text: str
    page: int | None = None


def normalize_text(text: str) -> str:
    """NFKC, no invisible or control characters, ``\\n`` line ends (a form feed becomes a line break)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x0c", "\n").replace("\x0b", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_INVISIBLE)
    return _CONTROL.sub(" ", text)


def collapse_separator_runs(line: str) -> str:
    """Dot leaders and rule lines ("Risk Factors ........ 12") shrink to three characters."""
    return _SEPARATOR_RUN.sub(lambda match: match.group(1) * 3, line)


def is_separator_line(line: str) -> bool:
    return bool(_SEPARATOR_LINE.match(line.replace(" ", "")))


def is_page_number_line(line: str) -> bool:
    return bool(_PAGE_NUMBER_LINE.match(line.strip()))


def clean_block_text(text: str, kind: BlockKind = BlockKind.PARAGRAPH) -> str:
    """Normalise one block: lines kept (tables stay one row per line), spaces collapsed, rule lines dropped."""
    lines = []
    for raw_line in normalize_text(text).split("\n"):
        line = _SPACES.sub(" ", collapse_separator_runs(raw_line)).strip()
        if not line or is_separator_line(line):
            continue
        lines.append(line)
    if kind is BlockKind.HEADING:
        return " ".join(lines)
    return "\n".join(lines)


def _furniture_key(line: str) -> str:
    """Running headers differ only in their page number ("Page 3" ~ "Page 4"): short lines mask digits."""
    key = " ".join(line.lower().split())
    return re.sub(r"\d+", "#", key) if len(key) <= 60 else key


def strip_page_furniture(
    pages: Sequence[Sequence[str]], *, edge_lines: int = 2, keep: Callable[[str], bool] | None = None
) -> list[list[str]]:
    """Drop running headers/footers and page numbers from per-page line lists.

    Only the first and last ``edge_lines`` non-empty lines of a page are candidates. A line is a
    running header or footer when it recurs (digits masked in short lines) on the edges of at
    least max(3, 30%) of the pages: filings alternate headers on odd and even pages,
    so a majority threshold would miss them. ``keep`` protects lines that are structure (an
    "Item 7." heading at the top of a page) from looking like furniture.
    """
    page_lines = [[line.strip() for line in page] for page in pages]
    edges: list[set[int]] = []
    for lines in page_lines:
        filled = [i for i, line in enumerate(lines) if line]
        # On short pages (slides) most lines would be "edges"; keep the body out of the candidates.
        size = max(1, min(edge_lines, len(filled) // 3))
        edges.append(set(filled[:size]) | set(filled[-size:]))
    counts: Counter[str] = Counter()
    for lines, edge in zip(page_lines, edges, strict=True):
        counts.update({_furniture_key(lines[i]) for i in edge})
    threshold = max(3, math.ceil(0.3 * len(page_lines)))
    repeated = {key for key, count in counts.items() if count >= threshold} if len(page_lines) >= 3 else set()
    cleaned = []
    for lines, edge in zip(page_lines, edges, strict=True):
        kept = []
        for i, line in enumerate(lines):
            furniture = i in edge and (is_page_number_line(line) or _furniture_key(line) in repeated)
            if furniture and (keep is None or not keep(line)):
                continue
            kept.append(line)
        cleaned.append(kept)
    return cleaned


def merge_symbol_lines(lines: Sequence[SourceLine]) -> list[SourceLine]:
    """Re-attach lone bullets, currency signs and closing symbols that extraction put on their own line."""
    merged: list[SourceLine] = []
    pending_prefix: SourceLine | None = None
    for line in lines:
        text = line.text.strip()
        if text in _LEADING_SYMBOLS:
            if pending_prefix is not None:
                merged.append(pending_prefix)
            pending_prefix = SourceLine(text, line.page)
            continue
        if text in _TRAILING_SYMBOLS and merged and merged[-1].text and pending_prefix is None:
            previous = merged[-1]
            merged[-1] = SourceLine(previous.text + text, previous.page)
            continue
        if pending_prefix is not None:
            if not text:  # a blank line between "•" and its item: keep waiting
                continue
            joiner = "" if pending_prefix.text in {"$", "€", "£", "¥", "("} else " "
            merged.append(SourceLine(pending_prefix.text + joiner + text, pending_prefix.page))
            pending_prefix = None
            continue
        merged.append(SourceLine(text, line.page))
    if pending_prefix is not None:
        merged.append(pending_prefix)
    return merged


def is_repeatable_short_answer(text: str) -> bool:
    return bool(_SHORT_ANSWER.match(text.strip()))


def drop_repeated_lines(lines: Sequence[SourceLine], *, min_repeats: int = 4) -> list[SourceLine]:
    """Drop running headers that survive as plain lines (text exports of filings have hundreds).

    The threshold grows with the document (one per 150 lines) so that a table row label that
    recurs a few times in a long filing is not mistaken for a page header.
    """
    filled = [line.text for line in lines if line.text]
    threshold = max(min_repeats, len(filled) // 150)
    counts = Counter(_line_key(text) for text in filled if len(text) <= 100)
    repeated = {
        key
        for key, count in counts.items()
        if count >= threshold and any(ch.isalpha() for ch in key) and not is_repeatable_short_answer(key)
    }
    if not repeated:
        return list(lines)
    return [line for line in lines if not line.text or _line_key(line.text) not in repeated]


def join_wrapped(previous: str, following: str) -> str:
    """Join a wrapped line to the next, undoing end-of-line hyphenation ("finan-" + "cial")."""
    previous, following = previous.rstrip(), following.lstrip()
    match = re.search(r"(\w+)-$", previous)
    if match and following[:1].islower() and match.group(1)[-1:].isalpha():
        if match.group(1).lower() in _KEEP_HYPHEN_AFTER:
            return previous + following
        return previous[:-1] + following
    return f"{previous} {following}"


def ends_sentence(text: str) -> bool:
    return text.rstrip(" \"'\u201d\u2019)]").endswith(tuple(_TERMINAL))


def _line_key(text: str) -> str:
    # Exact up to case and spacing: masking digits here would merge "Fiscal 2023 compared to 2022"
    # with "Fiscal 2022 compared to 2021" (page edges are safer, so strip_page_furniture masks them).
    return " ".join(text.lower().split())


def clean_document(document: ParsedDocument) -> ParsedDocument:
    """The cleaning stage: normalised blocks, boilerplate blocks dropped, offsets recomputed.

    Dropped: empty and rule-only blocks; navigation lines ("Table of Contents", "Back to top")
    after their first occurrence; short single-line paragraphs that recur throughout the
    document (running headers that survived parsing); a block identical to the one before it.
    """
    drafts = []
    for block in document.blocks:
        text = clean_block_text(block.text, block.kind)
        if text:
            # A table's cells are normalised like its text, so the stored cells read as the chunk does.
            table = block.table.map_text(lambda value: " ".join(normalize_text(value).split())) if block.table else None
            drafts.append(block.draft(text, table=table))
    short_counts = Counter(
        _line_key(d.text) for d in drafts if d.kind is BlockKind.PARAGRAPH and "\n" not in d.text and len(d.text) <= 100
    )
    threshold = max(4, len(drafts) // 50)
    kept: list[BlockDraft] = []
    seen_navigation: set[str] = set()
    for draft in drafts:
        key = _line_key(draft.text)
        if _NAVIGATION.match(draft.text):
            if key in seen_navigation:
                continue
            seen_navigation.add(key)
        elif (
            draft.kind is BlockKind.PARAGRAPH
            and short_counts.get(key, 0) >= threshold
            and any(ch.isalpha() for ch in key)
            and not is_repeatable_short_answer(draft.text)
        ):
            continue
        if kept and kept[-1].kind is draft.kind and kept[-1].text == draft.text:
            continue
        kept.append(draft)
    title = clean_block_text(document.title, BlockKind.HEADING) if document.title else None
    return document.with_blocks(kept, title=title or None)
