"""Risk score: exact attribution, exact leave-one-out, order independence, decay, caps, propagation."""

from __future__ import annotations

import math
import random
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.risk.events import EventType
from pipelines.risk.scoring import (
    QUANTUM_UNITS,
    ContributionKind,
    RiskInputs,
    ScoringConfig,
    article_influence,
    score_company,
    score_universe,
    score_without_article,
)
from pipelines.risk.signals import SentenceSignal
from tests.pipelines.risk.factories import AS_OF, sentence

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TICKERS = ("AAA", "BBB", "CCC", "DDD")
TEMPLATES = (
    "{0} filed for Chapter 11 bankruptcy protection.",
    "{0}, a key supplier to {1}, warned of production delays.",
    "{1}'s largest supplier {0} defaulted on its bonds.",
    "The SEC opened an investigation into accounting fraud at {0}.",
    "{0} denied any wrongdoing.",
    "{0} recorded a goodwill impairment of $2 billion.",
    "{0} and {1} shares moved on Tuesday.",
    "{0} slashed its full-year guidance.",
    "{0} reported steady quarterly sales.",
    "{0} is a wholly-owned subsidiary of {1}.",
)


@st.composite
def signals(draw: st.DrawFn) -> SentenceSignal:
    template = draw(st.sampled_from(TEMPLATES))
    first, second = draw(st.lists(st.sampled_from(TICKERS), min_size=2, max_size=2, unique=True))
    tickers = (first, second) if "{1}" in template else (first,)
    return sentence(
        template.format(first, second),
        tickers,
        article_id=f"a{draw(st.integers(0, 6))}",
        days_ago=draw(st.floats(0.0, 130.0)),
        index=draw(st.integers(0, 3)),
        score=draw(st.floats(-1.0, 1.0)),
    )


signal_lists = st.lists(signals(), min_size=1, max_size=25)


def canonical(breakdowns: dict) -> dict:
    return {ticker: (b.score, b.contributions) for ticker, b in breakdowns.items()}


@PROPERTY
@given(signal_lists)
def test_contributions_sum_exactly_to_the_score(batch: list[SentenceSignal]) -> None:
    for breakdown in score_universe(RiskInputs(tuple(batch)), AS_OF).values():
        amounts = [c.amount for c in breakdown.contributions]
        assert sum(amounts) == breakdown.score
        assert sum(reversed(amounts)) == breakdown.score
        assert math.fsum(amounts) == breakdown.score
        assert 0.0 <= breakdown.score <= 100.0
        assert all(c.amount > 0.0 and (c.amount * QUANTUM_UNITS).is_integer() for c in breakdown.contributions)
        assert math.fsum(breakdown.components.values()) == pytest.approx(breakdown.score)


@PROPERTY
@given(signal_lists, st.randoms(use_true_random=False))
def test_score_does_not_depend_on_input_order_or_repetition(batch: list[SentenceSignal], rng: random.Random) -> None:
    shuffled = list(batch) * 2
    rng.shuffle(shuffled)
    assert canonical(score_universe(RiskInputs(tuple(shuffled)), AS_OF)) == canonical(
        score_universe(RiskInputs(tuple(batch)), AS_OF)
    )


@PROPERTY
@given(signal_lists, st.integers(0, 6))
def test_leave_one_out_equals_a_rerun_without_the_article(batch: list[SentenceSignal], which: int) -> None:
    article = f"a{which}"
    kept = tuple(s for s in batch if s.article_id != article)
    for ticker, breakdown in score_universe(RiskInputs(tuple(batch)), AS_OF).items():
        rerun = score_company(RiskInputs(kept), ticker, AS_OF).score
        assert breakdown.without_article(article) == rerun
        assert score_without_article(RiskInputs(tuple(batch)), ticker, AS_OF, article) == rerun


def test_every_contribution_points_at_its_evidence_sentence() -> None:
    batch = (
        sentence("AAA filed for Chapter 11 bankruptcy protection.", ("AAA",), article_id="n1", index=2, score=-0.9),
        sentence("AAA shares fell 40%.", ("AAA",), article_id="n2", index=0, score=-0.7),
    )
    breakdown = score_company(RiskInputs(batch), "AAA", AS_OF)
    texts = {(s.article_id, s.sentence_index): s.text for s in batch}
    kinds = {c.kind for c in breakdown.contributions}
    assert {ContributionKind.EVENT, ContributionKind.SENTIMENT_LEVEL} <= kinds
    for contribution in breakdown.contributions:
        assert contribution.evidence_text == texts[contribution.article_id, contribution.sentence_index]
    [event] = [c for c in breakdown.contributions if c.kind is ContributionKind.EVENT]
    assert event.event_type is EventType.DEFAULT and event.article_id == "n1"


def test_leave_one_out_removes_the_article_and_its_influence_is_positive() -> None:
    batch = (
        sentence("AAA filed for Chapter 11 bankruptcy protection.", ("AAA",), article_id="n1", score=-0.9),
        sentence("AAA reported steady sales.", ("AAA",), article_id="n2", score=0.4),
    )
    breakdown = score_company(RiskInputs(batch), "AAA", AS_OF)
    assert breakdown.without_article("n1") < breakdown.score
    assert article_influence(breakdown)["n1"] > 0.0


@pytest.mark.parametrize(
    ("severity", "level"),
    [
        ("CRITICAL", "CRITICAL"),
        ("HIGH", "WARNING"),
        ("MEDIUM", "WATCH"),
        ("LOW", "NONE"),
    ],
)
def test_a_lone_fresh_confirmed_event_reaches_the_level_its_severity_names(severity: str, level: str) -> None:
    """A filing of the event in a neutral voice, half a day old, nothing else known about the company."""
    from pipelines.risk.alerts import AlertLevel, AlertThresholds, level_for_score
    from pipelines.risk.events import EventHit, Severity

    signal = sentence("Acme filed a current report on Form 8-K.", ("ACME",), days_ago=0.5)
    hit = EventHit(
        event_type=EventType.DEFAULT,
        severity=Severity[severity],
        trigger_text="8-K item",
        sentence_index=0,
        confidence=1.0,
        tickers=("ACME",),
        article_id=signal.article_id,
        published_at=signal.published_at,
        evidence_text=signal.text,
    )
    breakdown = score_universe(RiskInputs(signals=(signal,), events=(hit,), detect=False), AS_OF)["ACME"]
    assert level_for_score(breakdown.score, AlertThresholds()) is AlertLevel[level]


def test_event_contribution_decays_with_its_half_life() -> None:
    config = ScoringConfig()

    def event_points(days_ago: float) -> float:
        batch = (sentence("AAA recorded a goodwill impairment.", ("AAA",), days_ago=days_ago),)
        [event] = [c for c in score_company(RiskInputs(batch), "AAA", AS_OF, config).contributions if c.event_type]
        return event.detail["pre_saturation_amount"]

    fresh, later = event_points(0.0), event_points(config.event_half_life_days)
    assert later == pytest.approx(fresh / 2)
    assert (
        score_company(
            RiskInputs((sentence("AAA recorded an impairment.", ("AAA",), days_ago=200),)), "AAA", AS_OF
        ).score
        == 0
    )


def test_repeated_coverage_of_one_event_is_discounted() -> None:
    one = (sentence("AAA filed for bankruptcy.", ("AAA",), article_id="n1"),)
    many = one + tuple(sentence("AAA filed for bankruptcy.", ("AAA",), article_id=f"n{i}") for i in range(2, 12))
    first = score_company(RiskInputs(one), "AAA", AS_OF).raw_total
    repeated = score_company(RiskInputs(many), "AAA", AS_OF).raw_total
    assert first < repeated < 2 * first


def test_saturation_and_caps_are_attributed_proportionally() -> None:
    texts = (
        "AAA filed for Chapter 11 bankruptcy protection.",
        "The SEC opened an investigation into accounting fraud at AAA.",
        "AAA will restate its financial statements.",
        "Nasdaq sent AAA a delisting notice.",
        "AAA breached the financial covenants of its credit facility.",
    )
    batch = tuple(sentence(text, ("AAA",), article_id=f"n{i}", score=-1.0) for i, text in enumerate(texts))
    breakdown = score_company(RiskInputs(batch), "AAA", AS_OF)
    config = ScoringConfig()
    events = [c for c in breakdown.contributions if c.kind is ContributionKind.EVENT]
    assert all("event_cap_factor" in c.detail for c in events)
    assert math.fsum(c.detail["pre_saturation_amount"] for c in events) == pytest.approx(config.event_cap)
    factor = breakdown.score / breakdown.raw_total
    for contribution in breakdown.contributions:
        assert contribution.amount == pytest.approx(contribution.detail["pre_saturation_amount"] * factor, abs=2e-6)
    assert 0.0 < factor < 1.0 and 80.0 < breakdown.score < 100.0


def test_sentiment_shift_is_measured_against_the_company_baseline() -> None:
    def with_baseline(baseline_score: float) -> float:
        batch = [sentence("AAA shares fell.", ("AAA",), article_id="r", days_ago=1, score=-0.6)]
        batch += [
            sentence("AAA traded.", ("AAA",), article_id=f"b{i}", days_ago=10 + i, score=baseline_score)
            for i in range(20)
        ]
        return score_company(RiskInputs(tuple(batch)), "AAA", AS_OF).components.get("sentiment_shift", 0.0)

    assert with_baseline(0.5) > with_baseline(-0.5) == 0.0


def test_negative_news_burst_is_a_volume_anomaly_but_steady_coverage_is_not() -> None:
    burst = tuple(
        sentence("AAA shares fell.", ("AAA",), article_id=f"n{i}", days_ago=i * 0.5, score=-0.8) for i in range(8)
    )
    steady = tuple(
        sentence("AAA shares fell.", ("AAA",), article_id=f"s{i}", days_ago=i * 0.5, score=-0.8) for i in range(8)
    ) + tuple(
        sentence("AAA traded.", ("AAA",), article_id=f"b{i}", days_ago=7 + i * 0.6, score=0.0) for i in range(150)
    )
    assert score_company(RiskInputs(burst), "AAA", AS_OF).components.get("volume", 0.0) > 0.0
    assert score_company(RiskInputs(steady), "AAA", AS_OF).components.get("volume", 0.0) == 0.0


def test_supplier_default_propagates_to_the_customer_with_attribution() -> None:
    batch = (
        sentence("SUPX, a key supplier to CUST, filed for Chapter 11.", ("SUPX", "CUST"), article_id="d1", score=-0.9),
        sentence("CUST launched a new phone.", ("CUST",), article_id="p1", score=0.6),
    )
    breakdown = score_company(RiskInputs(batch), "CUST", AS_OF)
    [neighbour] = [c for c in breakdown.contributions if c.kind is ContributionKind.NEIGHBOUR]
    assert neighbour.neighbour == "SUPX" and neighbour.article_id == "d1"
    assert neighbour.detail["path"] == ["SUPX", "CUST"] and neighbour.detail["relations"] == ["supplies"]
    assert not any(c.kind is ContributionKind.EVENT for c in breakdown.contributions)  # SUPX's event, not CUST's
    assert breakdown.without_article("d1") == 0.0


def test_sentences_after_as_of_are_not_seen() -> None:
    past = (sentence("AAA shares fell.", ("AAA",), days_ago=2, score=-0.5),)
    future = (*past, sentence("AAA filed for bankruptcy.", ("AAA",), article_id="f", days_ago=-3, score=-1))
    assert score_company(RiskInputs(future), "AAA", AS_OF) == score_company(RiskInputs(past), "AAA", AS_OF)


def test_unknown_company_scores_zero() -> None:
    breakdown = score_company(RiskInputs(), "ZZZ", AS_OF.date())
    assert breakdown.score == 0.0 and breakdown.contributions == ()
    assert breakdown.as_of.date() == AS_OF.date() and breakdown.as_of - AS_OF < timedelta(days=1)
