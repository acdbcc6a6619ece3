"""Sources that disagree: trust by document type, and conflicting figures between quotes.

Issue 11: a freshly uploaded internal note claimed revenue growth of 95% and a gross margin of
88.8%; ask quoted it beside (or instead of) the filing. Two rules follow:

* Trust orders sources: filings > the company's releases and calls > vetted research > ad-hoc
  uploads and news (the ranks are a setting, ``ARGUS_SOURCE_TRUST``). Trust never outranks
  relevance; it breaks ties between passages the retriever scored alike.
* When two quoted sentences give different figures for the same metric and period, the answer
  shows both with their citations and says which source is more trusted, instead of letting the
  reader (or the model) pick one silently. Metrics are the finance vocabulary's concepts;
  figures are compared by kind (percent, money, plain number) after scale ("$1.2 billion" =
  "$1,200 million"); periods are the fiscal years and quarters a sentence names, and two
  sentences naming none are taken to speak of the same (the latest) period.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipelines.retrieval.finance_vocabulary import FinanceVocabulary, default_vocabulary

DEFAULT_TRUST: dict[str, int] = {
    "10-K": 4, "10-Q": 4, "8-K": 4, "20-F": 4, "filing": 4,
    "release": 3, "transcript": 3,
    "report": 2, "note": 2, "credit_memo": 2,
    "news": 1, "other": 1,
}  # fmt: skip
UNKNOWN_TRUST = 0

_SCALES = {"thousand": 1e3, "k": 1e3, "million": 1e6, "mn": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9, "b": 1e9}
_FIGURE = re.compile(
    r"(?P<currency>[$€£])?\s?(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:\s?(?P<percent>%|percent\b|per cent\b)|\s?(?P<scale>thousand|million|billion|mn|bn|[kmb])\b)?",
    re.IGNORECASE,
)
_YEAR = re.compile(r"\b(?:FY\s?|fiscal\s+(?:year\s+)?)?((?:19|20)\d{2})\b", re.IGNORECASE)
_QUARTER = re.compile(
    r"\b(?:Q([1-4])|([1-4])Q|(first|second|third|fourth)\s+quarter)(?:\s+(?:of\s+)?(?:fiscal\s+)?((?:19|20)\d{2}))?",
    re.IGNORECASE,
)
_ORDINAL = {"first": "1", "second": "2", "third": "3", "fourth": "4"}


def trust_of(doc_type: str, trust: Mapping[str, int] | None = None) -> int:
    return (trust or DEFAULT_TRUST).get(doc_type, UNKNOWN_TRUST)


def order_by_trust(
    items: Sequence[Any], *, score: Any, doc_type: Any, trust: Mapping[str, int] | None = None
) -> list[Any]:
    """Items by score, best first; among equal scores (rank fusion ties often), the more trusted source first.

    ``score`` and ``doc_type`` are functions of an item. Stable: otherwise the given order stays.
    """
    return sorted(items, key=lambda item: (-round(float(score(item)), 9), -trust_of(doc_type(item), trust)))


@dataclass(frozen=True)
class Figure:
    kind: str  # "percent", "money" or "number"
    value: float
    text: str


def figures_in(sentence: str) -> list[Figure]:
    """The figures a sentence states; years and quarter numbers are periods, not figures."""
    found = []
    for match in _FIGURE.finditer(sentence):
        raw = match.group("number")
        number = float(raw.replace(",", ""))
        is_year = re.fullmatch(r"(19|20)\d{2}", raw) and not match.group("currency") and not match.group("percent")
        before = sentence[max(0, match.start() - 2) : match.start()]
        if is_year or before.endswith(("Q", "FY")) or sentence[match.end() : match.end() + 1] == "Q":
            continue
        if match.group("percent"):
            found.append(Figure("percent", number, match.group().strip()))
            continue
        scale = _SCALES.get((match.group("scale") or "").lower(), 1.0)
        kind = "money" if match.group("currency") else "number"
        found.append(Figure(kind, number * scale, match.group().strip()))
    return found


def periods_in(sentence: str) -> frozenset[str]:
    """Fiscal years ("2024") and quarters ("Q2" or "Q2 2024") a sentence names."""
    periods: set[str] = set()
    for match in _QUARTER.finditer(sentence):
        quarter = match.group(1) or match.group(2) or _ORDINAL[match.group(3).lower()]
        periods.add(f"Q{quarter} {match.group(4)}" if match.group(4) else f"Q{quarter}")
    quarter_years = {p.split()[1] for p in periods if " " in p}
    for match in _YEAR.finditer(sentence):
        if match.group(1) not in quarter_years:
            periods.add(match.group(1))
    return frozenset(periods)


@dataclass(frozen=True)
class QuotedFigure:
    text: str
    citation: str
    doc_type: str
    trust: int
    figures: list[str]


@dataclass(frozen=True)
class Conflict:
    """Sentences that give different figures for one metric and period, most trusted first."""

    metric: str
    period: str
    quotes: list[QuotedFigure] = field(default_factory=list)

    @property
    def preferred(self) -> str:
        """The citation of the most trusted quote, or "" when the top two are equally trusted."""
        if len(self.quotes) > 1 and self.quotes[0].trust == self.quotes[1].trust:
            return ""
        return self.quotes[0].citation

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "period": self.period,
            "preferred": self.preferred,
            "quotes": [q.__dict__ for q in self.quotes],
        }


def find_conflicts(
    sentences: Sequence[Mapping[str, Any]],
    *,
    doc_types: Mapping[str, str],
    trust: Mapping[str, int] | None = None,
    vocabulary: FinanceVocabulary | None = None,
) -> list[Conflict]:
    """Conflicts among quoted sentences (``{"text", "citation"}``; ``doc_types`` by citation).

    Two sentences conflict when they name the same metric, the same period (or both none), and
    figures of the same kind with no value in common. Sentences of one chunk never conflict
    with each other (a chunk comparing two years is not a disagreement).
    """
    vocabulary = vocabulary or default_vocabulary()
    facts = []
    for sentence in sentences:
        text, citation = str(sentence.get("text", "")), str(sentence.get("citation", ""))
        figures = figures_in(text)
        if not figures:
            continue
        metrics = set(vocabulary.concepts_in(text))
        facts.append((text, citation, metrics, periods_in(text), figures))
    conflicts: dict[tuple[str, str], list[tuple[str, str, list[Figure]]]] = {}
    for i, (text_a, cite_a, metrics_a, periods_a, figs_a) in enumerate(facts):
        for text_b, cite_b, metrics_b, periods_b, figs_b in facts[i + 1 :]:
            if cite_a == cite_b or not (metrics_a & metrics_b):
                continue
            if periods_a != periods_b and not (periods_a & periods_b):
                continue
            disagree = False
            for kind in {f.kind for f in figs_a} & {f.kind for f in figs_b}:
                values_a = {round(f.value, 6) for f in figs_a if f.kind == kind}
                values_b = {round(f.value, 6) for f in figs_b if f.kind == kind}
                disagree = disagree or not (values_a & values_b)
            if not disagree:
                continue
            period = ", ".join(sorted(periods_a & periods_b)) if periods_a else ""
            for metric in sorted(metrics_a & metrics_b):
                group = conflicts.setdefault((metric, period), [])
                for entry in ((text_a, cite_a, figs_a), (text_b, cite_b, figs_b)):
                    if entry[:2] not in [(t, c) for t, c, _ in group]:
                        group.append(entry)
    out = []
    for (metric, period), group in conflicts.items():
        quotes = [
            QuotedFigure(text, citation, doc_types.get(citation, ""), trust_of(doc_types.get(citation, ""), trust),
                         [f.text for f in figures])
            for text, citation, figures in group
        ]  # fmt: skip
        quotes.sort(key=lambda q: -q.trust)
        out.append(Conflict(metric, period, quotes))
    return out


def dedupe_quotes(sentences: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Drop repeated quotes: the same sentence (whitespace and case aside) is shown once, first citation kept."""
    seen: set[str] = set()
    kept = []
    for sentence in sentences:
        key = " ".join(str(sentence.get("text", "")).lower().split())
        if key and key not in seen:
            seen.add(key)
            kept.append(dict(sentence))
    return kept
