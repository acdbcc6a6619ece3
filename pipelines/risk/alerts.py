"""Alert levels with hysteresis, and a de-duplication key so that one story gives one alert.

Levels rise as soon as the score reaches a level's threshold and fall only once the score is
below that threshold minus ``hysteresis``: a score hovering at 60 with a warning threshold of
60 and a hysteresis of 5 stays a warning until it drops under 55.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum

from pipelines.risk.scoring import ContributionKind, ScoreBreakdown


class AlertLevel(IntEnum):
    NONE = 0
    WATCH = 1
    WARNING = 2
    CRITICAL = 3


@dataclass(frozen=True, slots=True)
class AlertThresholds:
    """Score thresholds of a watchlist (0-100, strictly increasing)."""

    watch: float = 40.0
    warning: float = 60.0
    critical: float = 80.0
    hysteresis: float = 5.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.watch < self.warning < self.critical <= 100.0:
            raise ValueError(f"thresholds must satisfy 0 <= watch < warning < critical <= 100, got {self}")
        if self.hysteresis < 0.0:
            raise ValueError("hysteresis must be >= 0")

    def threshold(self, level: AlertLevel) -> float:
        return {AlertLevel.WATCH: self.watch, AlertLevel.WARNING: self.warning, AlertLevel.CRITICAL: self.critical}[
            level
        ]


def level_for_score(score: float, thresholds: AlertThresholds) -> AlertLevel:
    """The level a score reaches with no history (a threshold is reached at equality)."""
    for level in (AlertLevel.CRITICAL, AlertLevel.WARNING, AlertLevel.WATCH):
        if score >= thresholds.threshold(level):
            return level
    return AlertLevel.NONE


def next_level(
    previous_level: AlertLevel,
    score: float,
    thresholds: AlertThresholds,
    hysteresis: float | None = None,
) -> AlertLevel:
    """The level after observing ``score``: raise on reaching a threshold, lower only below
    ``threshold - hysteresis`` (``hysteresis`` defaults to the watchlist's)."""
    margin = thresholds.hysteresis if hysteresis is None else hysteresis
    reached = level_for_score(score, thresholds)
    if reached >= previous_level:
        return reached
    level = AlertLevel(previous_level)
    while level > AlertLevel.NONE and score < thresholds.threshold(level) - margin:
        level = AlertLevel(level - 1)
    return level


def dominant_story(breakdown: ScoreBreakdown, story_of_article: Mapping[str, str] | None = None) -> str:
    """The cluster that contributes most to the score.

    Events cluster by event type (twenty articles on one bankruptcy are one story); other
    contributions by ``story_of_article[article_id]`` when the caller has story clusters, else
    sentiment and volume form one ``coverage`` cluster and propagated risk a cluster per
    neighbour. Ties go to the lexically first cluster.
    """
    totals: dict[str, float] = defaultdict(float)
    for contribution in breakdown.contributions:
        if contribution.kind is ContributionKind.EVENT and contribution.event_type is not None:
            cluster = f"event:{contribution.event_type.value}"
        elif contribution.kind is ContributionKind.NEIGHBOUR:
            cluster = f"neighbour:{contribution.neighbour}"
        elif story_of_article and contribution.article_id is not None and contribution.article_id in story_of_article:
            cluster = f"story:{story_of_article[contribution.article_id]}"
        else:
            cluster = "coverage"
        totals[cluster] += contribution.amount
    if not totals:
        return "none"
    return min(totals, key=lambda cluster: (-totals[cluster], cluster))


def alert_dedup_key(
    ticker: str,
    level: AlertLevel,
    breakdown: ScoreBreakdown,
    story_of_article: Mapping[str, str] | None = None,
) -> str:
    """``ticker|level|dominant story`` hashed: the same story at the same level alerts once."""
    readable = f"{ticker}|{level.name.lower()}|{dominant_story(breakdown, story_of_article)}"
    return hashlib.sha256(readable.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class AlertDecision:
    ticker: str
    previous_level: AlertLevel
    level: AlertLevel
    dedup_key: str | None  # set when the level rose: an alert to send unless already sent
    story: str

    @property
    def raised(self) -> bool:
        return self.level > self.previous_level


def evaluate_alert(
    breakdown: ScoreBreakdown,
    previous_level: AlertLevel,
    thresholds: AlertThresholds,
    *,
    sent_keys: frozenset[str] | set[str] = frozenset(),
    story_of_article: Mapping[str, str] | None = None,
) -> AlertDecision:
    """The new level for a company and, when it rose and its key was not sent before, the key
    of the alert to send."""
    level = next_level(previous_level, breakdown.score, thresholds)
    story = dominant_story(breakdown, story_of_article)
    key = None
    if level > previous_level:
        candidate = alert_dedup_key(breakdown.ticker, level, breakdown, story_of_article)
        key = None if candidate in sent_keys else candidate
    return AlertDecision(breakdown.ticker, AlertLevel(previous_level), level, key, story)
