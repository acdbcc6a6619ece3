"""Checks on generated reports: schema errors, number matching against the cited chunk, citations."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.reports import (
    INSUFFICIENT,
    ReportOutputError,
    check_citations,
    check_metric_numbers,
    parse_model_json,
    report_findings,
    report_schema,
    tidy_report,
    validate_report,
)
from pipelines.reports.figures import canonical_value, extract_numbers, text_supports
from tests.pipelines.strategies import property_settings
from tests.pipelines.test_reports_corpus import PASSAGES, SPEC, good_report, texts


def one_metric(value: str, unit: str, citation: str | None = "c1") -> dict:
    return {"key_metrics": [{"name": "m", "value": value, "unit": unit, "period": "Q1 2024", "citation": citation}]}


def status(value: str, unit: str, text: str) -> str:
    return check_metric_numbers(one_metric(value, unit), {"c1": text})[0].status


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        ("12.5", "%", "Gross margin was 12.5% in the quarter."),
        ("12.5", "%", "Gross margin was 12.5 % in the quarter."),
        ("12.5", "%", "Gross margin was 12.5 percent in the quarter."),
        ("12.5", "%", "Gross margin was 12.5 per cent."),
        ("12.50", "%", "Gross margin was 12.5%."),
        ("2359", "USD million", "Revenue was $2,359 million."),
        ("2359", "USD million", "| Revenue ($m) | 2,359 | 2,287 |"),
        ("2359", "", "| Revenue | 2,359 |"),
        ("3.2", "USD billion", "Revenue reached $3.2 billion."),
        ("3.2", "USD billion", "Revenue reached 3.2bn."),
        ("3.2", "USD billion", "Revenue reached $3.2bn."),
        ("3.2", "USD billion", "Revenue reached $3,200 million."),
        ("3200", "USD million", "Revenue reached US$ 3.2 billion."),
        ("1.8", "x", "Leverage was 1.8x."),
        ("1.8", "x", "Net debt was 1.8 times EBITDA."),
        ("-4", "%", "Sales growth was -4% on the year."),
        ("-2.3", "%", "Revenue fell 2.3% to $3.2bn."),
        ("2.3", "%", "Revenue fell 2.3% to $3.2bn."),
        ("350", "bp", "Spreads widened 350 basis points."),
        ("1.46", "USD", "Diluted EPS was $1.46."),
        ("1234567.89", "", "The total was 1,234,567.89."),
    ],
)
def test_numbers_match_their_written_forms(value: str, unit: str, text: str) -> None:
    assert status(value, unit, text) == "matched"


@pytest.mark.parametrize(
    ("value", "unit", "text", "why"),
    [
        ("3.1", "%", "Revenue grew 3.14% on the year.", "no rounding"),
        ("3.1", "%", "Leverage was 3.1x.", "a multiple is not a percentage"),
        ("3.1", "x", "Revenue grew 3.1%.", "a percentage is not a multiple"),
        ("3.2", "EUR billion", "Revenue reached $3.2 billion.", "conflicting currencies"),
        ("3.2", "USD million", "Revenue reached $3.2 billion.", "the wrong scale"),
        ("-3.1", "%", "Revenue grew 3.1%.", "a sign the text does not give"),
        ("3.1", "%", "Revenue grew -3.1%.", "a dropped minus"),
        ("2023", "", "Results for fiscal 2023 were strong.", "a year is not a figure"),
        ("3", "", "Q3 results were strong.", "the digit of a quarter"),
        ("10", "", "The Form 10-K was filed late.", "a form number"),
        ("4.7", "%", "Gross margin was 12.5%.", "simply absent"),
        ("twelve", "%", "Gross margin was 12%.", "not a number"),
    ],
)
def test_numbers_not_in_the_cited_chunk_are_flagged(value: str, unit: str, text: str, why: str) -> None:
    assert status(value, unit, text) == "not_found", why


def test_metric_statuses_cover_citation_and_insufficient_cases() -> None:
    report = {
        "key_metrics": [
            {"name": "a", "value": INSUFFICIENT, "unit": "", "period": INSUFFICIENT, "citation": None},
            {"name": "b", "value": "12.5", "unit": "%", "period": "2024", "citation": None},
            {"name": "c", "value": "12.5", "unit": "%", "period": "2024", "citation": "c-missing"},
            {"name": "d", "value": "12.5", "unit": "%", "period": "2024", "citation": "c1"},
        ],
        "target_price": {"value": "245", "currency": "USD", "citation": "c1"},
    }
    checks = check_metric_numbers(report, {"c1": "Margin of 12.5% and a $245 price target."})
    assert [(c.name, c.status) for c in checks] == [
        ("a", "insufficient"),
        ("b", "no_citation"),
        ("c", "not_found"),
        ("d", "matched"),
        ("target price", "matched"),
    ]


def test_a_number_cited_to_the_wrong_passage_is_flagged_in_the_findings() -> None:
    schema = report_schema(SPEC, PASSAGES)
    report = good_report()
    findings = report_findings(report, schema, texts())
    assert findings.valid and findings.flagged == [] and findings.matched_share == 1.0
    # Outside the grammar (another passage's number): schema error and a flagged metric.
    report["key_metrics"][1].update(value="45.2")
    findings = report_findings(report, schema, texts())
    assert not findings.valid and findings.schema_errors
    assert findings.flagged == ["gross margin"]
    assert findings.matched_share == pytest.approx(4 / 5)


def test_all_insufficient_report_has_no_matched_share() -> None:
    report = {
        "key_metrics": [{"name": "m", "value": INSUFFICIENT, "unit": "", "period": INSUFFICIENT, "citation": None}]
    }
    findings = report_findings(report, report_schema(SPEC, []), {})
    assert findings.matched_share is None and findings.flagged == []


def test_citations_outside_the_passages_are_reported_wherever_they_are() -> None:
    report = good_report()
    report["citations"].append("c-ghost")
    report["risks"][0]["citation"] = "c-phantom"
    report["key_metrics"][0]["citation"] = "c-spirit"
    errors = check_citations(report, texts())
    assert len(errors) == 3
    assert any("report.citations[4]" in e and "c-ghost" in e for e in errors)
    assert any("report.risks[0].citation" in e for e in errors)
    assert any("report.key_metrics[0].citation" in e for e in errors)
    assert check_citations(good_report(), PASSAGES) == []
    findings = report_findings(report, report_schema(SPEC, PASSAGES), texts())
    assert not findings.valid and len(findings.citation_errors) == 3


def test_validate_report_messages_are_readable() -> None:
    schema = report_schema(SPEC, PASSAGES)
    report = good_report()
    report["rating"] = "strong buy"
    del report["horizon"]
    report["key_metrics"][0]["value"] = "9.9"
    errors = validate_report(report, schema)
    assert any(e.startswith("report.rating:") and "strong buy" in e for e in errors)
    assert any(e.startswith("report:") and "horizon" in e for e in errors)
    assert any(e.startswith("report.key_metrics[0]:") for e in errors)
    assert all(len(e) < 320 for e in errors)


def test_tidy_report_drops_repeated_citations_only() -> None:
    schema = report_schema(SPEC, PASSAGES)
    report = good_report()
    report["citations"] += ["c-note", "c-memo"]
    assert validate_report(report, schema)
    tidied = tidy_report(report)
    assert tidied["citations"] == good_report()["citations"] and validate_report(tidied, schema) == []
    assert report["citations"][-1] == "c-memo"  # the input is not modified


def test_parse_model_json() -> None:
    assert parse_model_json('{"thesis": "a\tb"}') == {"thesis": "a\tb"}  # raw control character
    assert parse_model_json('```json\n{"a": 1}\n```') == {"a": 1}
    with pytest.raises(ReportOutputError, match="not valid JSON"):
        parse_model_json('{"ticker": "AMT", "rating": "bu')


# --- properties of the number extraction ------------------------------------------------------

amounts = st.decimals(min_value=Decimal("-99999"), max_value=Decimal("99999"), places=2, allow_nan=False)


def written(value: Decimal, thousands: bool) -> str:
    text = f"{abs(value):,.2f}" if thousands else f"{abs(value):.2f}"
    return ("-" if value < 0 else "") + text


@property_settings(200)
@given(amounts, st.booleans(), st.sampled_from(["%", " %", " percent", " per cent"]))
def test_any_written_percentage_is_read_back_as_its_value(value: Decimal, thousands: bool, suffix: str) -> None:
    text = f"The margin was {written(value, thousands)}{suffix} in the quarter."
    mentions = extract_numbers(text)
    assert len(mentions) == 1 and mentions[0].unit == "%"
    assert mentions[0].decimal == value
    assert text_supports(str(value), "%", text)
    assert not text_supports(str(value + Decimal("0.01")), "%", text)


@property_settings(200)
@given(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999"), places=2),
    st.sampled_from([("$", " billion"), ("$", "bn"), ("", "bn"), ("USD ", " billion"), ("US$", " billion")]),
)
def test_amounts_compare_by_magnitude(value: Decimal, form: tuple[str, str]) -> None:
    prefix, suffix = form
    text = f"Revenue reached {prefix}{value:,.2f}{suffix} last year."
    assert text_supports(str(value), "USD billion", text)
    assert text_supports(str(value * 1000), "USD million", text)
    assert not text_supports(str(value), "USD million", text)


@property_settings(200)
@given(st.from_regex(r"\A[0-9]{1,3}(,[0-9]{3}){0,3}(\.[0-9]{1,3})?\Z"))
def test_canonical_value_drops_separators_and_keeps_the_value(number: str) -> None:
    value = canonical_value(number)
    assert "," not in value and Decimal(value) == Decimal(number.replace(",", ""))
    assert canonical_value(value) == value


@property_settings(150)
@given(st.text(alphabet="abcdefghij KLMNOP.,;:()-/", max_size=80))
def test_text_without_digits_supports_no_number(text: str) -> None:
    assert extract_numbers(text) == []
    assert not text_supports("1", "", text)


def test_tidy_report_drops_repeated_extra_metrics_and_risks() -> None:
    schema = report_schema(SPEC, PASSAGES)
    report = good_report()
    report["key_metrics"] += [report["key_metrics"][3]] * 2
    report["risks"] *= 2
    tidied = tidy_report(report)
    assert tidied["key_metrics"] == good_report()["key_metrics"] and tidied["risks"] == good_report()["risks"]
    assert validate_report(tidied, schema) == []


def test_numbers_in_risks_and_thesis_are_checked_against_their_sources() -> None:
    schema = report_schema(SPEC, PASSAGES)
    report = good_report()
    findings = report_findings(report, schema, texts())
    assert {c.status for c in findings.text_checks} == {"matched"} and len(findings.text_checks) == 4
    report["risks"] = [
        {"risk": "Net debt/EBITDA is 6.1% and rising.", "citation": "c-memo"},  # the memo says 6.1x
        {"risk": "Leverage of 6.1x leaves little room.", "citation": "c-memo"},
    ]
    report["thesis"] = "Revenue grew 9.9% while leverage stayed at 6.1x."
    findings = report_findings(report, schema, texts())
    assert findings.valid  # the grammar allows these sentences; only the number check catches them
    assert findings.flagged == ["thesis", "risks[0]"]
    assert [(c.name, c.value, c.unit, c.status) for c in findings.text_checks if c.flagged] == [
        ("thesis", "9.9", "%", "not_found"),
        ("risks[0]", "6.1", "%", "not_found"),
    ]


def test_values_written_with_their_unit_are_still_checked() -> None:
    assert status("3.1%", "%", "Revenue grew 3.1% on the year.") == "matched"
    assert status("$2,359 million", "USD millions", "Revenue was $2,359 million.") == "matched"
    assert status("245.00", "USD", "We keep our $245 price target.") == "matched"
    assert status("3.2%", "%", "Revenue grew 3.1% on the year.") == "not_found"


def test_findings_round_trip_through_a_dict() -> None:
    from pipelines.reports import ReportFindings

    report = good_report()
    report["thesis"] = "Revenue grew 9.9% while leverage stayed at 6.1x."
    findings = report_findings(report, report_schema(SPEC, PASSAGES), texts())
    stored = json.loads(json.dumps(findings.to_dict()))
    assert ReportFindings.from_dict(stored) == findings
    empty = ReportFindings.from_dict({})
    assert not empty.valid and empty.metric_checks == [] and empty.matched_share is None
