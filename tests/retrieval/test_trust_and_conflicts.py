"""Sources that disagree: trust orders equally relevant passages, and different figures for the same
metric and period are reported as a conflict with both citations."""

from __future__ import annotations

from pipelines.retrieval.trust import (
    DEFAULT_TRUST,
    dedupe_quotes,
    figures_in,
    find_conflicts,
    order_by_trust,
    periods_in,
    trust_of,
)

DOC_TYPES = {"filing": "10-K", "note": "note", "news": "news", "release": "release", "q": "10-Q"}


def test_filings_outrank_releases_outrank_research_outrank_uploads() -> None:
    assert trust_of("10-K") == trust_of("10-Q") == trust_of("8-K") == trust_of("20-F") == trust_of("filing")
    assert trust_of("10-K") > trust_of("release") == trust_of("transcript")
    assert trust_of("transcript") > trust_of("note") == trust_of("report") == trust_of("credit_memo")
    assert trust_of("credit_memo") > trust_of("news") == trust_of("other") > trust_of("unheard-of")
    assert trust_of("news", {**DEFAULT_TRUST, "news": 9}) == 9  # configurable


def test_trust_breaks_ties_but_never_outranks_relevance() -> None:
    items = [("note-a", 0.5, "note"), ("filing-b", 0.5, "10-K"), ("news-c", 0.9, "news"), ("memo-d", 0.2, "10-K")]
    ordered = order_by_trust(items, score=lambda i: i[1], doc_type=lambda i: i[2])
    assert [i[0] for i in ordered] == ["news-c", "filing-b", "note-a", "memo-d"]


def test_different_figures_for_the_same_metric_and_period_conflict_with_both_citations() -> None:
    sentences = [
        {"text": "Revenue grew 95% in fiscal 2024, and gross margin reached 88.8%.", "citation": "note"},
        {"text": "Net sales increased 1.4% in fiscal 2024 and gross margin was 26.7%.", "citation": "filing"},
    ]
    conflicts = {c.metric: c for c in find_conflicts(sentences, doc_types=DOC_TYPES)}
    assert {"revenue", "gross_profit"} <= set(conflicts)
    margin = conflicts["gross_profit"]
    assert margin.period == "2024"
    assert [q.citation for q in margin.quotes] == ["filing", "note"]  # most trusted first
    assert margin.preferred == "filing"
    assert "88.8%" in margin.quotes[1].figures and "26.7%" in margin.quotes[0].figures


def test_same_figure_in_other_units_or_other_periods_is_no_conflict() -> None:
    same_value = [
        {"text": "Revenue was $1.2 billion in Q2 2024.", "citation": "filing"},
        {"text": "Revenue was $1,200 million in Q2 2024, the company said.", "citation": "news"},
    ]
    other_period = [
        {"text": "Revenue was $1.2 billion in fiscal 2023.", "citation": "filing"},
        {"text": "Revenue was $1.5 billion in fiscal 2024.", "citation": "q"},
    ]
    other_metric = [
        {"text": "Revenue was $1.2 billion in fiscal 2024.", "citation": "filing"},
        {"text": "Capital expenditures were $0.3 billion in fiscal 2024.", "citation": "q"},
    ]
    for sentences in (same_value, other_period, other_metric):
        assert find_conflicts(sentences, doc_types=DOC_TYPES) == []


def test_equally_trusted_sources_have_no_preferred_side() -> None:
    sentences = [
        {"text": "Gross margin was 26.7% in Q2 2024.", "citation": "filing"},
        {"text": "Gross margin was 27.9% in Q2 2024.", "citation": "q"},
    ]
    [conflict] = find_conflicts(sentences, doc_types=DOC_TYPES)
    assert conflict.preferred == "" and conflict.period == "Q2 2024"


def test_figures_and_periods_are_read_with_scale_and_without_years() -> None:
    figures = figures_in("In Q2 2024 revenue was $383.3 billion, up 2.5%, on 1,234 units.")
    assert [(f.kind, f.value) for f in figures] == [("money", 383.3e9), ("percent", 2.5), ("number", 1234.0)]
    assert periods_in("the second quarter of fiscal 2024, against FY2023") == {"Q2 2024", "2023"}


def test_repeated_quotes_are_dropped() -> None:
    quotes = [
        {"text": "Gross margin was 88.8%.", "citation": "note"},
        {"text": "Gross  margin was 88.8%.", "citation": "note-copy"},
        {"text": "gross margin was 88.8%.", "citation": "note"},
        {"text": "Revenue grew 1.4%.", "citation": "filing"},
    ]
    assert [q["citation"] for q in dedupe_quotes(quotes)] == ["note", "filing"]
