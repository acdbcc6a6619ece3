"""What every sentiment model returns, whichever kind it is."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SentimentResult:
    label: str  # "positive" | "negative" | "neutral"
    score: float  # in [-1, 1]: P(positive) - P(negative) for a classifier, the polarity for a lexicon
    probabilities: dict[str, float] = field(default_factory=dict)  # over LABELS, sums to 1
    # Which model made it: "<name>@<version>:<hash12>" for a registered classifier,
    # "lexicon-fallback:finvader" when no classifier is registered.
    model_label: str = ""
