"""Chunking: section boundaries, token bounds, overlap, offsets, stable ids; whitespace and real tokenizer."""

from __future__ import annotations

import itertools
import re
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.chunking import (
    ChunkingOptions,
    WhitespaceTokenizer,
    chunk_document,
    chunk_id_for,
    top_level_depth,
)
from pipelines.documents import BlockDraft, BlockKind, DocumentFormat, ParsedDocument, build_document
from tests.pipelines.strategies import documents, property_settings

H = BlockKind.HEADING
P = BlockKind.PARAGRAPH


def doc(*drafts: BlockDraft) -> ParsedDocument:
    return build_document(drafts, format=DocumentFormat.TEXT)


def para(words: int, prefix: str = "w", page: int | None = None) -> BlockDraft:
    return BlockDraft(P, " ".join(f"{prefix}{i}" for i in range(words)), page=page)


def heading(text: str, level: int = 1) -> BlockDraft:
    return BlockDraft(H, text, heading_level=level)


def small(max_tokens: int = 20, overlap: int = 4) -> ChunkingOptions:
    return ChunkingOptions(max_tokens=max_tokens, overlap_tokens=overlap)


def assert_invariants(document: ParsedDocument, chunks, tokenizer, options: ChunkingOptions) -> None:
    text = document.text
    covered = bytearray(len(text))
    for expected_ordinal, chunk in enumerate(chunks):
        assert chunk.ordinal == expected_ordinal
        assert text[chunk.start : chunk.end] == chunk.text and chunk.text == chunk.text.strip() and chunk.text
        assert chunk.start <= chunk.content_start <= chunk.end
        assert chunk.token_count == tokenizer.count_tokens([chunk.text])[0] <= options.max_tokens
        assert len(chunk.text) <= options.max_chars
        covered[chunk.start : chunk.end] = b"\x01" * (chunk.end - chunk.start)
    missing = [i for i, ch in enumerate(text) if not ch.isspace() and not covered[i]]
    assert not missing, f"uncovered characters at {missing[:5]}"
    assert len({c.chunk_id for c in chunks}) == len(chunks)
    # Content parts tile the document in order (overlaps only repeat earlier text).
    assert [c.content_start for c in chunks] == sorted(c.content_start for c in chunks)
    for previous, chunk in itertools.pairwise(chunks):
        assert previous.end <= chunk.content_start


def test_heading_stays_with_its_paragraph_and_paragraphs_are_not_split_when_they_fit(words):
    document = doc(heading("Intro"), para(8, "a"), para(8, "b"), heading("Risks"), para(6, "c"), para(15, "d"))
    chunks = chunk_document(document, options=small(20, 4), tokenizer=words)
    assert len(chunks) == 3
    intro, risks, last = chunks
    assert intro.text == "Intro\n\n" + " ".join(f"a{i}" for i in range(8)) + "\n\n" + " ".join(
        f"b{i}" for i in range(8)
    )
    assert risks.text == "Risks\n\nc0 c1 c2 c3 c4 c5" and risks.section_path == ("Risks",)
    # The 15-word paragraph did not fit next to "Risks" + c: it starts its own chunk, whole, led by
    # as much overlap as the bound leaves (18 - 15 = 3 words, not 4).
    assert last.text == "c3 c4 c5\n\n" + " ".join(f"d{i}" for i in range(15))
    assert last.content_start == document.text.index("d0") and last.section_path == ("Risks",)
    assert_invariants(document, chunks, words, small(20, 4))


def test_chunks_never_span_top_level_sections_and_overlap_stays_inside_a_section(words):
    document = doc(heading("A"), para(12, "a"), heading("B"), para(3, "b"), heading("C"), para(30, "c"))
    chunks = chunk_document(document, options=small(16, 4), tokenizer=words)
    sections = [c.section_path for c in chunks]
    assert sections[0] == ("A",) and sections[1] == ("B",) and set(sections[2:]) == {("C",)}
    b_chunk = chunks[1]
    assert b_chunk.text == "B\n\nb0 b1 b2" and b_chunk.start == b_chunk.content_start  # no overlap from A
    c_chunks = chunks[2:]
    assert c_chunks[0].start == c_chunks[0].content_start
    assert all(c.start < c.content_start for c in c_chunks[1:])  # overlap within C
    assert_invariants(document, chunks, words, small(16, 4))


def test_a_lone_title_does_not_count_as_the_top_level(words):
    document = doc(heading("Report", 1), para(3, "i"), heading("One", 2), para(3, "x"), heading("Two", 2), para(3, "y"))
    assert top_level_depth(document.blocks) == 2
    chunks = chunk_document(document, options=small(40, 4), tokenizer=words)
    assert [c.section_path for c in chunks] == [("Report",), ("Report", "One"), ("Report", "Two")]
    # Subsections below the top level are packed together when they fit.
    nested = doc(heading("Top A", 1), heading("Sub 1", 2), para(3), heading("Sub 2", 2), para(3), heading("Top B", 1),
                 para(3))  # fmt: skip
    packed = chunk_document(nested, options=small(40, 4), tokenizer=words)
    assert [c.text.split("\n\n")[0] for c in packed] == ["Top A", "Top B"]
    assert packed[0].section_path == ("Top A", "Sub 1")


def test_long_paragraph_is_split_at_sentence_ends_with_overlap(words):
    sentences = [f"Sentence {i} has exactly six words." for i in range(12)]
    document = doc(heading("Long"), BlockDraft(P, " ".join(sentences)))
    options = small(24, 6)
    chunks = chunk_document(document, options=options, tokenizer=words)
    assert len(chunks) > 3
    for chunk in chunks[:-1]:
        assert document.text[chunk.content_start : chunk.end].endswith("words.")
    for chunk in chunks[1:]:
        repeated = document.text[chunk.start : chunk.content_start]
        assert repeated.startswith("Sentence") and 0 < len(repeated.split()) <= 6
    assert_invariants(document, chunks, words, options)


def test_table_rows_are_cut_at_line_breaks(words):
    rows = "\n".join(f"Row {i} | {i * 100} | {i * 7}%" for i in range(20))
    document = doc(heading("Table"), BlockDraft(BlockKind.TABLE, rows))
    chunks = chunk_document(document, options=small(30, 0), tokenizer=words)
    for chunk in chunks:
        assert all(re.fullmatch(r"(Table|Row \d+ \| \d+ \| \d+%)", line) for line in chunk.text.split("\n") if line)
    assert_invariants(document, chunks, words, small(30, 0))


def test_pages_span_the_blocks_a_chunk_touches(words):
    document = doc(heading("S"), para(5, "a", page=3), para(5, "b", page=4), para(12, "c", page=5))
    chunks = chunk_document(document, options=small(16, 4), tokenizer=words)
    assert (chunks[0].page_start, chunks[0].page_end) == (3, 4)
    assert (chunks[1].page_start, chunks[1].page_end) == (4, 5)  # overlap reaches back into page 4
    no_pages = chunk_document(doc(para(5)), options=small(), tokenizer=words)[0]
    assert (no_pages.page_start, no_pages.page_end) == (None, None)


def test_chunk_ids_are_stable_unique_and_depend_on_content(words):
    document = doc(heading("S"), para(50))
    first = chunk_document(document, options=small(), tokenizer=words)
    again = chunk_document(doc(heading("S"), para(50)), options=small(), tokenizer=words)
    assert [c.chunk_id for c in first] == [c.chunk_id for c in again]
    assert len({c.chunk_id for c in first}) == len(first)
    changed = chunk_document(doc(heading("S"), para(50, "z")), options=small(), tokenizer=words)
    assert not {c.chunk_id for c in first} & {c.chunk_id for c in changed}
    keyed = chunk_document(document, options=small(), tokenizer=words, document_key="doc-42")
    assert keyed[1].chunk_id == chunk_id_for("doc-42", 1) != chunk_id_for("doc-42", 2)
    assert uuid.UUID(keyed[1].chunk_id).version == 5  # a valid Qdrant point id


def test_options_are_validated():
    with pytest.raises(ValueError):
        ChunkingOptions(max_tokens=4)
    with pytest.raises(ValueError):
        ChunkingOptions(max_tokens=64, overlap_tokens=32)
    with pytest.raises(ValueError):
        ChunkingOptions(max_chars=15)
    assert ChunkingOptions().max_tokens == 256 and ChunkingOptions().overlap_tokens == 32


@given(documents(), st.integers(10, 60), st.integers(0, 8))
@property_settings(250)
def test_property_chunks_cover_the_text_within_bounds_with_consistent_offsets(document, max_tokens, overlap):
    words = WhitespaceTokenizer()
    options = ChunkingOptions(max_tokens=max_tokens, overlap_tokens=min(overlap, max_tokens // 2 - 1))
    chunks = chunk_document(document, options=options, tokenizer=words)
    assert_invariants(document, chunks, words, options)
    again = chunk_document(document, options=options, tokenizer=words)
    assert [c.chunk_id for c in again] == [c.chunk_id for c in chunks]
    # No chunk spans two top-level sections.
    depth = top_level_depth(document.blocks)
    for chunk in chunks:
        body = [b for b in document.blocks if b.start < chunk.end and b.end > chunk.start and b.kind is not H]
        assert len({b.section_path[:depth] for b in body}) <= 1


# --- the real tokenizer -------------------------------------------------------------------------


def test_real_tokenizer_counts_match_transformers_autotokenizer(minilm):
    from transformers import AutoTokenizer

    from pipelines.chunking import packaged_minilm_path

    reference = AutoTokenizer.from_pretrained(str(packaged_minilm_path()), local_files_only=True)
    texts = ["Revenue rose 12.5% to $1,234,567 in fiscal 2023.", "Ünïcödé façade — naïve café 東京", "x " * 400, ""]
    assert minilm.count_tokens(texts) == [len(reference(text)["input_ids"]) for text in texts]
    assert minilm.special_tokens == 2


def test_real_tokenizer_chunks_respect_256_tokens(minilm):
    paragraphs = [
        BlockDraft(
            P, " ".join(f"The company's revenue for segment {i}-{j} grew {j}.{i}% year over year." for j in range(40))
        )
        for i in range(3)
    ]
    document = doc(heading("Item 7. Management's Discussion"), *paragraphs, heading("Item 8"), para(10))
    options = ChunkingOptions()
    chunks = chunk_document(document, options=options, tokenizer=minilm)
    assert max(c.token_count for c in chunks) <= 256
    assert any(c.token_count > 200 for c in chunks)  # chunks are filled, not tiny
    assert_invariants(document, chunks, minilm, options)


@given(st.lists(st.text(min_size=1, max_size=200), min_size=1, max_size=8), st.integers(12, 40))
@property_settings(60)
def test_property_real_tokenizer_bound_and_coverage_on_arbitrary_unicode(minilm, texts, max_tokens):
    document = doc(*(BlockDraft(P, t) for t in texts))
    options = ChunkingOptions(max_tokens=max_tokens, overlap_tokens=3)
    chunks = chunk_document(document, options=options, tokenizer=minilm)
    assert_invariants(document, chunks, minilm, options)


def test_long_unbroken_token_runs_are_cut_inside_words(minilm):
    # No whitespace anywhere, and 90-character "words" of WordPiece continuations ("##7z"): cuts
    # fall inside words, where re-tokenising a piece can count differently than its share.
    document = doc(BlockDraft(P, ".".join(["q7z" * 30] * 40)))
    options = ChunkingOptions(max_tokens=32, overlap_tokens=4)
    chunks = chunk_document(document, options=options, tokenizer=minilm)
    assert len(chunks) > 5
    assert_invariants(document, chunks, minilm, options)


# --- character bound: huge "words" and lines ----------------------------------------------------


def content_of(chunks) -> str:
    return "".join(chunk.text[chunk.content_start - chunk.start :] for chunk in chunks)


def test_a_huge_line_without_spaces_is_split_like_any_text(minilm):
    # The 15 MB JSON line, scaled down: WordPiece reads any word over 100 characters as one [UNK],
    # so the token bound alone kept the whole line in one 3-token chunk.
    line = '{"k":"' + "Q" * 200_000 + '"}'
    document = doc(BlockDraft(P, line))
    options = ChunkingOptions()
    chunks = chunk_document(document, options=options, tokenizer=minilm)
    assert len(chunks) >= len(line) // options.max_chars
    assert max(len(c.text) for c in chunks) <= options.max_chars
    assert content_of(chunks) == line
    assert_invariants(document, chunks, minilm, options)


def test_characters_the_tokenizer_drops_are_bounded_too(minilm):
    # Zero-width spaces and control characters produce no tokens at all.
    document = doc(BlockDraft(P, "Revenue grew. " + "\u200b" * 10_000 + " Margins fell."))
    options = ChunkingOptions(max_chars=500)
    chunks = chunk_document(document, options=options, tokenizer=minilm)
    assert max(len(c.text) for c in chunks) <= 500
    assert_invariants(document, chunks, minilm, options)


def test_long_words_among_prose_keep_the_prose_overlap(words):
    prose = " ".join(f"Sentence {i} ends here." for i in range(60))
    document = doc(BlockDraft(P, prose + " " + "z" * 700 + " " + prose))
    options = ChunkingOptions(max_tokens=40, overlap_tokens=6, max_chars=300)
    chunks = chunk_document(document, options=options, tokenizer=words)
    assert_invariants(document, chunks, words, options)
    assert any(c.start < c.content_start for c in chunks)  # overlap survives where it fits
    assert content_of(chunks).count("z") == 700 and sum("z" in c.text for c in chunks) >= 3


# Text as a hostile upload looks: runs without spaces of any length, lone spaces and line breaks,
# and characters a tokenizer drops.
hostile_text = (
    st.lists(
        st.one_of(
            st.integers(1, 3_000).map(lambda n: "x" * n),
            st.sampled_from([" ", "\n", "  ", "Revenue", "12.5%", "\u200b" * 40, "\x00\x01", "é"]),
            st.text(min_size=1, max_size=30),
        ),
        min_size=1,
        max_size=30,
    )
    .map("".join)
    .filter(str.strip)
)


@given(hostile_text, st.integers(16, 400), st.integers(10, 60))
@property_settings(200)
def test_property_no_chunk_exceeds_the_character_bound_and_content_covers_the_text(text, max_chars, max_tokens):
    words = WhitespaceTokenizer()
    options = ChunkingOptions(max_tokens=max_tokens, overlap_tokens=3, max_chars=max_chars)
    document = doc(BlockDraft(P, text))
    chunks = chunk_document(document, options=options, tokenizer=words)
    assert_invariants(document, chunks, words, options)
    # The non-overlapping parts, joined, are the document's text less the whitespace between chunks.
    assert re.sub(r"\s", "", content_of(chunks)) == re.sub(r"\s", "", document.text)


@given(hostile_text, st.integers(16, 400))
@property_settings(60)
def test_property_real_tokenizer_character_bound(minilm, text, max_chars):
    options = ChunkingOptions(max_tokens=32, overlap_tokens=4, max_chars=max_chars)
    document = doc(BlockDraft(P, text))
    chunks = chunk_document(document, options=options, tokenizer=minilm)
    assert_invariants(document, chunks, minilm, options)
    assert re.sub(r"\s", "", content_of(chunks)) == re.sub(r"\s", "", document.text)


def test_real_tokenizer_spans_of_a_long_text_match_one_encode_of_it(minilm):
    # Long texts are encoded in pieces cut at whitespace; the spans are those of one whole encode.
    text = " ".join(f"Revenue of segment {i} rose {i % 17}.{i % 10}% to ${i},250 million." for i in range(2_000))
    assert len(text) > 3 * 10_000
    whole = [tuple(span) for span in minilm.backend.encode(text, add_special_tokens=False).offsets]
    assert minilm.token_spans(text) == whole
