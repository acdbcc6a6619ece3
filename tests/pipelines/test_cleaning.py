"""Cleaning: Unicode and whitespace, page furniture, hyphenation, boilerplate runs."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pipelines.cleaning import (
    SourceLine,
    clean_block_text,
    clean_document,
    collapse_separator_runs,
    drop_repeated_lines,
    is_page_number_line,
    join_wrapped,
    merge_symbol_lines,
    normalize_text,
    strip_page_furniture,
)
from pipelines.documents import BlockDraft, BlockKind, DocumentFormat, build_document
from tests.pipelines.strategies import property_settings


def test_normalize_text_applies_nfkc_and_removes_invisible_and_control_characters():
    raw = "\ufb01nancial\u00a0results\u200b \uff11\uff12% soft\u00adhyphen\x07 line\r\nnext\x0cpage"
    assert normalize_text(raw) == "financial results 12% softhyphen  line\nnext\npage"


def test_dot_leaders_and_rules_collapse():
    assert collapse_separator_runs("Risk Factors .............. 12") == "Risk Factors ... 12"
    assert collapse_separator_runs("Total ____________ $5") == "Total ___ $5"
    assert collapse_separator_runs("a . . . . . b") == "a ... b"
    assert clean_block_text("Intro\n----------\n=====\n  spaced   out\ttext  ") == "Intro\nspaced out text"


@given(st.text(max_size=300))
@property_settings(200)
def test_block_cleaning_is_idempotent(text):
    once = clean_block_text(text)
    assert clean_block_text(once) == once
    assert once == once.strip()


def test_page_numbers_are_recognised():
    for line in ["12", "Page 3", "page 3 of 10", "- 4 -", "F-12", "F - 7", "iv", "Pg. 9", "3/10"]:
        assert is_page_number_line(line), line
    for line in ["2023 revenue", "Item 7", "civilian", "Page three of the report", "$12"]:
        assert not is_page_number_line(line), line


def _page(number: int, header: str) -> list[str]:
    body = [
        f"Line {i} of the discussion on page {number}, in its own words on revenue {number * 31 + i}." for i in range(8)
    ]
    return [header, *body, "ACME CORP", f"Page {number} of 6"]


def test_running_headers_footers_and_page_numbers_are_dropped_from_page_edges():
    pages = [
        _page(n, "ACME CORP | Annual Report 2023" if n % 2 else "Notes to Financial Statements (continued)")
        for n in range(1, 7)
    ]
    pages[2].insert(4, "ACME CORP")  # inside the body: stays
    cleaned = strip_page_furniture(pages)
    for number, lines in enumerate(cleaned, start=1):
        expected = [f"Line {i} of the discussion on page {number}, in its own words on revenue {number * 31 + i}."
                    for i in range(8)]  # fmt: skip
        assert [line for line in lines if line.startswith("Line ")] == expected
        assert not any(line.startswith("Page ") for line in lines)
        assert "ACME CORP | Annual Report 2023" not in lines
        assert "Notes to Financial Statements (continued)" not in lines
    assert cleaned[2].count("ACME CORP") == 1 and sum(lines.count("ACME CORP") for lines in cleaned) == 1


def test_a_line_repeated_inside_page_bodies_is_not_furniture():
    pages = [[f"Heading {n}", f"Intro {n}x", "Total", *[f"Body line {n}-{i} differs." for i in range(6)], "Total",
              f"Closing {n}y", f"Foot {n}x"] for n in range(4)]  # fmt: skip
    cleaned = strip_page_furniture(pages)
    assert all(lines.count("Total") == 2 for lines in cleaned)


def test_short_documents_keep_their_edges():
    pages = [["Memo", "Text one."], ["Memo", "Text two."]]
    assert strip_page_furniture(pages) == pages


def test_hyphenation_is_undone_only_where_a_word_was_broken():
    assert join_wrapped("driven by finan-", "cial services") == "driven by financial services"
    assert join_wrapped("a non-", "recurring charge") == "a non-recurring charge"
    assert join_wrapped("Smith-", "Jones said") == "Smith- Jones said"
    assert join_wrapped("fiscal 2022-", "2023") == "fiscal 2022- 2023"
    assert join_wrapped("the year", "ended") == "the year ended"


def test_lone_symbols_rejoin_their_lines():
    lines = [SourceLine(t) for t in ["•", "Cloud revenue grew", "$", "16.2", "million", "12.5", "%", "(", "3.1", ")"]]
    assert [line.text for line in merge_symbol_lines(lines)] == [
        "• Cloud revenue grew", "$16.2", "million", "12.5%", "(3.1)",
    ]  # fmt: skip


def test_repeated_running_header_lines_in_text_exports_are_dropped():
    lines = []
    for index in range(6):
        lines += [SourceLine("NUANCE COMMUNICATIONS, INC."), SourceLine(f"Paragraph {index} about revenue.")]
        lines += [SourceLine("Not applicable.")]
    kept = [line.text for line in drop_repeated_lines(lines)]
    assert "NUANCE COMMUNICATIONS, INC." not in kept
    assert kept.count("Not applicable.") == 6
    assert kept.count("Paragraph 0 about revenue.") == 1


def test_clean_document_drops_navigation_repeats_and_consecutive_duplicates():
    drafts = [
        BlockDraft(BlockKind.HEADING, "Table of Contents", heading_level=1),
        BlockDraft(BlockKind.PARAGRAPH, "Table of Contents"),
        BlockDraft(BlockKind.HEADING, "Item 1", heading_level=1),
        BlockDraft(BlockKind.PARAGRAPH, "Revenue  grew\u00a0strongly."),
        BlockDraft(BlockKind.PARAGRAPH, "Revenue grew strongly."),
        BlockDraft(BlockKind.PARAGRAPH, "Table of Contents"),
        BlockDraft(BlockKind.PARAGRAPH, "....................."),
        BlockDraft(BlockKind.PARAGRAPH, "Back to top"),
        BlockDraft(BlockKind.HEADING, "Item 2", heading_level=1),
        BlockDraft(BlockKind.PARAGRAPH, "Not applicable."),
        BlockDraft(BlockKind.PARAGRAPH, "Back to top"),
    ]
    document = build_document(drafts, format=DocumentFormat.HTML, title="  Annual\u00a0 Report ")
    cleaned = clean_document(document)
    assert [b.text for b in cleaned.blocks] == [
        "Table of Contents", "Item 1", "Revenue grew strongly.", "Back to top", "Item 2", "Not applicable.",
    ]  # fmt: skip
    assert cleaned.title == "Annual Report"
    assert cleaned.blocks[2].section_path == ("Item 1",)
    for block in cleaned.blocks:
        assert cleaned.text[block.start : block.end] == block.text
