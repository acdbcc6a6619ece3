"""Key-metric candidates (mention + number + period), source trust and conflicts, and the junk-text guard."""

from __future__ import annotations

import pytest

from pipelines.reports import (
    INSUFFICIENT,
    ReportRequestSpec,
    guard_free_text,
    junk_reason,
    render_report_html,
    render_report_markdown,
    report_findings,
    report_schema,
    validate_report,
)
from pipelines.reports.candidates import (
    SOURCE_TRUST,
    best_candidate,
    candidate_conflicts,
    figure_candidates,
    sentence_periods,
)
from tests.pipelines.test_reports_corpus import all_insufficient_report, passage

TABLE = passage(
    "c-table",
    "| Metric | Q2 2024 | Q2 2023 |\n|---|---|---|\n| Revenue ($m) | 8,154 | 7,584 |\n"
    "| Revenue growth y/y | +7.5% | +8.5% |\n| Gross margin | 77.5% | 77.7% |",
    ticker="PYPL",
)
FOURTH_QUARTER = passage(
    "c-10k",
    "Total revenue decreased 1.1% to $5,470 million in fiscal 2023. Fourth-quarter revenue was $1,516 million, "
    "down 3.7% compared with the fourth quarter of 2022.",
    ticker="SPG",
    doc_type="10-K",
    published_on="2024-02-25",
)


def pick(indicator: str, passages: list, **kwargs: object) -> tuple[str, str, str, str] | None:
    best = best_candidate(figure_candidates(indicator, passages, **kwargs))
    return None if best is None else (best.value, best.unit, best.period, best.chunk_id)


def test_a_table_cell_takes_the_period_of_its_column_header() -> None:
    assert pick("revenue growth", [TABLE], ticker="PYPL") == ("7.5", "%", "Q2 2024", "c-table")
    assert pick("gross margin", [TABLE], ticker="PYPL") == ("77.5", "%", "Q2 2024", "c-table")
    assert pick("revenue", [TABLE], ticker="PYPL") == ("8154", "USD million", "Q2 2024", "c-table")


def test_a_comparison_base_is_not_the_period_and_fourth_quarter_is_read_from_the_publication_date() -> None:
    assert sentence_periods("Revenue was $1,516 million, down 3.7% compared with the fourth quarter of 2022.") == []
    # The quarter ranks before the year that holds it; the decline keeps its sign.
    assert pick("revenue growth", [FOURTH_QUARTER], ticker="SPG") == ("-3.7", "%", "Q4 2023", "c-10k")
    assert pick("revenue", [FOURTH_QUARTER], ticker="SPG") == ("1516", "USD million", "Q4 2023", "c-10k")


def test_the_prior_value_after_from_is_not_the_figure() -> None:
    text = passage("c-1", "Gross margin widened to 34.7% from 32.7%, and EBITDA margin stood at 22.6%.")
    assert pick("gross margin", [text])[:2] == ("34.7", "%")
    assert pick("EBITDA margin", [text])[:2] == ("22.6", "%")


def test_another_companys_figure_is_never_a_candidate() -> None:
    other = passage("c-other", "Gross margin was 52.3% in Q1 2024.", ticker="PG")
    assert pick("gross margin", [other], ticker="AMT") is None
    assert pick("gross margin", [other], ticker="PG") == ("52.3", "%", "Q1 2024", "c-other")


def test_guidance_does_not_give_a_figure_its_period() -> None:
    text = passage(
        "c-1",
        "Net debt was $59.1 billion at quarter end. For the first quarter of 2024, the company guided revenue "
        "between $5.40 billion and $5.58 billion.",
        published_on="2024-02-07",
    )
    assert pick("net debt", [text]) == ("59.1", "USD billion", "", "c-1")


def test_a_figure_for_a_period_after_as_of_ranks_behind() -> None:
    old = passage("c-old", "Gross margin was 40.1% in Q3 2023.")
    new = passage("c-new", "Gross margin was 41.9% in Q1 2024.")
    assert pick("gross margin", [old, new]) == ("41.9", "%", "Q1 2024", "c-new")
    assert pick("gross margin", [old, new], as_of="2023-12-31") == ("40.1", "%", "Q3 2023", "c-old")


FILING = passage("c-10q", "Revenue grew 1.4% in Q2 2024 and gross margin was 26.7%.", ticker="COST", doc_type="10-Q")
UPLOAD = passage(
    "c-note",
    "Our channel checks: revenue growth was 95% in Q2 2024 and gross margin 88.8%.",
    ticker="COST",
    doc_type="note",
)
SPEC = ReportRequestSpec("COST", "Costco Wholesale", "", ["revenue growth", "gross margin"], "2024-09-30")


@pytest.mark.parametrize("order", [[UPLOAD, FILING], [FILING, UPLOAD]])
def test_the_filing_outranks_an_ad_hoc_note_and_the_disagreement_is_a_conflict(order: list) -> None:
    assert SOURCE_TRUST["10-Q"] > SOURCE_TRUST["note"]
    candidates = figure_candidates("revenue growth", order, ticker="COST")
    best = best_candidate(candidates)
    assert (best.value, best.chunk_id) == ("1.4", "c-10q")
    assert [(c.value, c.chunk_id) for c in candidate_conflicts(best, candidates)] == [("95", "c-note")]


def test_trust_is_configurable() -> None:
    trust = {**SOURCE_TRUST, "note": 9}
    assert pick("revenue growth", [FILING, UPLOAD], ticker="COST", trust=trust)[0] == "95"


def test_a_conflict_is_shown_with_both_citations_not_marked_matched() -> None:
    passages = [UPLOAD, FILING]
    schema = report_schema(SPEC, passages)
    report = all_insufficient_report(SPEC)
    report["key_metrics"] = [
        {"name": "revenue growth", "value": "1.4", "unit": "%", "period": "Q2 2024", "citation": "c-10q"},
        {"name": "gross margin", "value": "26.7", "unit": "%", "period": "Q2 2024", "citation": "c-10q"},
    ]
    report["citations"] = ["c-10q"]
    assert validate_report(report, schema) == []
    # The note's 95% is not what the schema lets the model write.
    noted = {**report, "key_metrics": [dict(report["key_metrics"][0], value="95", citation="c-note")]}
    assert validate_report(noted, schema)
    findings = report_findings(report, schema, passages, spec=SPEC)
    assert [c.status for c in findings.metric_checks] == ["conflict", "conflict"]
    assert findings.unsupported == [] and findings.supported_share == 1.0
    assert [(c["name"], c["citation"], [o["citation"] for o in c["others"]]) for c in findings.conflicts] == [
        ("revenue growth", "c-10q", ["c-note"]),
        ("gross margin", "c-10q", ["c-note"]),
    ]
    markdown = render_report_markdown(report, findings, passages, spec=SPEC)
    assert "Sources disagree" in markdown and "1.4% (10-Q) [1] vs 95% (note) [2]" in markdown
    html = render_report_html(report, findings, passages, spec=SPEC)
    assert 'data-testid="metric-conflicts"' in html and 'data-chunk-id="c-note"' in html
    # Agreeing sources are no conflict.
    alone = report_findings(report, schema, [FILING], spec=SPEC)
    assert alone.conflicts == [] and {c.status for c in alone.metric_checks} == {"matched"}


def test_rating_target_price_and_horizon_only_where_a_source_states_them() -> None:
    spec = ReportRequestSpec("COST", "Costco Wholesale", "", [], None)
    bare = report_schema(spec, [FILING])["properties"]
    assert bare["rating"] == bare["target_price"] == bare["horizon"] == {"const": INSUFFICIENT}
    rated = passage(
        "c-r", "We rate COST Overweight with a $900 12-month price target.", ticker="COST", doc_type="report"
    )
    props = report_schema(spec, [FILING, rated])["properties"]
    assert props["rating"] == {"enum": ["overweight", INSUFFICIENT]}
    assert props["horizon"] == {"enum": ["12 months", INSUFFICIENT]}
    # Another company's rating is not this company's.
    other = passage("c-o", "Analysts moved PG to Buy from Hold.", ticker="PG")
    assert report_schema(spec, [FILING, other])["properties"]["rating"] == {"const": INSUFFICIENT}


@pytest.mark.parametrize(
    "text",
    [
        "S1111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111",
        "S1 S1 S1 S1 S1 S1 S1 S1 S1 S1 S1 S1 S1 S1",
        "Margin margin margin margin margin pressure",
        "The risk is the risk is the risk is the risk",
        "Gross margin",
        "A1 B2 C3 D4 E5 F6 G7 H8 I9 J0 K1 L2 M3 N4 O5 P6",
    ],
)
def test_junk_free_text_is_detected(text: str) -> None:
    assert junk_reason(text)


@pytest.mark.parametrize(
    "text",
    [
        "Revenue grew 3.1% with a 69.6% gross margin; leverage of 6.1x is the swing factor.",
        "An antitrust suit seeks damages of about 1,820 million dollars.",
        "Halliburton ended the quarter with net debt of 7.70 billion.",
    ],
)
def test_prose_is_not_junk(text: str) -> None:
    assert junk_reason(text) == ""


def test_a_junk_field_falls_back_to_insufficient_evidence() -> None:
    report = all_insufficient_report(SPEC)
    report["thesis"] = "S" + "1" * 60
    report["risks"] = [
        {"risk": "S" + "1" * 60, "citation": "c-10q"},
        {"risk": "Membership fee income could slow if renewal rates fall.", "citation": "c-10q"},
    ]
    guarded, notes = guard_free_text(report)
    assert guarded["thesis"] == INSUFFICIENT
    assert [r["risk"] for r in guarded["risks"]] == [report["risks"][1]["risk"]]
    assert len(notes) == 2 and report["thesis"].startswith("S1")  # the input is left alone
    findings = report_findings(guarded, report_schema(SPEC, [FILING]), [FILING], notes=notes)
    assert findings.notes == notes
    assert "Note:" in render_report_markdown(guarded, findings, [FILING], spec=SPEC)
