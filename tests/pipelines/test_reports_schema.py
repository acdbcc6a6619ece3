"""Report and answer schemas: what the grammar lets a model say, checked with jsonschema (no model)."""

from __future__ import annotations

import copy
import json
import re

import pytest
from jsonschema import Draft202012Validator

from pipelines.reports import (
    INSUFFICIENT,
    MAX_PASSAGE_CHARS,
    MAX_PASSAGES,
    REPORT_SYSTEM_PROMPT,
    ReportRequestSpec,
    answer_messages,
    answer_schema,
    report_messages,
    report_schema,
    schema_hash,
    template_question,
    validate_report,
)
from pipelines.reports.schema import MAX_CANDIDATE_NUMBERS, indicator_candidates
from tests.pipelines.test_reports_corpus import (
    CALL,
    INDICATORS,
    MEMO,
    NOTE,
    PASSAGES,
    SPEC,
    all_insufficient_report,
    grounded_report,
    insufficient_metric,
    passage,
)


def is_valid(report: object, schema: dict) -> bool:
    return Draft202012Validator(schema).is_valid(report)


@pytest.fixture(scope="module")
def schema() -> dict:
    return report_schema(SPEC, PASSAGES)


@pytest.fixture(scope="module")
def empty_schema() -> dict:
    return report_schema(SPEC, [])


@pytest.mark.parametrize(
    "make",
    [
        lambda: report_schema(SPEC, PASSAGES),
        lambda: report_schema(SPEC, []),
        lambda: report_schema(ReportRequestSpec("AMT", "American Tower", "Why?", [], None), PASSAGES),
        lambda: report_schema(ReportRequestSpec("AMT", "American Tower", "Why?", [], None), []),
        lambda: answer_schema(PASSAGES),
        lambda: answer_schema([]),
    ],
)
def test_schemas_are_valid_draft_2020_12(make) -> None:
    Draft202012Validator.check_schema(make())


def test_correct_report_validates(schema: dict) -> None:
    assert validate_report(grounded_report(), schema) == []


def test_insufficient_evidence_is_refused_for_an_indicator_the_passages_state(schema: dict, empty_schema: dict) -> None:
    assert validate_report(all_insufficient_report(), empty_schema) == []
    # The note prints revenue growth, gross margin and leverage for Q3 2023: "insufficient" would hide them.
    errors = validate_report(all_insufficient_report(), schema)
    assert {e.split(".")[1].split(":")[0] for e in errors} >= {"key_metrics[0]", "key_metrics[1]", "key_metrics[2]"}


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r.update(rating="buy"),
        lambda r: r.update(thesis="Revenue grew strongly and margins expanded in the quarter."),
        lambda r: r.update(target_price={"value": "245", "currency": "USD", "citation": "c-note"}),
        lambda r: r.update(horizon="12 months"),
        lambda r: r["key_metrics"].__setitem__(
            0, {"name": "revenue growth", "value": "3.1", "unit": "%", "period": "Q3 2023", "citation": "c-note"}
        ),
        lambda r: r["key_metrics"][0].update(citation="c-note"),
        lambda r: r["risks"].append({"risk": "Leverage is high and rising quickly.", "citation": "c-note"}),
        lambda r: r["citations"].append("c-note"),
        lambda r: r["key_metrics"].append(insufficient_metric("EPS")),
    ],
)
def test_without_passages_nothing_but_insufficient_evidence_validates(empty_schema: dict, change) -> None:
    report = all_insufficient_report()
    change(report)
    assert validate_report(report, empty_schema), "an invented fact passed the no-passage schema"


def test_required_indicator_without_mentions_can_only_be_insufficient() -> None:
    spec = ReportRequestSpec("AMT", "American Tower", "", ["dividend yield", "gross margin"], None)
    schema = report_schema(spec, PASSAGES)
    assert schema["properties"]["key_metrics"]["prefixItems"][0] == {
        "type": "object",
        "properties": {
            "name": {"const": "dividend yield"},
            "value": {"const": INSUFFICIENT},
            "unit": {"const": ""},
            "period": {"const": INSUFFICIENT},
            "citation": {"type": "null"},
        },
        "required": ["name", "value", "unit", "period", "citation"],
        "additionalProperties": False,
    }
    report = all_insufficient_report(spec)
    report["key_metrics"][1] = {
        "name": "gross margin",
        "value": "69.6",
        "unit": "%",
        "period": "Q3 2023",
        "citation": "c-note",
    }
    assert validate_report(report, schema) == []
    # A real number from a real passage is still not a dividend yield the passages state.
    report["key_metrics"][0] = {
        "name": "dividend yield",
        "value": "3.1",
        "unit": "%",
        "period": "Q3 2023",
        "citation": "c-note",
    }
    assert validate_report(report, schema)


def metric_report(index: int, **metric: object) -> dict:
    report = grounded_report()
    report["key_metrics"][index].update(metric)
    return report


@pytest.mark.parametrize(
    ("index", "metric", "why"),
    [
        (0, {"value": "4.7"}, "a number in no passage"),
        (0, {"value": "69.6"}, "a number of the passage, but not next to a revenue-growth mention"),
        (0, {"citation": "c-call"}, "a number cited to a passage that does not state it"),
        (0, {"unit": "x"}, "the right digits in the wrong unit"),
        (0, {"citation": "c-unknown"}, "a chunk that is not a passage"),
        (1, {"value": "140", "unit": "bp", "citation": "c-memo"}, "a basis-point figure from another passage"),
        (2, {"value": "6.1", "unit": "x", "citation": "c-news"}, "a multiple in no news passage"),
        (0, {"name": "sales growth"}, "a renamed required indicator"),
        (0, {"period": "Q4 2025"}, "a period no passage names"),
    ],
)
def test_numbers_outside_the_candidate_passages_fail(schema: dict, index: int, metric: dict, why: str) -> None:
    assert validate_report(metric_report(index, **metric), schema), why


def test_decline_words_make_only_the_negative_value_available() -> None:
    spec = ReportRequestSpec("AMT", "American Tower", "", ["revenue growth"], None)
    candidates = indicator_candidates("revenue growth", [PASSAGES[2]])
    assert [(c.unit, c.values) for c in candidates] == [("%", ("-2.3",))]  # "fell 2.3%" is never +2.3%
    schema = report_schema(spec, [PASSAGES[2]])
    report = all_insufficient_report(spec)
    report["key_metrics"][0] = {
        "name": "revenue growth",
        "value": "-2.3",
        "unit": "%",
        "period": "Q2 2024",
        "citation": "c-news",
    }
    assert validate_report(report, schema) == []
    report["key_metrics"][0]["value"] = "2.3"
    assert validate_report(report, schema)


def test_every_offered_number_is_supported_by_the_passage_it_must_cite() -> None:
    """The grammar and the check share one notion of support: a grounded value never comes back flagged."""
    from pipelines.reports.indicators import LEXICON
    from pipelines.reports.schema import target_price_candidates
    from pipelines.reports.validation import check_metric_numbers

    by_id = {p.chunk_id: p.text for p in PASSAGES}
    offered = 0
    for lexeme in LEXICON:
        for candidate in indicator_candidates(lexeme, PASSAGES):
            for value in candidate.values:
                metric = {
                    "name": lexeme.key,
                    "value": value,
                    "unit": candidate.unit,
                    "period": INSUFFICIENT,
                    "citation": candidate.chunk_id,
                }
                check = check_metric_numbers({"key_metrics": [metric]}, by_id)[0]
                assert check.status == "matched", (metric, check)
                offered += 1
    for candidate in target_price_candidates(PASSAGES):
        for value in candidate.values:
            target = {"value": value, "currency": candidate.unit, "citation": candidate.chunk_id}
            assert check_metric_numbers({"target_price": target}, by_id)[0].status == "matched"
    assert offered >= 10


def test_a_number_is_offered_only_to_indicators_whose_unit_it_has() -> None:
    valuation = passage(
        "c-val",
        "Net debt was $2.1 billion; our DCF values the shares at $155 per share. Net debt sits across 7 segments. "
        "Diluted EPS was $1.46 per share. We set a price target of $245 per share.",
    )
    net_debt = {v for c in indicator_candidates("net debt", [valuation]) for v in c.values}
    assert "155" not in net_debt and "2.1" in net_debt
    eps = [(c.unit, c.values) for c in indicator_candidates("eps", [valuation])]
    assert eps == [("USD per share", ("1.46",))]
    from pipelines.reports.schema import target_price_candidates

    assert [(c.unit, c.values) for c in target_price_candidates([valuation])] == [("USD", ("245",))]
    growth = passage("c-growth", "Revenue growth was strong, lifting revenue to $3.2 billion, up 4.1%.")
    assert [(c.unit, c.values) for c in indicator_candidates("revenue growth", [growth])] == [("%", ("4.1",))]


def test_required_metrics_are_present_in_order_and_extras_are_bounded(schema: dict) -> None:
    report = grounded_report()
    swapped = copy.deepcopy(report)
    swapped["key_metrics"][0], swapped["key_metrics"][1] = swapped["key_metrics"][1], swapped["key_metrics"][0]
    assert validate_report(swapped, schema)
    missing = copy.deepcopy(report)
    del missing["key_metrics"][2:]
    assert validate_report(missing, schema)
    extra = {"name": "eps", "value": "1.46", "unit": "USD", "period": INSUFFICIENT, "citation": "c-filing"}
    three_more = copy.deepcopy(report)
    three_more["key_metrics"] += [extra, extra]
    assert validate_report(three_more, schema) == []
    four_more = copy.deepcopy(three_more)
    four_more["key_metrics"].append(extra)
    assert validate_report(four_more, schema)
    invented = copy.deepcopy(report)
    invented["key_metrics"][3]["value"] = "1.6"
    assert validate_report(invented, schema)


def test_target_price_is_grounded_in_a_price_target_mention(schema: dict) -> None:
    assert validate_report(grounded_report(), schema) == []
    for target in (
        {"value": "300", "currency": "USD", "citation": "c-note"},
        {"value": "245", "currency": "EUR", "citation": "c-note"},
        {"value": "245", "currency": "USD", "citation": "c-memo"},
    ):
        report = grounded_report()
        report["target_price"] = target
        assert validate_report(report, schema), target
    no_target = report_schema(SPEC, [MEMO, CALL])
    assert no_target["properties"]["target_price"] == {"const": INSUFFICIENT}


@pytest.mark.parametrize(
    "thesis",
    [
        "<script>alert(1)</script> and more words here",
        'He said "buy" with conviction today.',
        "Line one\nline two of the thesis here",
        "too short",
        "x" * 121,
    ],
)
def test_free_text_is_limited_in_characters_and_length(schema: dict, thesis: str) -> None:
    report = grounded_report()
    report["thesis"] = thesis
    assert validate_report(report, schema)


def test_citations_are_unique_chunk_ids_of_the_passages(schema: dict) -> None:
    report = grounded_report()
    report["citations"].append("c-note")
    assert any("non-unique" in e for e in validate_report(report, schema))
    report = grounded_report()
    report["risks"][0]["citation"] = "c-elsewhere"
    assert validate_report(report, schema)


def test_candidates_are_capped_and_use_only_the_shown_passages() -> None:
    margins = ", ".join(f"{30 + k}.5%" for k in range(8))
    many = [passage(f"c-{i}", f"Gross margin was {i}.25% in Q1 2024 after {margins}.") for i in range(20)]
    candidates = indicator_candidates("gross margin", many)
    assert len({c.chunk_id for c in candidates}) == 4
    assert sum(len(c.values) for c in candidates) <= MAX_CANDIDATE_NUMBERS
    schema = report_schema(ReportRequestSpec("AMT", "American Tower", "", ["gross margin"], None), many)
    assert schema["properties"]["citations"]["items"]["enum"] == [f"c-{i}" for i in range(MAX_PASSAGES)]
    # A number beyond the excerpt the model is shown is not offered.
    long = passage("c-long", "Filler words. " * 80 + "Gross margin was 51.5% in Q1 2024.")
    assert indicator_candidates("gross margin", [long]) == []


def test_schema_hash_is_stable_and_tracks_the_passages(schema: dict) -> None:
    assert schema_hash(schema) == schema_hash(json.loads(json.dumps(schema)))
    assert re.fullmatch(r"[0-9a-f]{64}", schema_hash(schema))
    assert schema_hash(report_schema(SPEC, PASSAGES[:5])) != schema_hash(schema)


def test_answer_schema_without_passages_only_admits_insufficient_evidence() -> None:
    schema = answer_schema([])
    assert is_valid({"answer": [], "insufficient_evidence": True}, schema)
    assert not is_valid({"answer": [], "insufficient_evidence": False}, schema)
    assert not is_valid(
        {"answer": [{"text": "Revenue grew 3.1% in Q3.", "citation": "c-note"}], "insufficient_evidence": False}, schema
    )


def test_answer_schema_with_passages() -> None:
    schema = answer_schema(PASSAGES)
    sentence = {"text": "We rate AMT Overweight with a $245 price target (12% implied return).", "citation": "c-note"}
    assert is_valid({"answer": [sentence], "insufficient_evidence": False}, schema)
    assert is_valid({"answer": [], "insufficient_evidence": True}, schema)
    assert not is_valid({"answer": [sentence], "insufficient_evidence": True}, schema)
    assert not is_valid({"answer": [], "insufficient_evidence": False}, schema)
    assert not is_valid({"answer": [sentence] * 5, "insufficient_evidence": False}, schema)
    assert not is_valid({"answer": [{**sentence, "citation": "c-other"}], "insufficient_evidence": False}, schema)
    # Only the passage's own sentences, and only under that passage's citation.
    invented = {"text": "Revenue grew 3.1% year on year in Q3 2023.", "citation": "c-note"}
    assert not is_valid({"answer": [invented], "insufficient_evidence": False}, schema)
    cited_elsewhere = {**sentence, "citation": "c-memo"}
    assert not is_valid({"answer": [cited_elsewhere], "insufficient_evidence": False}, schema)


def test_passage_sentences_are_the_excerpt_split_into_quotable_sentences() -> None:
    from pipelines.reports.schema import QUOTE_MIN_CHARS, passage_sentences

    text = "Short one. Revenue grew 3.1% to $2.4 billion in the quarter. Margins widened to 41.2% on pricing!\nNo"
    sentences = passage_sentences(text)
    assert sentences == ["Revenue grew 3.1% to $2.4 billion in the quarter.", "Margins widened to 41.2% on pricing!"]
    assert all(len(s) >= QUOTE_MIN_CHARS for s in sentences)


def test_system_prompt_is_the_same_for_every_request() -> None:
    other = ReportRequestSpec("MSFT", "Microsoft", "Is the cloud business slowing?", ["EPS"], None, "earnings_update")
    first, second = report_messages(SPEC, PASSAGES), report_messages(other, PASSAGES[:2])
    assert first[0] == second[0] == {"role": "system", "content": REPORT_SYSTEM_PROMPT}
    assert first[1]["content"] != second[1]["content"]
    assert answer_messages("a?", PASSAGES)[0] == answer_messages("b?", [])[0]


def test_prompt_shows_exactly_the_passages_the_schema_lets_the_model_cite() -> None:
    many = [*PASSAGES, passage("c-seventh", "Gross margin was 40.0%."), PASSAGES[0]]
    user = report_messages(SPEC, many)[1]["content"]
    shown = re.findall(r"^\[\d+\] chunk (\S+)", user, re.MULTILINE)
    assert shown == report_schema(SPEC, many)["properties"]["citations"]["items"]["enum"]
    assert len(shown) == MAX_PASSAGES
    for indicator in INDICATORS:
        assert indicator in user
    assert "American Tower Corporation (AMT)" in user and "As of: 2023-12-31" in user
    long = passage("c-long", "word " * 1000)
    body = report_messages(SPEC, [long])[1]["content"].split("chunk c-long", 1)[1]
    assert len(body.split("\n\nWrite the report now.")[0]) <= MAX_PASSAGE_CHARS + 200


def test_template_default_question_is_used_when_the_question_is_empty() -> None:
    user = report_messages(SPEC, [NOTE])[1]["content"]
    assert f"Question: {template_question('equity_research')}" in user
    assert "Company: American Tower Corporation (AMT)" in user
    with pytest.raises(ValueError, match="unknown report template"):
        ReportRequestSpec("AMT", "American Tower", "", [], None, "horoscope")


def test_importing_the_package_loads_no_model_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, pipelines.reports\n"
        "heavy = [m for m in ('torch', 'transformers', 'xgrammar', 'fpdf', 'django') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == ""


def test_extra_metric_names_are_tied_to_numbers_next_to_them(schema: dict) -> None:
    def with_extra(**metric: object) -> dict:
        report = grounded_report()
        report["key_metrics"][3] = {"period": INSUFFICIENT, **metric}
        return report

    assert validate_report(with_extra(name="eps", value="1.46", unit="USD", citation="c-filing"), schema) == []
    # A real number of a real passage under a name the passage does not give it.
    assert validate_report(with_extra(name="net debt", value="5.0", unit="%", citation="c-news"), schema)
    assert validate_report(with_extra(name="eps", value="94930", unit="USD million", citation="c-filing"), schema)
    # A required indicator cannot come back as an extra.
    assert validate_report(with_extra(name="gross margin", value="45.2", unit="%", citation="c-call"), schema)


def test_with_the_question_only_the_sentences_sharing_its_terms_are_quotable() -> None:
    schema = answer_schema(PASSAGES, "What is the price target for AMT?")
    target = {"text": "We rate AMT Overweight with a $245 price target (12% implied return).", "citation": "c-note"}
    assert is_valid({"answer": [target], "insufficient_evidence": False}, schema)
    unrelated = answer_schema(PASSAGES, "zebra quokka")
    assert not is_valid({"answer": [target], "insufficient_evidence": False}, unrelated)
    assert is_valid({"answer": [], "insufficient_evidence": True}, unrelated)
