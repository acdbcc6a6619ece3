"""Alert levels: hysteresis against flapping, per-watchlist thresholds, one alert per story."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.risk.alerts import (
    AlertLevel,
    AlertThresholds,
    alert_dedup_key,
    dominant_story,
    evaluate_alert,
    level_for_score,
    next_level,
)
from pipelines.risk.scoring import RiskInputs, score_company
from tests.pipelines.risk.factories import AS_OF, sentence

THRESHOLDS = AlertThresholds(watch=40.0, warning=60.0, critical=80.0, hysteresis=5.0)


def replay(scores: list[float], thresholds: AlertThresholds = THRESHOLDS) -> list[AlertLevel]:
    level, levels = AlertLevel.NONE, []
    for score in scores:
        level = next_level(level, score, thresholds)
        levels.append(level)
    return levels


def test_levels_rise_on_reaching_each_threshold() -> None:
    assert replay([10, 40, 60, 80]) == [AlertLevel.NONE, AlertLevel.WATCH, AlertLevel.WARNING, AlertLevel.CRITICAL]
    assert replay([85]) == [AlertLevel.CRITICAL]  # a jump skips levels


def test_score_hovering_at_the_line_does_not_flap() -> None:
    levels = replay([61, 59, 60.5, 57, 62, 55.5, 58])
    assert levels == [AlertLevel.WARNING] * 7
    raises = sum(1 for before, after in zip([AlertLevel.NONE, *levels], levels, strict=False) if after > before)
    assert raises == 1


def test_level_falls_only_below_threshold_minus_hysteresis() -> None:
    assert replay([65, 54.9]) == [AlertLevel.WARNING, AlertLevel.WATCH]
    assert replay([85, 74.9]) == [AlertLevel.CRITICAL, AlertLevel.WARNING]
    assert replay([85, 20]) == [AlertLevel.CRITICAL, AlertLevel.NONE]
    assert next_level(AlertLevel.WARNING, 54.0, THRESHOLDS, hysteresis=10.0) is AlertLevel.WARNING


@settings(max_examples=200, deadline=None)
@given(st.floats(30.0, 70.0), st.lists(st.floats(-4.99, 4.99), min_size=1, max_size=40))
def test_noise_smaller_than_the_hysteresis_raises_at_most_once(start: float, noise: list[float]) -> None:
    thresholds = AlertThresholds(watch=20.0, warning=start, critical=95.0, hysteresis=5.0)
    levels = replay([start + delta for delta in noise], thresholds)
    warnings_raised = sum(
        1
        for before, after in zip([AlertLevel.NONE, *levels], levels, strict=False)
        if after >= AlertLevel.WARNING > before
    )
    assert warnings_raised <= 1


def test_per_watchlist_thresholds() -> None:
    strict = AlertThresholds(watch=20.0, warning=30.0, critical=50.0)
    assert level_for_score(35.0, strict) is AlertLevel.WARNING
    assert level_for_score(35.0, THRESHOLDS) is AlertLevel.NONE
    with pytest.raises(ValueError):
        AlertThresholds(watch=50.0, warning=40.0, critical=80.0)


def story_breakdown(n_articles: int, extra: tuple = ()):
    batch = tuple(
        sentence("AAA filed for Chapter 11 bankruptcy protection.", ("AAA",), article_id=f"n{i}", score=-0.9)
        for i in range(n_articles)
    )
    return score_company(RiskInputs(batch + extra), "AAA", AS_OF)


def test_one_story_gives_one_alert_key_however_many_articles() -> None:
    few, many = story_breakdown(1), story_breakdown(12)
    assert dominant_story(few) == dominant_story(many) == "event:default"
    assert alert_dedup_key("AAA", AlertLevel.WARNING, few) == alert_dedup_key("AAA", AlertLevel.WARNING, many)


def test_a_different_story_or_level_or_company_gives_a_new_key() -> None:
    default = story_breakdown(1)
    fraud = score_company(
        RiskInputs((sentence("The SEC opened an investigation into fraud at AAA.", ("AAA",), score=-0.9),)),
        "AAA",
        AS_OF,
    )
    keys = {
        alert_dedup_key("AAA", AlertLevel.WARNING, default),
        alert_dedup_key("AAA", AlertLevel.WARNING, fraud),
        alert_dedup_key("AAA", AlertLevel.CRITICAL, default),
        alert_dedup_key("BBB", AlertLevel.WARNING, default),
    }
    assert len(keys) == 4


def test_caller_story_clusters_group_coverage() -> None:
    batch = tuple(sentence("AAA shares fell.", ("AAA",), article_id=f"n{i}", score=-0.9) for i in range(3))
    breakdown = score_company(RiskInputs(batch), "AAA", AS_OF)
    assert dominant_story(breakdown) == "coverage"
    assert dominant_story(breakdown, {"n0": "s1", "n1": "s1", "n2": "s2"}) == "story:s1"


def test_evaluate_alert_sends_a_raised_alert_once() -> None:
    breakdown = story_breakdown(3)
    low = AlertThresholds(watch=10.0, warning=20.0, critical=95.0)
    first = evaluate_alert(breakdown, AlertLevel.NONE, low)
    assert first.raised and first.level is AlertLevel.WARNING and first.dedup_key is not None
    again = evaluate_alert(breakdown, AlertLevel.NONE, low, sent_keys={first.dedup_key})
    assert again.raised and again.dedup_key is None
    steady = evaluate_alert(breakdown, AlertLevel.WARNING, low)
    assert not steady.raised and steady.dedup_key is None
