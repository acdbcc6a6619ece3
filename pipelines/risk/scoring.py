"""Risk score per company per as-of date, 0-100, with contributions that sum exactly to it.

Notation for company ``T`` at ``as_of`` (ages in days, sentences published after ``as_of`` are
never seen; ``neg_i = max(0, -sentiment_score_i)``):

- recent window ``R``: sentences about ``T`` with ``0 <= age < recent_days`` (7). "About" is
  ``signals.event_subjects``: "SUPX, a supplier to CUST, defaulted" is about SUPX; CUST's
  exposure comes through the graph;
- baseline window ``B``: ``recent_days <= age < recent_days + baseline_days`` (the 90 days before).

Components (raw points)::

    level   = level_points * sum_{i in R} neg_i / max(|R|, min_sentences)         # each i gets its term
    base    = (sum_{j in B} neg_j + prior_weight * prior) / (|B| + prior_weight)   # shrunk to a prior
    shift   = shift_points * max(0, level / level_points - base)                  # split over R by neg_i
    event_e = event_points * severity_weight(e) * confidence(e) * 2 ** (-age_e / event_half_life_days)
              * repeat_discount ** k   # k-th strongest hit of the same event type (one story, many articles)
    events  = min(event_cap, sum_e event_e)                                        # cap scales every e alike
    volume  = volume_points * clip(log2(ratio) / log2(volume_cap_ratio), 0, 1) * mean_{i in R} neg_i
              ratio = (articles_R / recent_days + smoothing) / (articles_B / baseline_days + smoothing)
              # split over recent articles by their sum of neg_i: only a burst of bad news is risk
    own     = level + shift + events + volume
    own_score(T) = 100 * (1 - exp(-own / saturation_scale))                     # saturation_scale = 60
    neighbour = min(neighbour_cap, sum over paths p into T of own_score(source_p)
                    * damping ** hops_p * prod(edge weight * transmission))     # see graph.py
    raw     = own + neighbour
    score   = 100 * (1 - exp(-raw / saturation_scale))

With the defaults, one fresh confirmed event alone reaches the level its severity names at the
default thresholds 40/60/80 (``events.SEVERITY_WEIGHT``): with one bearish article a day old, a
Chapter 11 filing scores about 85 (critical), a downgrade or an impairment about 50 (watch), a
director's departure about 29 (no alert). A less certain hit (speculation, an unconfirmed 8-K
item) or an older one counts less; ``event_cap`` (110) bounds a pile-up of events.

Saturation is attributed, not absorbed: every contribution is multiplied by ``score / raw`` (and a
capped component's by ``cap / sum``, recorded in ``detail``). Amounts are then rounded to multiples
of 2**-20 points by largest remainder, and ``score`` is their sum: dyadic amounts add without
rounding error, so ``sum(c.amount for c in contributions) == score`` holds exactly, in any order.

Inputs are de-duplicated and sorted first (a sentence is identified by (article_id,
sentence_index); an event by that and its type), and every sum is ``math.fsum``, so the result
does not depend on input order and re-ingesting an article changes nothing.
``ScoreBreakdown.without_article`` reruns the same function without one article (its sentences,
events and the graph edges it established): an exact leave-one-out, not an approximation.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pipelines.risk.events import SEVERITY_WEIGHT, EventHit, EventType, detect_events
from pipelines.risk.graph import (
    DEFAULT_DAMPING,
    DEFAULT_MAX_HOPS,
    StatedRelation,
    build_company_graph,
    propagate_risk,
)
from pipelines.risk.signals import SentenceSignal, age_days, as_utc, event_subjects

SCORE_MAX = 100.0
# Amounts are whole multiples of this quantum so that their float sum is exact.
QUANTUM_UNITS = 2**20


class ContributionKind(StrEnum):
    SENTIMENT_LEVEL = "sentiment_level"
    SENTIMENT_SHIFT = "sentiment_shift"
    EVENT = "event"
    VOLUME = "volume"
    NEIGHBOUR = "neighbour"


@dataclass(frozen=True, slots=True)
class ScoringConfig:
    recent_days: float = 7.0
    baseline_days: float = 90.0
    level_points: float = 30.0
    min_sentences: int = 5
    shift_points: float = 30.0
    baseline_prior: float = 0.15
    baseline_prior_weight: float = 5.0
    event_points: float = 45.0
    event_half_life_days: float = 14.0
    event_window_days: float = 120.0
    event_repeat_discount: float = 0.5
    event_cap: float = 110.0
    volume_points: float = 15.0
    volume_smoothing: float = 0.2
    volume_cap_ratio: float = 8.0
    neighbour_cap: float = 30.0
    damping: float = DEFAULT_DAMPING
    max_hops: int = DEFAULT_MAX_HOPS
    co_mention_scope: str = "sentence"
    saturation_scale: float = 60.0


DEFAULT_CONFIG = ScoringConfig()


@dataclass(frozen=True, slots=True)
class Contribution:
    """One attributable part of a score, tied to the sentence that is its evidence."""

    kind: ContributionKind
    amount: float
    article_id: str | None
    sentence_index: int | None
    evidence_text: str
    event_type: EventType | None = None
    neighbour: str | None = None
    detail: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class RiskInputs:
    """Everything a score is computed from. ``events`` are added to those detected in ``signals``
    (when ``detect``); ``relations`` to those extracted from them (when ``extract``)."""

    signals: tuple[SentenceSignal, ...] = ()
    events: tuple[EventHit, ...] = ()
    relations: tuple[StatedRelation, ...] = ()
    detect: bool = True
    extract: bool = True

    def without_article(self, article_id: str) -> RiskInputs:
        return replace(
            self,
            signals=tuple(s for s in self.signals if s.article_id != article_id),
            events=tuple(e for e in self.events if e.article_id != article_id),
            relations=tuple(r for r in self.relations if r.article_id != article_id),
        )


@dataclass(frozen=True, slots=True)
class ScoreBreakdown:
    ticker: str
    as_of: datetime
    score: float
    contributions: tuple[Contribution, ...]
    components: dict[str, float] = field(default_factory=dict, hash=False)  # after saturation
    raw_total: float = 0.0  # before saturation
    inputs: RiskInputs = field(default_factory=RiskInputs, repr=False, compare=False, hash=False)
    config: ScoringConfig = field(default=DEFAULT_CONFIG, repr=False, compare=False)

    def without_article(self, article_id: str) -> float:
        """The score this company would have had without ``article_id``: a full rerun."""
        return score_company(self.inputs.without_article(article_id), self.ticker, self.as_of, self.config).score

    @property
    def article_ids(self) -> tuple[str, ...]:
        return tuple(sorted({c.article_id for c in self.contributions if c.article_id is not None}))


# --------------------------------------------------------------------------------- canonical inputs


def _signal_order(signal: SentenceSignal) -> tuple[Any, ...]:
    return (
        signal.article_id,
        signal.sentence_index,
        as_utc(signal.published_at),
        signal.text,
        tuple(sorted(signal.tickers)),
        signal.sentiment_score,
        signal.sentiment_label,
    )


def _canonical_signals(signals: Iterable[SentenceSignal]) -> list[SentenceSignal]:
    """One signal per (article_id, sentence_index), sorted; a conflicting duplicate resolves to the
    greatest by ``_signal_order`` so that input order never decides."""
    chosen: dict[tuple[str, int], SentenceSignal] = {}
    for signal in signals:
        current = chosen.get(signal.key)
        if current is None or _signal_order(signal) > _signal_order(current):
            chosen[signal.key] = signal
    return [chosen[key] for key in sorted(chosen)]


def _canonical_events(signals: list[SentenceSignal], inputs: RiskInputs) -> list[EventHit]:
    """One hit per (article, sentence, event type), the most confident; dated and ticker-linked only."""
    candidates: list[EventHit] = list(inputs.events)
    if inputs.detect:
        for signal in signals:
            candidates.extend(detect_events(signal))
    chosen: dict[tuple[str, int, str], EventHit] = {}
    for hit in candidates:
        if hit.published_at is None or not hit.tickers:
            continue
        key = (hit.article_id or "", hit.sentence_index, hit.event_type.value)
        order = (hit.confidence, hit.severity, hit.trigger_text, hit.evidence_text, tuple(sorted(hit.tickers)))
        current = chosen.get(key)
        if current is None or order > (
            current.confidence,
            current.severity,
            current.trigger_text,
            current.evidence_text,
            tuple(sorted(current.tickers)),
        ):
            chosen[key] = hit
    return [chosen[key] for key in sorted(chosen)]


# ---------------------------------------------------------------------------------------- components


@dataclass(slots=True)
class _Raw:
    """A contribution before saturation and quantisation."""

    kind: ContributionKind
    amount: float
    article_id: str | None
    sentence_index: int | None
    evidence_text: str
    event_type: EventType | None = None
    neighbour: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def order(self) -> tuple[Any, ...]:
        return (
            self.kind.value,
            self.article_id or "",
            self.sentence_index if self.sentence_index is not None else -1,
            self.event_type.value if self.event_type else "",
            self.neighbour or "",
            repr(sorted(self.detail.items())),
        )


def _scale(items: list[_Raw], cap: float, name: str) -> list[_Raw]:
    total = math.fsum(item.amount for item in items)
    if total <= cap or total <= 0.0:
        return items
    factor = cap / total
    for item in items:
        item.detail[f"{name}_cap_factor"] = factor
        item.amount *= factor
    return items


def _sentiment_components(
    recent: list[SentenceSignal], baseline: list[SentenceSignal], config: ScoringConfig
) -> list[_Raw]:
    if not recent:
        return []
    denominator = max(len(recent), config.min_sentences)
    level_mean = math.fsum(s.negativity for s in recent) / denominator
    baseline_mean = (
        math.fsum(s.negativity for s in baseline) + config.baseline_prior_weight * config.baseline_prior
    ) / (len(baseline) + config.baseline_prior_weight)
    shift = max(0.0, level_mean - baseline_mean)
    total_negativity = math.fsum(s.negativity for s in recent)
    items: list[_Raw] = []
    for signal in recent:
        if signal.negativity <= 0.0:
            continue
        common = {"sentiment_score": signal.sentiment_score, "sentiment_label": signal.sentiment_label}
        items.append(
            _Raw(
                ContributionKind.SENTIMENT_LEVEL,
                config.level_points * signal.negativity / denominator,
                signal.article_id,
                signal.sentence_index,
                signal.text,
                detail={**common, "recent_sentences": len(recent), "level_mean": level_mean},
            )
        )
        if shift > 0.0:
            items.append(
                _Raw(
                    ContributionKind.SENTIMENT_SHIFT,
                    config.shift_points * shift * signal.negativity / total_negativity,
                    signal.article_id,
                    signal.sentence_index,
                    signal.text,
                    detail={
                        **common,
                        "level_mean": level_mean,
                        "baseline_mean": baseline_mean,
                        "baseline_sentences": len(baseline),
                    },
                )
            )
    return items


def _event_components(ticker: str, events: list[EventHit], as_of: datetime, config: ScoringConfig) -> list[_Raw]:
    by_type: dict[EventType, list[tuple[float, EventHit, float]]] = defaultdict(list)
    for hit in events:
        if ticker not in hit.tickers or hit.published_at is None:
            continue
        age = age_days(hit.published_at, as_of)
        if not 0.0 <= age < config.event_window_days:
            continue
        decay = 2.0 ** (-age / config.event_half_life_days)
        strength = config.event_points * SEVERITY_WEIGHT[hit.severity] * hit.confidence * decay
        by_type[hit.event_type].append((strength, hit, age))
    items: list[_Raw] = []
    for event_type in sorted(by_type):
        ranked = sorted(
            by_type[event_type], key=lambda entry: (-entry[0], entry[1].article_id or "", entry[1].sentence_index)
        )
        for rank, (strength, hit, age) in enumerate(ranked):
            discount = config.event_repeat_discount**rank
            items.append(
                _Raw(
                    ContributionKind.EVENT,
                    strength * discount,
                    hit.article_id,
                    hit.sentence_index,
                    hit.evidence_text,
                    event_type=event_type,
                    detail={
                        "severity": int(hit.severity),
                        "confidence": hit.confidence,
                        "age_days": age,
                        "trigger_text": hit.trigger_text,
                        "repeat_rank": rank,
                        "repeat_discount": discount,
                    },
                )
            )
    return _scale(items, config.event_cap, "event")


def _volume_components(
    recent: list[SentenceSignal], baseline: list[SentenceSignal], config: ScoringConfig
) -> list[_Raw]:
    if not recent:
        return []
    recent_articles = {s.article_id for s in recent}
    baseline_articles = {s.article_id for s in baseline}
    ratio = (len(recent_articles) / config.recent_days + config.volume_smoothing) / (
        len(baseline_articles) / config.baseline_days + config.volume_smoothing
    )
    anomaly = min(1.0, max(0.0, math.log2(ratio) / math.log2(config.volume_cap_ratio)))
    mean_negativity = math.fsum(s.negativity for s in recent) / len(recent)
    points = config.volume_points * anomaly * mean_negativity
    if points <= 0.0:
        return []
    per_article: dict[str, list[SentenceSignal]] = defaultdict(list)
    for signal in recent:
        per_article[signal.article_id].append(signal)
    total_negativity = math.fsum(s.negativity for s in recent)
    items = []
    for article_id in sorted(per_article):
        sentences = per_article[article_id]
        negativity = math.fsum(s.negativity for s in sentences)
        if negativity <= 0.0:
            continue
        evidence = min(sentences, key=lambda s: (s.sentiment_score, s.sentence_index))
        items.append(
            _Raw(
                ContributionKind.VOLUME,
                points * negativity / total_negativity,
                article_id,
                evidence.sentence_index,
                evidence.text,
                detail={
                    "recent_articles": len(recent_articles),
                    "baseline_articles": len(baseline_articles),
                    "ratio": ratio,
                    "anomaly": anomaly,
                },
            )
        )
    return items


def _saturate(raw_total: float, config: ScoringConfig) -> float:
    return SCORE_MAX * (1.0 - math.exp(-raw_total / config.saturation_scale)) if raw_total > 0.0 else 0.0


def _finalise(
    ticker: str, as_of: datetime, items: list[_Raw], inputs: RiskInputs, config: ScoringConfig
) -> ScoreBreakdown:
    raw_total = math.fsum(item.amount for item in items)
    if raw_total <= 0.0:
        return ScoreBreakdown(ticker, as_of, 0.0, (), {}, 0.0, inputs, config)
    factor = _saturate(raw_total, config) / raw_total
    items = sorted(items, key=_Raw.order)
    exact = [item.amount * factor * QUANTUM_UNITS for item in items]
    units = [math.floor(value) for value in exact]
    remainders = [value - whole for value, whole in zip(exact, units, strict=True)]
    leftover = round(math.fsum(remainders))
    # Largest remainder; ties by canonical order (index), so the result is order independent.
    for index in sorted(range(len(items)), key=lambda i: (-remainders[i], i))[:leftover]:
        units[index] += 1
    contributions = []
    components: dict[str, float] = defaultdict(float)
    for item, whole in zip(items, units, strict=True):
        if whole <= 0:
            continue
        amount = whole / QUANTUM_UNITS
        components[item.kind.value] += amount
        contributions.append(
            Contribution(
                kind=item.kind,
                amount=amount,
                article_id=item.article_id,
                sentence_index=item.sentence_index,
                evidence_text=item.evidence_text,
                event_type=item.event_type,
                neighbour=item.neighbour,
                detail={**item.detail, "pre_saturation_amount": item.amount, "saturation_factor": factor},
            )
        )
    score = sum(units) / QUANTUM_UNITS
    return ScoreBreakdown(ticker, as_of, score, tuple(contributions), dict(components), raw_total, inputs, config)


# ---------------------------------------------------------------------------------------------- API


def _windows(
    signals: list[SentenceSignal],
    subjects: Mapping[tuple[str, int], tuple[str, ...]],
    ticker: str,
    as_of: datetime,
    config: ScoringConfig,
) -> tuple[list[SentenceSignal], list[SentenceSignal]]:
    recent: list[SentenceSignal] = []
    baseline: list[SentenceSignal] = []
    for signal in signals:
        if ticker not in subjects[signal.key]:
            continue
        age = age_days(signal.published_at, as_of)
        if 0.0 <= age < config.recent_days:
            recent.append(signal)
        elif config.recent_days <= age < config.recent_days + config.baseline_days:
            baseline.append(signal)
    return recent, baseline


def score_universe(
    inputs: RiskInputs, as_of: datetime | date, config: ScoringConfig = DEFAULT_CONFIG
) -> dict[str, ScoreBreakdown]:
    """Scores of every company named in ``inputs`` at ``as_of`` (a date means the end of that day, UTC)."""
    as_of = as_utc(as_of)
    signals = _canonical_signals(inputs.signals)
    events = _canonical_events(signals, inputs)
    tickers = sorted(
        {t for s in signals for t in s.tickers}
        | {t for e in events for t in e.tickers}
        | {t for r in inputs.relations for t in (r.source, r.target)}
    )
    # A sentence counts for the companies it is about, not for those it names in passing.
    subjects = {signal.key: event_subjects(signal) for signal in signals}
    own_items: dict[str, list[_Raw]] = {}
    for ticker in tickers:
        recent, baseline = _windows(signals, subjects, ticker, as_of, config)
        own_items[ticker] = (
            _sentiment_components(recent, baseline, config)
            + _event_components(ticker, events, as_of, config)
            + _volume_components(recent, baseline, config)
        )
    own_score = {t: _saturate(math.fsum(i.amount for i in items), config) for t, items in own_items.items()}
    relations = sorted(
        set(inputs.relations), key=lambda r: (r.source, r.target, r.relation.value, r.article_id, r.sentence_index)
    )
    graph = build_company_graph(
        [s for s in signals if age_days(s.published_at, as_of) >= 0.0],
        relations,
        co_mention_scope="article" if config.co_mention_scope == "article" else "sentence",
        extract=inputs.extract,
    )
    propagated = propagate_risk(graph, own_score, as_of=as_of, damping=config.damping, max_hops=config.max_hops)
    results = {}
    for ticker in tickers:
        neighbour_items = []
        for route in propagated.get(ticker, []):
            # The neighbour's strongest own contribution is the evidence shown for the propagated risk.
            ranked = sorted(own_items[route.source], key=lambda i: (-i.amount, i.order()))
            evidence = ranked[0] if ranked else None
            neighbour_items.append(
                _Raw(
                    ContributionKind.NEIGHBOUR,
                    route.amount,
                    evidence.article_id if evidence else None,
                    evidence.sentence_index if evidence else None,
                    evidence.evidence_text if evidence else "",
                    event_type=evidence.event_type if evidence else None,
                    neighbour=route.source,
                    detail={
                        "path": list(route.path),
                        "relations": [r.value for r in route.relations],
                        "edge_weights": list(route.edge_weights),
                        "hops": route.hops,
                        "source_own_score": route.source_risk,
                        "edge_article_ids": list(route.article_ids),
                    },
                )
            )
        items = own_items[ticker] + _scale(neighbour_items, config.neighbour_cap, "neighbour")
        results[ticker] = _finalise(ticker, as_of, items, inputs, config)
    return results


def score_company(
    inputs: RiskInputs, ticker: str, as_of: datetime | date, config: ScoringConfig = DEFAULT_CONFIG
) -> ScoreBreakdown:
    """The score of one company (zero, with no contributions, when nothing names it)."""
    breakdown = score_universe(inputs, as_of, config).get(ticker)
    if breakdown is None:
        return ScoreBreakdown(ticker, as_utc(as_of), 0.0, (), {}, 0.0, inputs, config)
    return breakdown


def score_without_article(
    inputs: RiskInputs,
    ticker: str,
    as_of: datetime | date,
    article_id: str,
    config: ScoringConfig = DEFAULT_CONFIG,
) -> float:
    """Leave-one-out: the score recomputed from ``inputs`` without ``article_id``."""
    return score_company(inputs.without_article(article_id), ticker, as_of, config).score


# Leave-one-out reruns cost one scoring pass each: done for scores a watchlist could act on, for the
# articles that move them most.
COUNTERFACTUAL_MIN_SCORE = 20.0
COUNTERFACTUAL_MAX_ARTICLES = 8


def top_article_counterfactuals(
    breakdown: ScoreBreakdown,
    *,
    min_score: float = COUNTERFACTUAL_MIN_SCORE,
    max_articles: int = COUNTERFACTUAL_MAX_ARTICLES,
) -> dict[str, float]:
    """``{article_id: score without it}`` for the articles contributing most to a score of at least ``min_score``."""
    if breakdown.score < min_score:
        return {}
    weight: dict[str, float] = defaultdict(float)
    for contribution in breakdown.contributions:
        if contribution.article_id:
            weight[contribution.article_id] += contribution.amount
    top = sorted(weight, key=lambda a: (-weight[a], a))[:max_articles]
    return {
        article_id: score_without_article(
            breakdown.inputs, breakdown.ticker, breakdown.as_of, article_id, breakdown.config
        )
        for article_id in top
    }


def article_influence(breakdown: ScoreBreakdown) -> Mapping[str, float]:
    """Per article that contributes, ``score - score without it`` (exact leave-one-out reruns)."""
    return {article: breakdown.score - breakdown.without_article(article) for article in breakdown.article_ids}
