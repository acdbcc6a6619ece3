"""Parsing per format, type detection, and every rejection with its reason code."""

from __future__ import annotations

import codecs
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.documents import BlockKind, DocumentFormat, ParsedDocument
from pipelines.parsing import (
    DocumentRejected,
    EmptyDocument,
    EncryptedPdf,
    FileTooLarge,
    InvalidEncoding,
    MalformedJsonl,
    NoTextLayer,
    ParseLimits,
    TooManyDocuments,
    TooManyPages,
    TypeMismatch,
    UnreadableDocument,
    UnsupportedType,
    detect_format,
    parse,
)
from tests.pipelines.pdf_factory import encrypt_pdf, make_pdf
from tests.pipelines.strategies import property_settings


def only(data: bytes, **kwargs) -> ParsedDocument:
    result = parse(data, **kwargs)
    assert len(result.documents) == 1 and not result.errors
    return result.documents[0]


def assert_offsets_consistent(document: ParsedDocument) -> None:
    for block in document.blocks:
        assert document.text[block.start : block.end] == block.text
    assert [b.start for b in document.blocks] == sorted(b.start for b in document.blocks)


def rejection(data: bytes, **kwargs) -> DocumentRejected:
    with pytest.raises(DocumentRejected) as caught:
        parse(data, **kwargs)
    return caught.value


# --- detection ---------------------------------------------------------------------------------

FILING_PAGES = [
    ["ACME Corp - Annual Report 2023", "PART II", "Item 7. Management's Discussion and Analysis",
     "Revenue grew strongly in fiscal 2023, driven by finan-", "cial services demand and new customers across",
     "Europe and Asia.", "Page 1 of 4"],
    ["ACME Corp - Annual Report 2023", "Operating margin reached 18.2% as costs fell. The board approved",
     "a dividend of $0.42 per share.", "Page 2 of 4"],
    ["ACME Corp - Annual Report 2023", "Item 8. Financial Statements",
     "Net revenues | $ 3,566 | $ 3,351 | 6%", "Cost of revenues | 1,200 | 1,100 | 9%",
     "The statements above are audited.", "Page 3 of 4"],
    ["ACME Corp - Annual Report 2023", "Liquidity remained strong with $1.2 billion of cash.", "Page 4 of 4"],
]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "filename", "content_type", "expected"),
    [
        (b"%PDF-1.4 ...", None, None, DocumentFormat.PDF),
        (b"<!DOCTYPE html><html><body><p>x</p></body></html>", None, "application/octet-stream", DocumentFormat.HTML),
        (b"<p>Hi</p>", "page.HTM", None, DocumentFormat.HTML),
        (b"plain words", None, "text/plain; charset=utf-8", DocumentFormat.TEXT),
        (b"# Title\n\ntext", "notes.md", "application/octet-stream", DocumentFormat.MARKDOWN),
        (b'{"text": "a"}\n{"text": "b"}\n', None, None, DocumentFormat.JSONL),
        (b'{"text": "a"}\n', "batch.ndjson", None, DocumentFormat.JSONL),
        (b'{"text": "a"}\n', "batch.jsonl#L3", None, DocumentFormat.JSONL),  # a stored line of a batch
        (b"<html><body>declared text stays text</body></html>", "page.txt", None, DocumentFormat.TEXT),
    ],
)
def test_format_is_declared_type_confirmed_by_content(data, filename, content_type, expected):
    assert detect_format(data, filename=filename, content_type=content_type) is expected


@pytest.mark.parametrize(
    ("data", "filename", "content_type", "error", "reason"),
    [
        (b"<html><body>not a pdf</body></html>", "report.pdf", None, TypeMismatch, "type_mismatch"),
        (b"plain text", None, "application/pdf", TypeMismatch, "type_mismatch"),
        (b"%PDF-1.7\n...", "report.txt", None, TypeMismatch, "type_mismatch"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "scan.txt", None, TypeMismatch, "type_mismatch"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", None, None, UnsupportedType, "unsupported_type"),
        (b"PK\x03\x04 docx bytes", "memo.docx", None, UnsupportedType, "unsupported_type"),
        (b"a,b\n1,2\n", "table.csv", None, UnsupportedType, "unsupported_type"),
        (b"text", None, "application/vnd.ms-excel", UnsupportedType, "unsupported_type"),
        (b"  \n\t ", "empty.txt", None, EmptyDocument, "empty_document"),
        (b"", None, None, EmptyDocument, "empty_document"),
    ],
)
def test_wrong_or_unsupported_types_are_rejected_with_reason(data, filename, content_type, error, reason):
    refused = rejection(data, filename=filename, content_type=content_type)
    assert isinstance(refused, error)
    assert refused.reason_code == reason
    assert refused.to_dict()["reason"] == reason and refused.message


def test_size_cap_is_checked_before_anything_else():
    refused = rejection(b"x" * 101, filename="a.pdf", limits=ParseLimits(max_bytes=100))
    assert isinstance(refused, FileTooLarge) and refused.reason_code == "file_too_large"
    assert refused.details == {"bytes": 101, "limit": 100}
    assert ParseLimits().max_bytes == 20 * 1024 * 1024 and ParseLimits().max_pages == 500


# --- PDF ---------------------------------------------------------------------------------------


def test_pdf_keeps_pages_drops_running_headers_and_page_numbers_and_joins_hyphenation():
    document = only(make_pdf(FILING_PAGES, title="ACME Annual Report 2023"), filename="acme.pdf")
    assert document.format is DocumentFormat.PDF and document.page_count == 4
    assert "ACME Corp - Annual Report 2023" not in document.text
    assert "Page 1 of 4" not in document.text and "of 4" not in document.text
    assert "financial services demand" in document.text and "finan-" not in document.text
    pages = {block.text.split()[0]: block.page for block in document.blocks}
    assert pages["Revenue"] == 1 and pages["Operating"] == 2 and pages["Liquidity"] == 4
    assert_offsets_consistent(document)


def test_pdf_headings_become_section_paths_and_tables_keep_rows():
    document = only(make_pdf(FILING_PAGES), filename="acme.pdf")
    headings = [(b.text, b.heading_level) for b in document.headings]
    assert ("Item 7. Management's Discussion and Analysis", 1) in headings
    assert ("Item 8. Financial Statements", 1) in headings
    cash = next(b for b in document.blocks if "Liquidity" in b.text)
    assert cash.section_path == ("Item 8. Financial Statements",)
    table = next(b for b in document.blocks if b.kind is BlockKind.TABLE)
    # Aligned rows become a table with cells: each line keeps its label beside its figures.
    assert table.text.split("\n") == ["Net revenues: $ 3,566; $ 3,351; 6%", "Cost of revenues: 1,200; 1,100; 9%"]
    assert table.table is not None
    assert [row.label for row in table.table.rows] == ["Net revenues", "Cost of revenues"]
    assert [cell.value for cell in table.table.rows[1].cells] == [1200, 1100, 9]


def test_pdf_paragraph_running_over_a_page_break_records_both_pages():
    document = only(make_pdf(FILING_PAGES), filename="acme.pdf")
    margin = next(b for b in document.blocks if b.text.startswith("Operating margin"))
    assert margin.text.endswith("$0.42 per share.")
    assert (margin.page, margin.page_end) == (2, 2)
    pages = [["Intro line that runs on", "and on without a stop at the end of the"], ["page, then finishes here."]]
    joined = only(make_pdf(pages), filename="x.pdf").blocks[0]
    assert joined.text.endswith("end of the page, then finishes here.")
    assert (joined.page, joined.page_end) == (1, 2)


def test_pdf_title_and_metadata_come_from_the_info_dictionary_and_outline_marks_headings():
    pages = [["Quarterly Letter", "Dear investors, the quarter went well.", "Outlook and Risks",
              "we see rates falling slowly"]]  # fmt: skip
    document = only(make_pdf(pages, title="Q3 Letter", outline=[("Outlook and Risks", 0)]), filename="q3.pdf")
    assert document.title == "Q3 Letter"
    assert document.metadata["author"] == "Jane Q. Analyst"
    outlook = next(b for b in document.blocks if b.text == "Outlook and Risks")
    assert outlook.kind is BlockKind.HEADING


def test_pdf_without_metadata_title_uses_first_heading():
    document = only(make_pdf(FILING_PAGES), filename="scan_0001.pdf")
    assert document.title == "PART II"


@pytest.mark.parametrize("user_password", ["", "secret"])
def test_encrypted_pdf_is_refused_even_when_it_opens_without_password(user_password):
    data = encrypt_pdf(make_pdf(FILING_PAGES), user_password=user_password)
    refused = rejection(data, filename="locked.pdf")
    assert isinstance(refused, EncryptedPdf) and refused.reason_code == "encrypted_pdf"


def test_page_cap():
    refused = rejection(make_pdf(FILING_PAGES), filename="a.pdf", limits=ParseLimits(max_pages=3))
    assert isinstance(refused, TooManyPages) and refused.reason_code == "too_many_pages"
    assert refused.details == {"pages": 4, "limit": 3}
    assert only(make_pdf(FILING_PAGES), filename="a.pdf", limits=ParseLimits(max_pages=4)).page_count == 4


def test_scanned_pdf_without_text_layer_is_refused():
    refused = rejection(make_pdf([[], []]), filename="scan.pdf")
    assert isinstance(refused, NoTextLayer) and refused.reason_code == "no_text_layer"
    assert isinstance(refused, EmptyDocument)


def test_pdf_with_only_page_numbers_is_empty():
    refused = rejection(make_pdf([["1"], ["2"], ["3"]]), filename="numbers.pdf")
    assert refused.reason_code == "no_text_layer"


@pytest.mark.parametrize("data", [b"%PDF-1.4\n" + b"garbage " * 50, make_pdf(FILING_PAGES)[:300]])
def test_corrupt_pdf_is_unreadable(data):
    refused = rejection(data, filename="broken.pdf")
    assert isinstance(refused, UnreadableDocument | NoTextLayer)
    assert refused.reason_code in {"unreadable_document", "no_text_layer"}


def test_truncated_pdf_without_trailer_is_unreadable():
    refused = rejection(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog", filename="broken.pdf")
    assert refused.reason_code == "unreadable_document"


# --- HTML --------------------------------------------------------------------------------------

HTML = """<!DOCTYPE html>
<html lang="en"><head><title>ACME Q3 note</title>
<meta name="description" content="Quarterly note on ACME">
<style>p { color: red }</style><script>var tracking = "SECRET_SCRIPT";</script></head>
<body>
<header><a href="/">Home</a> | <a href="/login">Login</a></header>
<nav><ul><li>Menu entry</li></ul></nav>
<article>
  <header><h1>ACME Corp <em>Q3</em> review</h1></header>
  <p>Revenue rose <b>12%</b> to $1.2 billion.<br>New line after a break.</p>
  <div style="display:none"><ix:header>dei:EntityCentralIndexKey 0000320193</ix:header></div>
  <h2>Results</h2>
  <p>Margins improved.</p>
  <table>
    <tr><th>Metric</th><th>2023</th><th>2022</th></tr>
    <tr><td>Revenue</td><td>$</td><td>1,200</td><td>$</td><td>1,050</td></tr>
    <tr><td>Growth</td><td>14</td><td>%</td><td></td><td></td></tr>
  </table>
  <h3>Segments</h3>
  <ul><li>Cloud grew.</li><li>Devices fell.</li></ul>
  <h2>Risks</h2>
  <p>Rates <span>may</span> rise.</p>
</article>
<aside>Related stories</aside>
<footer>Copyright ACME</footer>
<noscript>Enable JS</noscript>
</body></html>"""


def test_html_strips_scripts_styles_navigation_hidden_and_chrome():
    document = only(HTML.encode(), filename="note.html")
    for removed in ("SECRET_SCRIPT", "color: red", "Menu entry", "Login", "Related stories", "Copyright",
                    "Enable JS", "EntityCentralIndexKey"):  # fmt: skip
        assert removed not in document.text
    assert document.title == "ACME Q3 note"
    assert document.metadata["meta"]["description"] == "Quarterly note on ACME"
    assert document.metadata["language"] == "en"
    assert_offsets_consistent(document)


def test_html_headings_are_section_boundaries_and_tables_keep_rows():
    document = only(HTML.encode(), filename="note.html")
    by_text = {b.text: b for b in document.blocks}
    assert by_text["ACME Corp Q3 review"].kind is BlockKind.HEADING
    assert by_text["Margins improved."].section_path == ("ACME Corp Q3 review", "Results")
    assert by_text["Cloud grew."].section_path == ("ACME Corp Q3 review", "Results", "Segments")
    assert by_text["Rates may rise."].section_path == ("ACME Corp Q3 review", "Risks")
    assert by_text["Revenue rose 12% to $1.2 billion.\nNew line after a break."].kind is BlockKind.PARAGRAPH
    table = next(b for b in document.blocks if b.kind is BlockKind.TABLE)
    # "$" and "%" cells join their figures; every row line names its columns' periods.
    assert table.text == "Metric | 2023 | 2022\nRevenue: FY2023 = $1,200; FY2022 = $1,050\nGrowth: FY2023 = 14%"


def test_html_charset_from_meta_tag_and_content_type():
    body = "<html><head><meta charset='windows-1252'></head><body><p>Caf\u00e9 \u20ac5m</p></body></html>"
    assert only(body.encode("cp1252"), filename="a.html").text == "Caf\u00e9 \u20ac5m"
    plain = "<p>Soci\u00e9t\u00e9 G\u00e9n\u00e9rale</p>".encode("latin-1")
    assert only(plain, content_type="text/html; charset=ISO-8859-1").text == "Soci\u00e9t\u00e9 G\u00e9n\u00e9rale"


def test_html_with_no_visible_text_is_empty():
    refused = rejection(
        b"<html><head><script>x()</script></head><body><nav>menu</nav></body></html>", filename="a.html"
    )
    assert refused.reason_code == "empty_document"


# --- Markdown ----------------------------------------------------------------------------------


def test_markdown_headings_become_sections_and_formatting_is_stripped():
    text = (
        "# Sector Outlook\n\nIntro with **bold** and a [link](http://x.y).\n\n## Banks\n\nNet interest margin "
        "*widened*.\n\n| Bank | NIM |\n|---|---|\n| JPM | 2.7% |\n\n## Insurers\n\n- Pricing firm\n- Claims up\n\n"
        "<script>alert(1)</script>\n\n```\ncode line\n```\n"
    )
    document = only(text.encode(), filename="outlook.md")
    assert document.format is DocumentFormat.MARKDOWN and document.title == "Sector Outlook"
    assert "**" not in document.text and "](" not in document.text and "alert(1)" not in document.text
    by_text = {b.text: b for b in document.blocks}
    assert by_text["Intro with bold and a link."].section_path == ("Sector Outlook",)
    assert by_text["Net interest margin widened."].section_path == ("Sector Outlook", "Banks")
    assert by_text["Bank | NIM\nJPM | 2.7%"].kind is BlockKind.TABLE
    assert by_text["Claims up"].section_path == ("Sector Outlook", "Insurers")
    assert "code line" in by_text


# --- plain text and encodings ------------------------------------------------------------------


def test_text_paragraphs_by_blank_lines_with_wrapped_lines_joined():
    text = (
        "MARKET UPDATE\n\nEquities rallied as inflation cooled and the central bank signalled\n"
        "a pause; credit spreads tightened.\n\nYear    Return    Vol\n2022    -18.1%    24.0\n2023    24.2%    13.1\n"
    )
    document = only(text.encode(), filename="update.txt")
    assert document.title == "MARKET UPDATE"
    assert document.blocks[0].kind is BlockKind.HEADING
    assert document.blocks[1].text == (
        "Equities rallied as inflation cooled and the central bank signalled a pause; credit spreads tightened."
    )
    assert document.blocks[2].kind is BlockKind.TABLE
    assert (
        document.blocks[2].text
        == "Year | Return | Vol\n2022: Return = -18.1%; Vol = 24.0\n2023: Return = 24.2%; Vol = 13.1"
    )


def test_text_without_blank_lines_keeps_one_paragraph_per_line_and_finds_filing_headings():
    text = (
        "ITEM 7.\nMANAGEMENT'S DISCUSSION AND ANALYSIS\nOverview\nWe are a supplier of storage products with a "
        "long history of growth in many markets.\nRevenue rose 10% in 2023.\nITEM 7A.\nQUANTITATIVE AND QUALITATIVE "
        "DISCLOSURES ABOUT MARKET RISK\nWe are exposed to interest rate risk on our $500 million of notes."
    )
    document = only(text.encode(), filename="item7.txt")
    headings = [(b.text, b.heading_level) for b in document.headings]
    assert headings[0] == ("ITEM 7. MANAGEMENT'S DISCUSSION AND ANALYSIS", 1)
    assert ("Overview", 3) in headings
    assert headings[-1][0].startswith("ITEM 7A. QUANTITATIVE") and headings[-1][1] == 1
    revenue = next(b for b in document.blocks if b.text.startswith("Revenue"))
    assert revenue.section_path == ("ITEM 7. MANAGEMENT'S DISCUSSION AND ANALYSIS", "Overview")
    rates = document.blocks[-1]
    assert rates.section_path == ("ITEM 7A. QUANTITATIVE AND QUALITATIVE DISCLOSURES ABOUT MARKET RISK",)


def test_byte_order_marks_decide_the_encoding():
    text = "Dividend \u20ac1.20 per share"
    assert only(codecs.BOM_UTF8 + text.encode(), filename="a.txt").text == text
    assert only(text.encode("utf-16"), filename="a.txt").text == text


def test_invalid_utf8_without_declared_charset_is_refused_with_offset():
    refused = rejection(b"Profit up \xff\xfe 5%", filename="a.txt")
    assert isinstance(refused, InvalidEncoding) and refused.reason_code == "invalid_encoding"
    assert refused.details["offset"] == 10


def test_declared_charset_is_tried_after_utf8():
    data = "Soci\u00e9t\u00e9 G\u00e9n\u00e9rale".encode("cp1252")
    assert only(data, filename="a.txt", content_type="text/plain; charset=windows-1252").text.startswith(
        "Soci\u00e9t\u00e9"
    )
    assert rejection(data, filename="a.txt", content_type="text/plain; charset=utf-8").reason_code == "invalid_encoding"
    unknown = rejection(data, filename="a.txt", content_type="text/plain; charset=klingon")
    assert unknown.reason_code == "invalid_encoding" and unknown.details == {"charset": "klingon"}


@given(st.text(max_size=400))
@property_settings(150)
def test_any_text_parses_or_is_empty_and_offsets_hold(text):
    try:
        document = only(text.encode("utf-8"), filename="any.txt")
    except DocumentRejected as refused:
        # Only two ways to refuse text: nothing left, or NUL bytes that make it look binary.
        assert refused.reason_code == "empty_document" or (refused.reason_code == "type_mismatch" and "\x00" in text)
        return
    assert_offsets_consistent(document)
    assert document.text.strip() == document.text


# --- JSON lines --------------------------------------------------------------------------------


def jsonl(*records) -> bytes:
    return b"\n".join(r if isinstance(r, bytes) else json.dumps(r).encode() for r in records) + b"\n"


def test_jsonl_batch_yields_one_document_per_line_with_metadata():
    data = jsonl(
        {"text": "Apple beat estimates.", "title": "AAPL Q3", "company": "Apple Inc.", "ticker": "aapl",
         "type": "News", "date": "2023-08-03T20:30:00Z", "source": "wire", "access_level": "Internal",
         "desk": "tech", "nested": {"x": 1}},
        {"text": "# Memo\n\nBody **text**.", "format": "markdown"},
        {"text": "<h1>Note</h1><p>HTML body</p>", "format": "html", "ticker": "BRK.B"},
    )  # fmt: skip
    result = parse(data, filename="batch.jsonl")
    assert result.format is DocumentFormat.JSONL and not result.errors
    first, memo, note = result.documents
    assert first.title == "AAPL Q3" and first.line_number == 1
    assert first.metadata == {"company": "Apple Inc.", "ticker": "AAPL", "type": "news", "date": "2023-08-03",
                              "source": "wire", "access_level": "internal", "text_format": "text",
                              "extra": {"desk": "tech"}}  # fmt: skip
    assert memo.title == "Memo" and memo.text == "Memo\n\nBody text." and memo.line_number == 2
    assert note.blocks[0].kind is BlockKind.HEADING and note.metadata["ticker"] == "BRK.B"
    assert len({d.source_sha256 for d in result.documents}) == 3


def test_jsonl_bad_lines_are_reported_with_line_number_and_reason():
    data = jsonl(
        {"text": "good one"},
        b"{not json",
        b"[1, 2]",
        {"title": "no text"},
        {"text": "   "},
        {"text": "bad date", "date": "31/12/2023"},
        {"text": "bad ticker", "ticker": "NOT A TICKER"},
        {"text": 42},
        b'{"text": "bad \xff byte"}',
        {"text": "bad format", "format": "docx"},
        b'{"text": "nan", "score": NaN}',
        {"text": "good two"},
    )
    result = parse(data.replace(b"\n", b"\n\n", 1), filename="b.jsonl")  # a blank line shifts the numbering
    assert [d.text for d in result.documents] == ["good one", "good two"]
    assert [d.line_number for d in result.documents] == [1, 13]
    got = [(e.line_number, e.reason_code) for e in result.errors]
    assert got == [
        (3, "invalid_json"), (4, "not_an_object"), (5, "missing_text"), (6, "empty_text"), (7, "invalid_field"),
        (8, "invalid_field"), (9, "invalid_field"), (10, "invalid_encoding"), (11, "invalid_field"),
        (12, "invalid_json"),
    ]  # fmt: skip
    assert result.errors[0].message.startswith("line 3: invalid JSON")
    with pytest.raises(MalformedJsonl) as caught:
        result.raise_for_errors()
    assert caught.value.reason_code == "malformed_jsonl"
    assert caught.value.details["line_errors"][0] == {"line": 3, "reason": "invalid_json",
                                                      "message": result.errors[0].message}  # fmt: skip


def test_jsonl_with_no_good_line_is_malformed():
    refused = rejection(jsonl(b"{oops", b'"just a string"'), filename="bad.jsonl")
    assert isinstance(refused, MalformedJsonl) and refused.reason_code == "malformed_jsonl"
    assert [e.line_number for e in refused.line_errors] == [1, 2]


def test_jsonl_batch_size_limit():
    data = jsonl(*({"text": f"doc {i}"} for i in range(5)))
    refused = rejection(data, filename="b.jsonl", limits=ParseLimits(max_batch_documents=4))
    assert isinstance(refused, TooManyDocuments) and refused.reason_code == "too_many_documents"
