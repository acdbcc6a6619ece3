"""Sentence-level sentiment aggregated per entity: a sentence counts for an entity only when it mentions it."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pipelines.sentiment.data import LABELS
from pipelines.sentiment.results import SentimentResult

# Sentence ends: . ! ? followed by space and an upper-case letter, digit, quote or $ (a cashtag).
# Abbreviations such as "Inc." before a lower-case word stay inside the sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'$(])")


@dataclass(frozen=True)
class EntitySentence:
    text: str
    entities: tuple[str, ...]  # tickers of the entities this sentence mentions


@dataclass(frozen=True)
class EntitySentiment:
    entity: str
    mean_score: float  # mean of the sentences' scores, in [-1, 1]
    sentences: int
    counts: dict[str, int] = field(default_factory=dict)  # per label
    model_labels: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The most frequent non-neutral label when it outnumbers the other polarity, neutral otherwise."""
        positive, negative = self.counts.get("positive", 0), self.counts.get("negative", 0)
        if positive > negative:
            return "positive"
        if negative > positive:
            return "negative"
        return "neutral"


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(" ".join(text.split())) if s.strip()]


def _alias_pattern(aliases: Sequence[str]) -> re.Pattern[str]:
    names = sorted({a.strip() for a in aliases if a.strip()}, key=len, reverse=True)
    # Word boundaries on both sides: "AMD" must not match "AMDOCS", "Apple" not "Pineapple".
    return re.compile(r"(?<![\w$])\$?(?:" + "|".join(re.escape(n) for n in names) + r")(?!\w)", re.IGNORECASE)


def tag_entity_mentions(sentences: Sequence[str], aliases: Mapping[str, Sequence[str]]) -> list[EntitySentence]:
    """Each sentence with the tickers whose ticker or alias (company name) it contains.

    ``aliases`` maps a ticker to its names, e.g. ``{"AAPL": ["Apple", "Apple Inc."]}``; the ticker
    itself (and ``$TICKER``) always counts.
    """
    patterns = {ticker: _alias_pattern([ticker, *names]) for ticker, names in aliases.items()}
    return [
        EntitySentence(text=s, entities=tuple(t for t, pattern in patterns.items() if pattern.search(s)))
        for s in sentences
    ]


def aggregate_entity_sentiment(
    sentences: Sequence[EntitySentence], results: Sequence[SentimentResult]
) -> dict[str, EntitySentiment]:
    """Per entity: the mean score and label counts over the sentences that mention it, and only those."""
    if len(sentences) != len(results):
        raise ValueError(f"{len(sentences)} sentences but {len(results)} results")
    scores: dict[str, list[float]] = {}
    counts: dict[str, dict[str, int]] = {}
    models: dict[str, set[str]] = {}
    for sentence, result in zip(sentences, results, strict=True):
        for entity in dict.fromkeys(sentence.entities):  # a ticker tagged twice counts once
            scores.setdefault(entity, []).append(result.score)
            counts.setdefault(entity, dict.fromkeys(LABELS, 0))[result.label] += 1
            models.setdefault(entity, set()).add(result.model_label)
    return {
        entity: EntitySentiment(
            entity=entity,
            mean_score=sum(values) / len(values),
            sentences=len(values),
            counts=counts[entity],
            model_labels=tuple(sorted(models[entity])),
        )
        for entity, values in sorted(scores.items())
    }
