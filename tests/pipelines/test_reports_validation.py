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
from pipelines.reports.figures import canonical_value, extract_numbers, text_supports, to_decimal
from tests.pipelines.strategies import property_settings
from tests.pipelines.test_reports_corpus import PASSAGES, SPEC, good_report, grounded_report, texts


def one_metric(value: str, unit: str, citation: str | None = "c1") -> dict:
    return {"key_metrics": [{"name": "m", "value": value, "unit": unit, "period": "Q1 2024", "citation": citation}]}


def status(value: str, unit: str, text: str) -> str:
    return check_metric_numbers(one_metric(value, unit), {"c1": text})[0].status


def reason(value: str, unit: str, text: str, *, name: str = "m", period: str = "") -> str:
    """ "" when the cited text supports the number, else why not (sign, unit, scale, period, not_found)."""
    metric = {"name": name, "value": value, "unit": unit, "period": period or INSUFFICIENT, "citation": "c1"}
    return check_metric_numbers({"key_metrics": [metric]}, {"c1": text})[0].reason


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
        ("3.2", "billion", "Revenue reached 3.2bn."),
        ("3.2", "USD billion", "Revenue reached $3.2bn."),
        ("1.2", "USD billion", "Revenue reached $1,200 million."),
        ("1200", "USD million", "Revenue reached $1.2bn."),
        ("1.2", "USD billion", "Revenue reached USD 1.2 bn."),
        ("3.2", "EUR billion", "Revenue reached \u20ac3.2bn."),
        ("450", "GBP million", "Revenue reached \u00a3450m."),
        ("3.2", "billion", "Revenue reached $3.2 billion."),
        ("3.2", "USD billion", "Revenue reached $3,200 million."),
        ("3200", "USD million", "Revenue reached US$ 3.2 billion."),
        ("1.8", "x", "Leverage was 1.8x."),
        ("1.8", "x", "Net debt was 1.8 times EBITDA."),
        ("1.8", "x", "Net debt was 1.8\u00d7 EBITDA."),
        ("-4", "%", "Sales growth was -4% on the year."),
        ("-2.3", "%", "Revenue fell 2.3% to $3.2bn."),
        ("-2.3", "%", "Revenue recorded a decline of 2.3% on the year."),
        ("-2.3", "%", "Revenue was down 2.3% y/y."),
        ("-2.3", "%", "Revenue growth was (2.3)% in the quarter."),
        ("-2.3", "%", "A 2.3% decline in revenue."),
        ("2.3", "%", "Revenue rose 2.3% on the year."),
        ("+2.3", "%", "Revenue was up 2.3% y/y."),
        ("3.2", "USD billion", "Revenue fell 2.3% to $3.2bn."),
        ("12.5", "%", "Gross margin fell to 12.5% in the quarter."),
        ("350", "bp", "Spreads widened 350 basis points."),
        ("350", "bp", "Spreads widened 350bps."),
        ("1.46", "USD", "Diluted EPS was $1.46."),
        ("1.46", "USD per share", "Diluted EPS was $1.46 per share."),
        ("1.46", "USD per share", "Diluted EPS was $1.46."),
        ("-155", "USD million", "Free cash flow was $(155) million."),
        ("1234567.89", "", "The total was 1,234,567.89."),
    ],
)
def test_numbers_match_their_written_forms(value: str, unit: str, text: str) -> None:
    assert status(value, unit, text) == "matched"


@pytest.mark.parametrize(
    ("value", "unit", "text", "why"),
    [
        ("3.1", "%", "Revenue grew 3.14% on the year.", "not_found"),  # no rounding
        ("3.1", "%", "Leverage was 3.1x.", "unit"),  # a multiple is not a percentage
        ("3.1", "x", "Revenue grew 3.1%.", "unit"),  # a percentage is not a multiple
        ("50", "%", "Spreads widened 50 bps.", "unit"),  # basis points are not percent
        ("3.1", "USD", "Revenue grew 3.1%.", "unit"),
        ("3.2", "EUR billion", "Revenue reached $3.2 billion.", "unit"),  # conflicting currencies
        ("3.2", "USD billion", "Revenue reached 3.2bn.", "unit"),  # a currency the source does not give
        ("7", "USD billion", "The company has 7 segments.", "unit"),
        ("7", "USD", "The company has 7 segments.", "unit"),
        ("155", "USD", "Our DCF values the shares at $155 per share.", "unit"),  # a price is no balance
        ("155", "USD million", "Our DCF values the shares at $155 per share.", "unit"),
        ("3.2", "USD million", "Revenue reached $3.2 billion.", "scale"),
        ("3.2", "USD thousand", "Revenue reached $3.2 billion.", "scale"),
        ("2359", "", "| Revenue ($m) | 2,359 | 2,287 |", "scale"),  # the row says millions
        ("1.2", "USD billion", "Revenue reached $1,201 million.", "not_found"),
        ("-3.1", "%", "Revenue grew 3.1%.", "sign"),  # a sign the text does not give
        ("3.1", "%", "Revenue grew -3.1%.", "sign"),  # a dropped minus
        ("2.3", "%", "Revenue fell 2.3%.", "sign"),
        ("2.3", "%", "Revenue recorded a decline of 2.3%.", "sign"),
        ("2.3", "%", "Revenue was down 2.3%.", "sign"),
        ("2.3", "%", "Revenue growth was (2.3)%.", "sign"),
        ("2.3", "%", "Revenue growth was -2.3%.", "sign"),
        ("-2.3", "%", "Revenue rose 2.3%.", "sign"),
        ("-2.3", "%", "Revenue increased 2.3%.", "sign"),
        ("155", "USD million", "Free cash flow was $(155) million.", "sign"),
        ("2023", "", "Results for fiscal 2023 were strong.", "not_found"),  # a year is not a figure
        ("3", "", "Q3 results were strong.", "not_found"),  # the digit of a quarter
        ("10", "", "The Form 10-K was filed late.", "not_found"),  # a form number
        ("4.7", "%", "Gross margin was 12.5%.", "not_found"),  # simply absent
        ("twelve", "%", "Gross margin was 12%.", "not_found"),  # not a number
    ],
)
def test_numbers_not_in_the_cited_chunk_are_flagged_with_the_reason(value: str, unit: str, text: str, why: str) -> None:
    check = check_metric_numbers(one_metric(value, unit), {"c1": text})[0]
    assert check.flagged and check.reason == why
    assert check.status == ("not_found" if why == "not_found" else "mismatch")
    assert not text_supports(value, unit, text) or to_decimal(value) is None


def test_the_lenient_cases_of_the_issue_are_no_longer_supported() -> None:
    assert not text_supports("2.3", "%", "Revenue fell 2.3%")
    assert text_supports("-2.3", "%", "Revenue fell 2.3%")
    assert not text_supports("7", "USD billion", "The company has 7 segments.")
    assert not text_supports("155", "USD", "A $155-per-share valuation.")
    assert not text_supports("155", "USD", "A valuation of $155 per share.")
    assert text_supports("155", "USD per share", "A valuation of $155 per share.")


@pytest.mark.parametrize(
    ("period", "text", "why"),
    [
        ("FY2023", "Revenue grew 5% in FY2023.", ""),
        ("2023", "Revenue grew 5% in FY2023.", ""),  # a fiscal year and its year are one period
        ("Q2 2024", "Revenue grew 5% in 2024.", ""),  # a quarter lies within its year
        ("Q2 2024", "Revenue grew 5% in H1 2024.", ""),
        ("Q2 2024", "Revenue grew 5% in 2Q24.", ""),
        ("FY2022", "Revenue grew 5%.", ""),  # the source states no period: nothing to disagree with
        ("FY2022", "Revenue grew 5%, with notes due 2030.", ""),  # a maturity is not a reporting period
        ("TTM", "Revenue grew 5% in FY2023.", ""),  # a trailing period cannot be placed without dates
        ("FY2022", "Revenue grew 5% in FY2023.", "period"),
        ("2022", "Revenue grew 5% in fiscal 2023.", "period"),
        ("Q2 2024", "Revenue grew 5% in Q3 2024.", "period"),
        ("Q3 2024", "Revenue grew 5% in H1 2024.", "period"),
        ("Q2 2024", "Revenue grew 5% in 2023.", "period"),
        ("FY2022", "Results for FY2023.\nRevenue grew 5%.", "period"),  # the source's period, stated elsewhere
        ("FY2022", "Revenue grew 5% in FY2023, after 3% in FY2022.", ""),  # both periods in the sentence
    ],
)
def test_a_period_where_both_state_one_must_agree(period: str, text: str, why: str) -> None:
    assert reason("5", "%", text, period=period) == why
    assert text_supports("5", "%", text, period=period) == (why == "")
    assert reason("5", "%", text, period=INSUFFICIENT) == ""  # the report states no period


@pytest.mark.parametrize(
    ("name", "value", "unit", "text", "why"),
    [
        ("revenue growth", "3.2", "USD billion", "Revenue grew to $3.2 billion.", "unit"),  # growth is a rate
        ("revenue growth", "2.3", "%", "Revenue fell 2.3% on the year.", "sign"),
        ("revenue growth", "-2.3", "%", "Revenue fell 2.3% on the year.", ""),
        ("net debt", "155", "USD", "Shares are worth $155 per share.", "unit"),
        ("eps", "1.46", "USD", "Diluted EPS was $1.46 per share.", ""),  # EPS is per share
        ("eps", "1.46", "USD", "Diluted EPS was $1.46.", ""),
        ("gross margin", "45.2", "x", "Gross margin was 45.2%.", "unit"),
        ("net debt/ebitda", "6.1", "x", "Leverage was 6.1x.", ""),
    ],
)
def test_the_indicator_fixes_the_unit_it_may_take(name: str, value: str, unit: str, text: str, why: str) -> None:
    assert reason(value, unit, text, name=name) == why


def test_a_target_price_may_be_written_per_share() -> None:
    report = {"target_price": {"value": "245", "currency": "USD", "citation": "c1"}}
    check = check_metric_numbers(report, {"c1": "We set a price target of $245 per share."})[0]
    assert check.status == "matched"
    check = check_metric_numbers(report, {"c1": "We set a price target of EUR 245 per share."})[0]
    assert check.reason == "unit"


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
    report = grounded_report()
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
    assert any(e.startswith("report.key_metrics[0]") and "3.1" in e for e in errors)
    assert all(len(e) < 320 for e in errors)


def test_tidy_report_drops_repeated_citations_only() -> None:
    schema = report_schema(SPEC, PASSAGES)
    report = grounded_report()
    report["citations"] += ["c-note", "c-memo"]
    assert validate_report(report, schema)
    tidied = tidy_report(report)
    assert tidied["citations"] == grounded_report()["citations"] and validate_report(tidied, schema) == []
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
    st.sampled_from([("$", " billion"), ("$", "bn"), ("USD ", "bn"), ("USD ", " billion"), ("US$", " billion")]),
)
def test_amounts_compare_by_magnitude(value: Decimal, form: tuple[str, str]) -> None:
    prefix, suffix = form
    text = f"Revenue reached {prefix}{value:,.2f}{suffix} last year."
    assert text_supports(str(value), "USD billion", text)
    assert text_supports(str(value * 1000), "USD million", text)
    assert not text_supports(str(value), "USD million", text)
    assert text_supports(str(value), "billion", text)  # a report may leave out the currency
    assert not text_supports(str(value), "EUR billion", text)


@property_settings(200)
@given(st.from_regex(r"\A[0-9]{1,3}(,[0-9]{3}){0,3}(\.[0-9]{1,3})?\Z"))
def test_canonical_value_drops_separators_and_keeps_the_value(number: str) -> None:
    value = canonical_value(number)
    assert "," not in value and Decimal(value) == Decimal(number.replace(",", ""))
    assert canonical_value(value) == value


positive = st.decimals(min_value=Decimal("0.1"), max_value=Decimal("999"), places=1)
DECLINES = ["fell", "declined", "decreased", "dropped", "was down", "recorded a decline of", "saw a decrease of"]
RISES = ["rose", "grew", "increased", "was up", "climbed"]


@property_settings(200)
@given(positive, st.sampled_from(DECLINES), st.sampled_from(["%", " percent", " bps", "x"]))
def test_a_decline_supports_only_the_negative_value(value: Decimal, words: str, suffix: str) -> None:
    unit = {"%": "%", " percent": "%", " bps": "bp", "x": "x"}[suffix]
    text = f"Revenue {words} {value}{suffix} on the year."
    assert text_supports(f"-{value}", unit, text)
    assert not text_supports(str(value), unit, text)
    assert reason(str(value), unit, text) == "sign"


@property_settings(200)
@given(positive, st.sampled_from(RISES))
def test_a_rise_supports_only_the_positive_value(value: Decimal, words: str) -> None:
    text = f"Revenue {words} {value}% on the year."
    assert text_supports(str(value), "%", text) and text_supports(f"+{value}", "%", text)
    assert reason(f"-{value}", "%", text) == "sign"


@property_settings(150)
@given(positive, st.sampled_from(["({v})%", "({v}%)", "-{v}%", "\u2212{v}%"]))
def test_bracketed_and_minus_figures_are_negative(value: Decimal, form: str) -> None:
    text = "Operating margin change: " + form.format(v=value) + " in the quarter."
    if form == "({v}%)":  # "(up 3.1%)" style: a bracketed percentage is an aside, not an accounting negative
        assert text_supports(str(value), "%", text)
    else:
        assert text_supports(f"-{value}", "%", text) and reason(str(value), "%", text) == "sign"


SCALE_FACTORS = {"thousand": 3, "million": 6, "billion": 9}
SCALE_FORMS = {"thousand": ["k", " thousand"], "million": ["m", "mn", " million"], "billion": ["bn", " billion"]}


@property_settings(200)
@given(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999"), places=2),
    st.sampled_from(list(SCALE_FACTORS)),
    st.sampled_from(list(SCALE_FACTORS)),
    st.data(),
)
def test_scales_convert_and_never_mix(value: Decimal, written: str, wanted: str, data: st.DataObject) -> None:
    suffix = data.draw(st.sampled_from(SCALE_FORMS[written]))
    text = f"Free cash flow reached ${value}{suffix} last year."
    converted = (value * Decimal(10) ** (SCALE_FACTORS[written] - SCALE_FACTORS[wanted])).normalize()
    assert text_supports(f"{converted:f}", f"USD {wanted}", text)
    if wanted != written:
        assert reason(str(value), f"USD {wanted}", text) == "scale"
    assert reason(str(value), f"EUR {written}", text) == "unit"
    assert reason(str(value), "%", text) == "unit"


@property_settings(150)
@given(st.integers(min_value=1, max_value=999), st.sampled_from(["segments", "employees", "stores", "countries"]))
def test_a_bare_count_never_supports_an_amount(count: int, noun: str) -> None:
    text = f"The company has {count} {noun}."
    assert text_supports(str(count), "", text)
    for unit in ("USD billion", "USD million", "USD", "EUR", "%", "x", "bp"):
        assert reason(str(count), unit, text) == "unit", unit
    assert reason(str(count), "billion", text) == "scale"


@property_settings(150)
@given(positive, st.sampled_from(["per share", "per diluted share", "/share", "a share"]))
def test_a_per_share_figure_is_no_balance(value: Decimal, per: str) -> None:
    text = f"Our valuation is ${value} {per}." if per != "/share" else f"Our valuation is ${value}/share."
    assert text_supports(str(value), "USD per share", text)
    for unit in ("USD", "USD million", "USD billion"):
        assert reason(str(value), unit, text) == "unit", unit
        assert reason(str(value), unit, text, name="net debt") == "unit", unit
    assert reason(str(value), "USD", text, name="eps") == ""


QUARTERS = ["Q1", "Q2", "Q3", "Q4"]


@property_settings(150)
@given(st.integers(min_value=2015, max_value=2030), st.integers(-2, 2), st.sampled_from(QUARTERS), st.data())
def test_periods_must_overlap(year: int, shift: int, quarter: str, data: st.DataObject) -> None:
    other = data.draw(st.sampled_from(QUARTERS))
    text = f"Revenue grew 5% in {quarter} {year}."
    assert (reason("5", "%", text, period=f"FY{year + shift}") == "") == (shift == 0)
    assert (reason("5", "%", text, period=f"{other} {year}") == "") == (other == quarter)
    assert reason("5", "%", text, period=f"{quarter} {year + 1}") == "period"


@property_settings(150)
@given(st.text(alphabet="abcdefghij KLMNOP.,;:()-/", max_size=80))
def test_text_without_digits_supports_no_number(text: str) -> None:
    assert extract_numbers(text) == []
    assert not text_supports("1", "", text)


def test_tidy_report_drops_repeated_extra_metrics_and_risks() -> None:
    schema = report_schema(SPEC, PASSAGES)
    report = grounded_report()
    report["key_metrics"] += [report["key_metrics"][3]] * 2
    report["risks"] *= 2
    tidied = tidy_report(report)
    assert tidied["key_metrics"] == grounded_report()["key_metrics"] and tidied["risks"] == grounded_report()["risks"]
    assert validate_report(tidied, schema) == []


def test_numbers_in_risks_and_thesis_are_checked_against_their_sources() -> None:
    schema = report_schema(SPEC, PASSAGES)
    report = grounded_report()
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
    assert [(c.name, c.value, c.unit, c.status, c.reason) for c in findings.text_checks if c.flagged] == [
        ("thesis", "9.9", "%", "not_found", "not_found"),
        ("risks[0]", "6.1", "%", "mismatch", "unit"),  # the source has 6.1, as a multiple
    ]
    assert findings.needs_attention and findings.supported_share == pytest.approx(1 - 2 / findings.numbers_checked)
    stored = findings.to_dict()
    assert [(u["name"], u["reason"], u["citation"]) for u in stored["unsupported"]] == [
        ("thesis", "not_found", None),
        ("risks[0]", "unit", "c-memo"),
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
