"""Financial tables: cells with periods, signs, scale and unit from HTML, PDF and aligned text; table
chunks that keep a table whole or split it only between rows, title and header repeated."""

from __future__ import annotations

import pytest

from pipelines.chunking import ChunkingOptions, WhitespaceTokenizer, chunk_document
from pipelines.documents import BlockKind
from pipelines.ingest import IngestOptions, ingest_bytes
from pipelines.parsing import parse
from pipelines.redaction import RedactionPolicy, redact_document
from pipelines.tables import (
    build_table,
    cell_ref,
    detect_period,
    detect_scale,
    find_cell,
    parse_cell_ref,
    parse_number,
    text_table_grid,
)

# An SEC-style table: a spanning header over two header rows, "$" and ")" in cells of their own.
SEC_TABLE = """<html><body>
<h2>Results of Operations</h2>
<p>Net sales by category (in millions, except per share amounts):</p>
<table>
<tr><td></td><td colspan="6">Years ended</td><td></td></tr>
<tr><td></td><td colspan="2">September 30, 2023</td><td></td><td colspan="2">September 24, 2022</td><td>Change</td></tr>
<tr><td>iPhone</td><td>$</td><td>200,583</td><td></td><td>$</td><td>205,489</td><td>(2)%</td></tr>
<tr><td>Services</td><td></td><td>85,200</td><td></td><td></td><td>78,129</td><td>9%</td></tr>
<tr><td>Other income (expense), net</td><td></td><td>(565</td><td>)</td><td></td><td>(334</td><td>)</td></tr>
<tr><td>Diluted earnings per share</td><td>$</td><td>6.13</td><td></td><td>$</td><td>6.11</td><td></td></tr>
{extra}
</table>
<p>Services grew on higher subscription revenue.</p>
</body></html>"""


def sec_html(extra_rows: int = 0) -> bytes:
    extra = "".join(
        f"<tr><td>Product line {i}</td><td>$</td><td>{i * 1000:,}</td><td></td><td>$</td><td>{i * 900:,}</td>"
        f"<td>{i}%</td></tr>"
        for i in range(1, extra_rows + 1)
    )
    return SEC_TABLE.format(extra=extra).encode()


def the_table(document):
    blocks = [block for block in document.blocks if block.table is not None]
    assert len(blocks) == 1
    return blocks[0].table


@pytest.mark.parametrize(
    ("text", "value", "unit", "scale"),
    [
        ("(1,234)", -1234.0, None, None),
        ("$ (1,234.5)", -1234.5, "$", None),
        ("$(12)", -12.0, "$", None),
        ("(3.2)%", -3.2, "%", None),
        ("12.5%", 12.5, "%", None),
        ("$1.2 billion", 1.2, "$", "billions"),
        ("-5", -5.0, None, None),
        ("1,234 (1)", 1234.0, None, None),  # a footnote marker, not a negative number
        ("+4.5%", 4.5, "%", None),
        ("5.7x", 5.7, "x", None),
    ],
)
def test_numbers_keep_sign_unit_and_scale(text, value, unit, scale):
    number = parse_number(text)
    assert number is not None
    assert (number.value, number.unit, number.scale) == (value, unit, scale)


@pytest.mark.parametrize("text", ["—", "-", "n/a", "Total", "(1,234", ""])
def test_words_dashes_and_unbalanced_parentheses_are_not_numbers(text):
    assert parse_number(text) is None


@pytest.mark.parametrize(
    ("header", "label", "fiscal_period", "end"),
    [
        ("2023", "FY2023", "FY", None),
        ("Fiscal 2023", "FY2023", "FY", None),
        ("FY24", "FY2024", "FY", None),
        ("Q2 2024", "Q2 2024", "Q2", None),
        ("Second quarter of fiscal 2024", "Q2 2024", "Q2", None),
        ("Three months ended December 30, 2023", "3M ended 2023-12-30", None, "2023-12-30"),
        ("Six Months Ended June 29, 2024", "6M ended 2024-06-29", None, "2024-06-29"),
        ("Year ended Sept. 30, 2023", "FY2023", "FY", "2023-09-30"),
        ("December 31, 2023", "2023-12-31", None, "2023-12-31"),
    ],
)
def test_column_periods_are_normalised(header, label, fiscal_period, end):
    period = detect_period(header)
    assert period is not None
    assert (period.label, period.fiscal_period, period.end) == (label, fiscal_period, end)


@pytest.mark.parametrize("header", ["% Change", "2023 vs. 2022", "Segment", ""])
def test_columns_without_a_period_have_none(header):
    assert detect_period(header) is None


def test_scale_and_unit_from_title_or_notes():
    assert detect_scale("Net sales (in millions, except per share amounts)") == ("millions", None)
    assert detect_scale("", "($000s)") == ("thousands", "$")
    assert detect_scale("Dollars in thousands") == ("thousands", "$")
    assert detect_scale("Revenue by region") == (None, None)


def test_html_table_merges_header_rows_per_column_and_keeps_periods_signs_and_scale():
    document = parse(sec_html(), filename="10k.html").documents[0]
    table = the_table(document)

    assert table.title == "Net sales by category (in millions, except per share amounts):"
    assert [column.header for column in table.columns] == [
        "Years ended September 30, 2023",
        "Years ended September 24, 2022",
        "Years ended Change",
    ]
    assert [column.period.label if column.period else None for column in table.columns] == ["FY2023", "FY2022", None]
    assert [row.label for row in table.rows] == [
        "iPhone",
        "Services",
        "Other income (expense), net",
        "Diluted earnings per share",
    ]
    iphone, services, other, eps = table.rows
    assert [(c.value, c.scale, c.unit) for c in iphone.cells] == [
        (200583.0, "millions", "$"),
        (205489.0, "millions", "$"),
        (-2.0, None, "%"),
    ]
    assert services.cells[0].unit == "$"  # the column's currency, though only the first row prints it
    assert [c.value for c in other.cells[:2]] == [-565.0, -334.0]
    # "except per share amounts": per-share figures are not in millions.
    assert (eps.cells[0].value, eps.cells[0].scale) == (6.13, None)
    # The block text: a row's label and its figures on one line, each figure named by its period.
    lines = next(b for b in document.blocks if b.table is not None).text.split("\n")
    assert "iPhone: FY2023 = $200,583; FY2022 = $205,489; Change = (2)%" in lines


def test_pdf_table_cells_come_from_pdfplumber():
    fpdf = pytest.importorskip("fpdf")
    pdf = fpdf.FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    for line in ("Item 7. Management's Discussion and Analysis", "Revenue grew in every segment.",
                 "Segment results (in thousands)"):  # fmt: skip
        pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    with pdf.table() as grid:
        for cells in (("Segment", "Q2 2024", "Q2 2023"), ("Cloud", "$ 1,200", "$ 1,000"), ("Devices", "(150)", "85")):
            row = grid.row()
            for text in cells:
                row.cell(text)
    pdf.multi_cell(0, 6, "Margins improved because of lower costs.", new_x="LMARGIN", new_y="NEXT")

    document = parse(bytes(pdf.output()), filename="q2.pdf").documents[0]
    table = the_table(document)

    assert table.title == "Segment results (in thousands)"
    assert table.page == 1
    assert [column.period.label for column in table.columns] == ["Q2 2024", "Q2 2023"]
    assert [row.label for row in table.rows] == ["Cloud", "Devices"]
    assert [(c.value, c.scale) for c in table.rows[1].cells] == [(-150.0, "thousands"), (85.0, "thousands")]
    # The rows are not in the text twice (once as loose lines, once as the table).
    assert document.text.count("Devices") == 1
    assert "Margins improved because of lower costs." in document.text


def test_pdf_table_without_rules_keeps_the_prose_around_it_out():
    fpdf = pytest.importorskip("fpdf")
    pdf = fpdf.FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    before = ("Revenue grew in every segment during the year, helped by pricing and by volume in the cloud "
              "business. Costs rose more slowly than sales.")  # fmt: skip
    pdf.multi_cell(0, 6, before, new_x="LMARGIN", new_y="NEXT")
    for label, now, then in (("", "Fiscal 2023", "Fiscal 2022"), ("Cloud", "$ 1,200", "$ 1,000"),
                             ("Devices", "(150)", "85"), ("Total", "1,050", "1,085")):  # fmt: skip
        pdf.cell(70, 6, label)
        pdf.cell(40, 6, now, align="R")
        pdf.cell(40, 6, then, align="R", new_x="LMARGIN", new_y="NEXT")
    after = "Margins improved because of lower costs and a better mix of products sold in the period."
    pdf.multi_cell(0, 6, after, new_x="LMARGIN", new_y="NEXT")

    document = parse(bytes(pdf.output()), filename="mdna.pdf").documents[0]
    table = the_table(document)

    assert [row.label for row in table.rows] == ["Cloud", "Devices", "Total"]
    assert [column.period.label for column in table.columns] == ["FY2023", "FY2022"]
    assert table.rows[1].cells[0].value == -150.0
    paragraphs = [block.text for block in document.blocks if block.kind is BlockKind.PARAGRAPH]
    assert after in paragraphs and any(p.startswith("Revenue grew in every segment") for p in paragraphs)


def test_whitespace_aligned_text_table_is_read_right_aligned():
    text = (
        "Results\n\nNet sales by segment (in thousands):\n\n"
        "                 Fiscal 2023     Fiscal 2022     Change\n"
        "Beef             $ 19,406        $ 19,225         0.9%\n"
        "Pork                5,960           6,280        (5.1)%\n\n"
        "Pork fell on lower prices.\n"
    )
    table = the_table(parse(text.encode(), filename="items.txt").documents[0])
    assert [column.header for column in table.columns] == ["Fiscal 2023", "Fiscal 2022", "Change"]
    assert [row.label for row in table.rows] == ["Beef", "Pork"]
    assert [c.value for c in table.rows[1].cells] == [5960.0, 6280.0, -5.1]
    assert table.scale == "thousands"


def test_pipe_aligned_rows_missing_a_figure_stay_under_their_columns():
    grid = text_table_grid(["| Metric | 2023 | 2022 |", "| Revenue | 1,200 | 1,050 |", "| Backlog | | 300 |"])
    table = build_table(grid)
    assert table is not None
    assert [(c.col, c.value) for c in table.rows[1].cells] == [(0, None), (1, 300.0)]


def test_a_table_flattened_onto_one_line_is_read_back_into_rows():
    # How text extracts of older filings hold their tables (the shared 10-K items have such lines).
    text = (
        "NOTE 2 - DEPOSITS\n"
        "Interest bearing deposits consisted of the following at March 31 (in thousands): 2006 2005 -------- --------\n"
        "FHLB Demand........ $9,139 $3,607 Certificates of deposit.... 300 (25) -------- -------- $9,439 $3,582 "
        "======== ========\n"
        "Deposits are insured up to the legal limit.\n"
    )
    document = parse(text.encode(), filename="item8.txt").documents[0]
    table = the_table(document)
    assert [column.period.label for column in table.columns] == ["FY2006", "FY2005"]
    assert [row.label for row in table.rows] == ["FHLB Demand", "Certificates of deposit", "Total"]
    assert [c.value for c in table.rows[1].cells] == [300.0, -25.0]
    assert table.scale == "thousands"


def test_a_sentence_with_figures_is_not_a_flattened_table():
    text = "Revenue grew 5% to $1,200 million in 2023 and 7% to $1,100 million in 2022 as prices rose sharply.\n"
    document = parse(text.encode(), filename="note.txt").documents[0]
    assert all(block.table is None for block in document.blocks)


def test_a_row_label_can_state_its_own_scale():
    table = build_table([["Metric", "Q1 2024"], ["Revenue ($m)", "6,277"], ["Gross margin", "53.9%"], ["EPS", "3.69"]])
    assert table is not None
    revenue, margin, eps = (row.cells[0] for row in table.rows)
    assert (revenue.value, revenue.scale, revenue.unit) == (6277.0, "millions", "$")
    assert (margin.scale, margin.unit) == (None, "%")
    assert (eps.scale, eps.unit) == (None, None)


def test_a_table_without_figures_is_not_structured():
    assert build_table([["Name", "Role"], ["Ann", "CEO"], ["Bob", "CFO"]]) is None


def whitespace_chunks(data: bytes, filename: str, *, max_tokens: int):
    options = IngestOptions(chunking=ChunkingOptions(max_tokens=max_tokens, overlap_tokens=4))
    result = ingest_bytes(data, filename=filename, options=options, tokenizer=WhitespaceTokenizer())
    return result.documents[0]


def test_a_table_that_fits_is_one_chunk_with_its_cells():
    item = whitespace_chunks(sec_html(), "10k.html", max_tokens=256)
    tables = [chunk for chunk in item.chunks if chunk.kind == "table"]
    assert len(tables) == 1
    (chunk,) = tables
    assert (chunk.table["part"], chunk.table["parts"]) == (1, 1)
    assert [row["label"] for row in chunk.table["rows"]] == [row.label for row in the_table(item.document).rows]
    assert chunk.full_text.startswith("Net sales by category (in millions, except per share amounts):\n")
    # Prose around the table is chunked as text, never mixed into the table chunk.
    assert all("Services grew" not in c.full_text for c in tables)
    assert any("Services grew" in c.text for c in item.chunks if c.kind == "text")


def test_a_long_table_is_split_only_between_rows_with_title_and_headers_repeated():
    item = whitespace_chunks(sec_html(extra_rows=40), "10k.html", max_tokens=80)
    table = the_table(item.document)
    parts = [chunk for chunk in item.chunks if chunk.kind == "table"]
    header_line = table.header_line()

    assert len(parts) >= 3
    assert [p.table["part"] for p in parts] == list(range(1, len(parts) + 1))
    assert {p.table["parts"] for p in parts} == {len(parts)}
    # Every row is in exactly one part, in order, and every part is whole rows.
    indices = [row["index"] for part in parts for row in part.table["rows"]]
    assert indices == list(range(len(table.rows)))
    for part in parts:
        assert part.token_count <= 80
        assert part.full_text.split("\n")[0] == table.title
        assert header_line in part.full_text.split("\n")
        row_lines = [line for line in part.text.split("\n") if line != header_line]
        expected = [table.rows[row["index"]].line(table.columns) for row in part.table["rows"]]
        assert row_lines[-len(expected) :] == expected
        assert item.document.text[part.start : part.end] == part.text
        assert part.table["columns"][0]["period"]["label"] == "FY2023"
    assert all(p.context.endswith(header_line) for p in parts[1:])


def test_a_table_whose_row_cannot_fit_is_chunked_as_text():
    wide = "<table><tr><td></td>" + "".join(f"<td>{2000 + i}</td>" for i in range(20)) + "</tr>"
    wide += "<tr><td>Revenue</td>" + "".join(f"<td>{i},000</td>" for i in range(20)) + "</tr></table>"
    item = whitespace_chunks(f"<html><body><p>Wide.</p>{wide}</body></html>".encode(), "w.html", max_tokens=24)
    assert item.chunks and all(chunk.kind == "text" for chunk in item.chunks)
    assert all(chunk.token_count <= 24 for chunk in item.chunks)


def test_table_cells_are_redacted_with_the_text():
    html = sec_html().replace(b"<td>Services</td>", b"<td>Services (ir@acme-corp.com)</td>")
    document = parse(html, filename="10k.html").documents[0]
    redacted = redact_document(document, RedactionPolicy()).document
    table = the_table(redacted)
    assert "ir@acme-corp.com" not in redacted.text
    assert table.rows[1].label == "Services ([EMAIL])"


def test_cell_reference_finds_row_label_and_column_header():
    item = whitespace_chunks(sec_html(extra_rows=40), "10k.html", max_tokens=80)
    second = [chunk for chunk in item.chunks if chunk.kind == "table"][1]
    row = second.table["rows"][0]["index"]
    chunk_id, address = parse_cell_ref(cell_ref(second.chunk_id, row, 1))
    assert chunk_id == second.chunk_id and str(address) == f"r{row}c1"

    cell = find_cell(second.table, address)
    assert cell is not None
    assert cell["row_label"] == the_table(item.document).rows[row].label
    assert cell["column_header"] == "Years ended September 24, 2022"
    assert cell["period"]["label"] == "FY2022"
    # A row held by another part is not in this one.
    assert find_cell(second.table, parse_cell_ref(cell_ref(second.chunk_id, 0, 0))[1]) is None


def test_structured_tables_leave_text_chunk_invariants_intact():
    item = whitespace_chunks(sec_html(extra_rows=12), "10k.html", max_tokens=64)
    document = item.document
    assert all(document.text[c.start : c.end] == c.text for c in item.chunks)
    assert [c.ordinal for c in item.chunks] == list(range(len(item.chunks)))
    assert sum(1 for block in document.blocks if block.kind is BlockKind.TABLE) == 1
    again = chunk_document(document, options=ChunkingOptions(max_tokens=64, overlap_tokens=4),
                           tokenizer=WhitespaceTokenizer(), document_key=item.content_sha256)  # fmt: skip
    assert [c.chunk_id for c in again] == [c.chunk_id for c in item.chunks]
