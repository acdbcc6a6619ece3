"""Hand-written passages and a correct report for the report tests (imported by the other test_reports_* files)."""

from __future__ import annotations

import copy
from typing import Any

from pipelines.reports import INSUFFICIENT, Passage, ReportRequestSpec
from pipelines.reports.figures import extract_numbers


def passage(chunk_id: str, text: str, **fields: Any) -> Passage:
    values: dict[str, Any] = {
        "chunk_id": chunk_id,
        "document_id": f"doc-{chunk_id}",
        "title": f"Document {chunk_id}",
        "company": "American Tower Corporation",
        "ticker": "AMT",
        "doc_type": "report",
        "published_on": "2023-11-16",
        "page": 1,
        "section": "Key metrics",
        "text": text,
    }
    values.update(fields)
    return Passage(**values)


NOTE = passage(
    "c-note",
    "# American Tower: first take on liquidity stress\n\n"
    "We rate AMT Overweight with a $245 price target (12% implied return).\n\n"
    "| Metric | Q3 2023 | Q3 2022 |\n|---|---|---|\n"
    "| Revenue ($m) | 2,359 | 2,287 |\n"
    "| Revenue growth y/y | +3.1% | +3.6% |\n"
    "| Gross margin | 69.6% | 71.0% |\n"
    "| Net debt / EBITDA | 6.1x | 5.6x |\n",
)
MEMO = passage(
    "c-memo",
    "External rating: BB+. Revenue in Q3 2023 was $2,359 million (up 3.1% y/y) with a gross margin of 69.6%. "
    "Net debt of $30,763 million equals 6.1x trailing EBITDA (latest reported quarter, Q3 2023).",
    doc_type="other",
    title="Credit committee memo",
)
NEWS = passage(
    "c-news",
    "BOSTON, May 2 (Ledger Street Wire) - Revenue fell 2.3% to $3.2bn in Q2 2024, the company said. "
    "Shares of American Tower fell 5.0% in afternoon trading.",
    doc_type="news",
    title="American Tower sales slip",
)
CALL = passage(
    "c-call",
    "Gross margin expanded 140 basis points to 45.2 percent. Free cash flow was $1.58 billion in the quarter, "
    "and leverage stood at 4.5x at the end of Q2 2024.",
    doc_type="transcript",
    title="Q2 2024 earnings call",
)
FILING = passage(
    "c-filing",
    "Total net sales were $94,930 million for the quarter. Diluted EPS was $1.46, up from $1.29 a year ago.",
    doc_type="filing",
    title="Form 10-Q excerpt",
)
LAWSUIT = passage(
    "c-suit",
    "The complaint alleges exclusionary contract terms and seeks damages of approximately $1,820 million. "
    "The Company intends to defend the action vigorously.",
    doc_type="filing",
    title="Form 8-K: Other Events",
)
PASSAGES = [NOTE, MEMO, NEWS, CALL, FILING, LAWSUIT]
INDICATORS = ["revenue growth", "gross margin", "net debt/EBITDA"]
SPEC = ReportRequestSpec("AMT", "American Tower Corporation", "", INDICATORS, "2023-12-31")


def texts(passages: list[Passage] = PASSAGES) -> dict[str, str]:
    return {p.chunk_id: p.text for p in passages}


def insufficient_metric(name: str) -> dict[str, Any]:
    return {"name": name, "value": INSUFFICIENT, "unit": "", "period": INSUFFICIENT, "citation": None}


def all_insufficient_report(spec: ReportRequestSpec = SPEC) -> dict[str, Any]:
    return {
        "ticker": spec.ticker,
        "company": spec.company,
        "rating": INSUFFICIENT,
        "target_price": INSUFFICIENT,
        "horizon": INSUFFICIENT,
        "thesis": INSUFFICIENT,
        "key_metrics": [insufficient_metric(name) for name in spec.indicators()],
        "risks": [],
        "citations": [],
    }


def good_report() -> dict[str, Any]:
    """A correct report on PASSAGES: every number is in the chunk it cites."""
    return copy.deepcopy(
        {
            "ticker": "AMT",
            "company": "American Tower Corporation",
            "rating": "overweight",
            "target_price": {"value": "245", "currency": "USD", "citation": "c-note"},
            "horizon": "12 months",
            "thesis": "Revenue grew 3.1% with a 69.6% gross margin; leverage of 6.1x is the swing factor.",
            "key_metrics": [
                {"name": "revenue growth", "value": "3.1", "unit": "%", "period": "Q3 2023", "citation": "c-note"},
                {"name": "gross margin", "value": "69.6", "unit": "%", "period": "Q3 2023", "citation": "c-memo"},
                {"name": "net debt/EBITDA", "value": "6.1", "unit": "x", "period": "Q3 2023", "citation": "c-note"},
                {
                    "name": "free cash flow",
                    "value": "1.58",
                    "unit": "USD billion",
                    "period": "Q2 2024",
                    "citation": "c-call",
                },
            ],
            "risks": [
                {"risk": "An antitrust suit seeks damages of about 1,820 million dollars.", "citation": "c-suit"}
            ],
            "citations": ["c-note", "c-memo", "c-call", "c-suit"],
        }
    )


def test_fixture_passages_carry_the_numbers_the_tests_rely_on() -> None:
    values = {p.chunk_id: {(m.value, m.unit) for m in extract_numbers(p.text)} for p in PASSAGES}
    assert ("3.1", "%") in values["c-note"]
    assert ("2359", "USD million") in values["c-note"]  # the unit comes from the row label "($m)"
    assert ("6.1", "x") in values["c-memo"]
    assert ("1.58", "USD billion") in values["c-call"]
    assert ("45.2", "%") in values["c-call"]


def grounded_report() -> dict[str, Any]:
    """``good_report`` as the report schema admits it: each key metric is the best candidate (the note, research,
    outranks the memo for the gross margin both state) and the horizon, which no passage states, is insufficient."""
    report = good_report()
    report["key_metrics"][1]["citation"] = "c-note"
    report["horizon"] = INSUFFICIENT
    return report
