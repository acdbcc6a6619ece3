"""Rendering: readable structure, citation markers mapped to chunks, flags visible, everything escaped."""

from __future__ import annotations

import re
from html import escape

import pytest

from pipelines.reports import (
    INSUFFICIENT,
    render_report_html,
    render_report_markdown,
    render_report_pdf,
    report_findings,
    report_schema,
)
from pipelines.reports.render import md_escape
from tests.pipelines.test_reports_corpus import PASSAGES, SPEC, all_insufficient_report, good_report, passage, texts

SCRIPT = "<script>alert('x')</script>"


@pytest.fixture
def hostile() -> tuple[dict, list]:
    """A report that did not come through the grammar, and passage metadata with markup in it."""
    report = good_report()
    report["thesis"] = f"Strong quarter {SCRIPT} **bold** [link](javascript:alert(1))"
    report["risks"][0]["risk"] = f'<img src=x onerror="alert(1)"> {SCRIPT}'
    report["key_metrics"][1]["name"] = f"gross | margin {SCRIPT}"
    report["key_metrics"][1]["value"] = "45.2"  # not in its cited chunk: flagged
    passages = [passage("c-note", PASSAGES[0].text, title=f"Note {SCRIPT}"), *PASSAGES[1:]]
    return report, passages


def findings_for(report: dict, passages: list = PASSAGES):
    return report_findings(report, report_schema(SPEC, PASSAGES), texts(passages))


def test_html_escapes_model_text_and_passage_metadata(hostile) -> None:
    report, passages = hostile
    html = render_report_html(
        report, findings_for(report, passages), passages, chunk_url=lambda c: f"/research/chunks/{c}/"
    )
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;" in html and "onerror=&quot;" in html
    assert 'href="javascript' not in html


def test_markdown_escapes_markup(hostile) -> None:
    import markdown

    report, passages = hostile
    text = render_report_markdown(report, findings_for(report, passages), passages)
    assert "<script" not in text and "<img" not in text
    assert r"\*\*bold\*\*" in text
    assert "gross \\| margin" in text  # a pipe cannot break the metrics table
    html = markdown.markdown(text, extensions=["tables"])
    assert "<script" not in html and "<img" not in html and "<strong>bold" not in html
    assert "&lt;script&gt;" in html
    row = next(r for r in re.findall(r"<tr>.*?</tr>", html, re.DOTALL) if "gross" in r)
    assert row.count("<td") == 6


def test_citation_markers_link_to_the_chunk_url() -> None:
    report = good_report()
    html = render_report_html(
        report, findings_for(report), PASSAGES, chunk_url=lambda c: f"/research/chunks/{c}/?a=1&b=2"
    )
    # Sources are numbered by first citation: the report's citations list order.
    markers = dict(re.findall(r'data-chunk-id="([^"]+)">\[(\d+)\]', html))
    assert markers == {"c-note": "1", "c-memo": "2", "c-call": "3", "c-suit": "4"}
    assert 'href="/research/chunks/c-note/?a=1&amp;b=2"' in html
    assert '<li id="source-2" value="2"><a href="/research/chunks/c-memo/?a=1&amp;b=2">Credit committee memo' in html
    unsafe = render_report_html(report, None, PASSAGES, chunk_url=lambda c: "javascript:alert(1)")
    assert "javascript:" not in unsafe and 'href="#"' in unsafe
    default = render_report_html(report, None, PASSAGES)
    assert 'href="#source-1"' in default


def test_flagged_metric_is_visible_in_every_format() -> None:
    report = good_report()
    report["key_metrics"][0]["value"] = "3.6"
    report["key_metrics"][0]["citation"] = "c-memo"  # 3.6% is in the note, not the memo
    findings = findings_for(report)
    assert findings.flagged == ["revenue growth"]
    markdown = render_report_markdown(report, findings, PASSAGES)
    row = next(line for line in markdown.splitlines() if line.startswith("| revenue growth"))
    assert "FLAG: not found in the cited source" in row
    assert "| gross margin | 69.6% | % | Q3 2023 | [2] | matched |" in markdown
    html = render_report_html(report, findings, PASSAGES)
    assert re.search(r'<tr class="metric-not_found flagged"><td>revenue growth</td>', html)
    assert '<tr class="metric-matched"><td>gross margin</td>' in html


def test_each_mismatch_is_listed_with_field_value_chunk_and_reason() -> None:
    report = good_report()
    report["key_metrics"][0].update(value="3.1", unit="x")  # the note has +3.1%, not 3.1x
    report["thesis"] = "Revenue fell 3.1% while leverage stayed at 6.1x and the margin was 69.6%."
    findings = findings_for(report)
    assert findings.needs_attention
    expected = [
        "revenue growth: 3.1x [unit: x], Q3 2023 (cited c-note): the source states it in another unit",
        "thesis: -3.1% [unit: %] (cited: the report's sources): the source states the opposite sign or direction",
    ]
    markdown = render_report_markdown(report, findings, PASSAGES)
    page = render_report_html(report, findings, PASSAGES)
    assert "Needs attention: 2 number(s) not supported by their sources" in markdown
    assert "Needs attention: 2 number(s)" in page
    for line in expected:
        assert md_escape(line) in markdown
        assert escape(line) in page
    assert re.search(r'<tr class="metric-mismatch flagged"><td>revenue growth</td>', page)
    pdf = render_report_pdf(report, findings, PASSAGES)
    assert pdf.startswith(b"%PDF-")
    assert "Needs attention" not in render_report_markdown(good_report(), findings_for(good_report()), PASSAGES)


def test_markdown_structure_follows_the_template() -> None:
    report = good_report()
    text = render_report_markdown(report, findings_for(report), PASSAGES, spec=SPEC)
    headings = re.findall(r"^#+ (.+)$", text, re.MULTILINE)
    assert headings == [
        "Equity research note: American Tower Corporation (AMT)",
        "Thesis",
        "Key metrics",
        "Risks",
        "Sources",
    ]
    assert "- **Rating:** overweight" in text and "- **Target price:** USD 245 [1]" in text
    assert "- **As of:** 2023-12-31" in text and "- **Horizon:** 12 months" in text
    assert "| free cash flow | USD 1.58 billion | USD billion | Q2 2024 | [3] | matched |" in text
    assert "4. Form 8-K: Other Events, American Tower Corporation (AMT), filing, 2023-11-16, p. 1" in text


def test_all_insufficient_report_renders() -> None:
    report = all_insufficient_report()
    text = render_report_markdown(report, findings_for(report), [])
    assert f"- **Rating:** {INSUFFICIENT}" in text and "No sources cited." in text and "No risks reported." in text
    html = render_report_html(report, None, {})
    assert "No sources cited." in html


def test_pdf_is_a_pdf_and_survives_non_latin1_text(hostile) -> None:
    report, passages = hostile
    report["thesis"] = "Margins — up 3.1% “this year” … €3m, 中文, emoji \U0001f4c8"
    data = render_report_pdf(report, findings_for(report, passages), passages, spec=SPEC)
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert len(data) > 1000
    empty = render_report_pdf(all_insufficient_report(), None, [])
    assert empty.startswith(b"%PDF-")
