"""The report-quality benchmark's scoring: coverage and precision of key metrics against the planted truth."""

from __future__ import annotations

from bench.report_quality import metric_agreement, same_figure
from pipelines.reports import INSUFFICIENT


def metric(name: str, value: str = INSUFFICIENT, unit: str = "", period: str = INSUFFICIENT) -> dict:
    return {"name": name, "value": value, "unit": unit, "period": period, "citation": "S1" if unit else None}


TRUTH = {
    "rating": INSUFFICIENT,
    "target_price": INSUFFICIENT,
    "key_metrics": [
        metric("revenue", "20.9", "USD billion"),
        metric("gross margin", "52.3", "%", "Q1 2024"),
        metric("RSI"),
    ],
}
REQUIRED = ["revenue", "gross margin", "RSI"]
PERIODS = {"revenue": "Q1 2024", "gross margin": "Q1 2024"}


def test_same_figure_compares_at_the_printed_precision_and_unit() -> None:
    assert same_figure("20.91", "USD billion", "20.9", "USD billion")
    assert same_figure("20910", "USD million", "20.9", "USD billion")
    assert not same_figure("21.2", "USD billion", "20.9", "USD billion")
    assert not same_figure("20.9", "EUR billion", "20.9", "USD billion")
    assert not same_figure("52.3", "x", "52.3", "%")


def test_a_report_that_fills_every_supported_metric_correctly_scores_full() -> None:
    report = {
        "rating": INSUFFICIENT,
        "target_price": INSUFFICIENT,
        "key_metrics": [
            metric("revenue", "20910", "USD million", "Q1 2024"),  # the planted quarter, stated
            metric("gross margin", "52.3", "%"),  # no period claimed
            metric("RSI"),
        ],
    }
    counts = metric_agreement(report, TRUTH, REQUIRED, PERIODS)
    assert counts["metrics_supported"] == counts["metrics_covered"] == counts["metrics_correct"] == 2
    assert counts["metrics_filled"] == 2 and counts["rating_unsupported"] == 0


def test_insufficient_wrong_period_invented_metric_and_unstated_rating_are_counted() -> None:
    report = {
        "rating": "buy",
        "target_price": INSUFFICIENT,
        "key_metrics": [
            metric("revenue"),  # supported but not filled: a coverage miss
            metric("gross margin", "52.3", "%", "Q4 2023"),  # wrong period
            metric("RSI", "70", "", INSUFFICIENT),  # the truth has no RSI: an invented value
        ],
    }
    counts = metric_agreement(report, TRUTH, REQUIRED, PERIODS)
    assert (counts["metrics_supported"], counts["metrics_covered"], counts["metrics_filled"]) == (2, 1, 2)
    assert counts["metrics_correct"] == 0 and counts["rating_unsupported"] == 1
