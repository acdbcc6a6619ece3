"""Abstention: is the retrieved evidence relevant enough to answer from at all?

Search always returns its best hits, however poor; a small model asked to answer from poor hits
quotes them anyway (issue 11: "Who won the 1998 football world cup?" got three citations). So
before any model is called, the hits are checked against a calibrated threshold, and below it
the answer is "insufficient evidence" with the reason recorded.

Signals, all from the retrieval itself (no model call):

* ``best_dense``: the highest cosine between the question and a retrieved chunk (the dense
  retriever's score; ``SearchHit.scores["dense"]`` in hybrid mode). With all-MiniLM-L6-v2 and
  the platform's header line in front of each chunk, off-topic questions peaked at 0.33,
  questions about companies absent from the corpus at 0.58, answerable ones at 0.60-0.77.
* ``coverage``: the share of the question's content terms (after BM25's stopwords and
  stemming, with the finance vocabulary, so "capex" is covered by "purchases of property")
  that occur in the retrieved passages. Names and numbers count double: a question about a
  company or a year the passages never mention is not answered by them, however similar the
  rest ("What was Tesla's revenue in 2021?" against Disney's filings).
* ``best_fused``: the top fused (RRF) score; recorded for the audit trail and usable as a
  third threshold (1.0 = first in both rankings with k=2), off by default.

The thresholds are settings (``ARGUS_ABSTAIN_MIN_DENSE``, ``ARGUS_ABSTAIN_MIN_COVERAGE``,
``ARGUS_ABSTAIN_MIN_FUSED``), chosen by ``bench/abstention_calibration.py``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from pipelines.retrieval.bm25 import KeywordEncoder, default_encoder

# bench/abstention_calibration.py (72 questions over 7 real 10-Ks, calibration only): the grid
# search chose min_dense 0.525 (answerable 36/36 answered, off-topic 20/20 and absent-company
# 15/16 abstained; answerable best cosine >= 0.60, off-topic <= 0.33, absent companies up to 0.58).
# Coverage 0.5 is a guard added by hand, free on that set (answerable coverage >= 0.82): it
# catches an off-topic question whose words happen to sit near a filing's header. The names
# check is off: corpora name many companies in passing (Disney's 10-K names Netflix).
# Settings override these (ARGUS_ABSTAIN_*).
DEFAULT_MIN_DENSE = 0.525
DEFAULT_MIN_COVERAGE = 0.5
DEFAULT_MIN_FUSED = 0.0
DEFAULT_MIN_NAME_COVERAGE = 0.0

# Words that carry no subject in a question; the BM25 stopword list keeps some of them.
QUESTION_WORDS = frozenset(
    """what which who whom whose when where why how much many did does do was were is are has have had
    company company's companies firm business describe explain tell give list say said says mention
    mentioned report reported according its their our year years total""".split()  # noqa: SIM905
)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9&'\u2019.-]*[A-Za-z0-9]|[A-Za-z0-9]")


@dataclass(frozen=True)
class AbstentionThresholds:
    min_dense: float = DEFAULT_MIN_DENSE
    min_coverage: float = DEFAULT_MIN_COVERAGE
    min_fused: float = DEFAULT_MIN_FUSED
    # Share of the question's names and numbers (capitalised words, years, figures) that the
    # passages must mention: a question about a company they never name is not answered by them.
    min_name_coverage: float = DEFAULT_MIN_NAME_COVERAGE


@dataclass(frozen=True)
class RelevanceAssessment:
    """Why the evidence is (or is not) enough; stored with the answer and in the audit trail."""

    sufficient: bool
    reason: str
    best_dense: float | None
    best_fused: float | None
    coverage: float
    missing_terms: list[str] = field(default_factory=list)
    name_coverage: float = 1.0
    thresholds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("best_dense", "best_fused", "coverage", "name_coverage"):
            if data[key] is not None:
                data[key] = round(float(data[key]), 4)
        return data


def question_terms(question: str) -> list[tuple[str, float]]:
    """The question's content words with their weight (2 for names and numbers, else 1)."""
    terms: list[tuple[str, float]] = []
    seen: set[str] = set()
    for position, match in enumerate(_WORD.finditer(question)):
        # A possessive's "s" is a token of its own to BM25, found in any text: drop it.
        word = re.sub(r"['\u2019]s$", "", match.group().strip(".-'\u2019"))
        lowered = word.lower()
        if not lowered or lowered in QUESTION_WORDS or lowered in seen:
            continue
        seen.add(lowered)
        is_name = position > 0 and word[:1].isupper()
        has_digit = any(ch.isdigit() for ch in word)
        terms.append((word, 2.0 if is_name or has_digit else 1.0))
    return terms


def term_coverage(
    question: str, passages: Sequence[str], encoder: KeywordEncoder | None = None
) -> tuple[float, list[str], float]:
    """Weighted share of question terms found in the passages, the terms that were not, and the
    share of names and numbers found (1.0 when the question has none).

    Terms are compared as BM25 sees them (stemmed, stopwords gone, concept tokens added), so a
    term is covered by any inflection, and a metric by any alias of it.
    """
    encoder = encoder or default_encoder()
    available = set(encoder.encode_query("\n".join(passages)).indices)
    total = covered = names = names_covered = 0.0
    missing: list[str] = []
    for word, weight in question_terms(question):
        ids = set(encoder.encode_query(word).indices)
        if not ids:
            continue  # a stopword to BM25
        total += weight
        names += weight > 1
        if ids & available:
            covered += weight
            names_covered += weight > 1
        else:
            missing.append(word)
    return (covered / total if total else 0.0), missing, (names_covered / names if names else 1.0)


def best_scores(hits: Sequence[Any], mode: str = "hybrid") -> tuple[float | None, float | None]:
    """(best dense cosine, best fused score) of search hits (``SearchHit`` or its dict form).

    A hit's ``score`` is the mode's own: the cosine in dense mode, the fused score in hybrid
    mode; there the cosine is in ``scores["dense"]`` when the hit was a dense candidate.
    """
    dense: list[float] = []
    for hit in hits:
        scores: Mapping[str, float] = _get(hit, "scores") or {}
        if "dense" in scores:
            dense.append(float(scores["dense"]))
        elif mode == "dense":
            dense.append(float(_get(hit, "score")))
    fused = [float(_get(hit, "score")) for hit in hits] if mode == "hybrid" else []
    return (max(dense) if dense else None, max(fused) if fused else None)


def _get(hit: Any, name: str) -> Any:
    return hit.get(name) if isinstance(hit, Mapping) else getattr(hit, name, None)


def assess_relevance(
    question: str,
    hits: Sequence[Any],
    passages: Sequence[str],
    thresholds: AbstentionThresholds | None = None,
    *,
    mode: str = "hybrid",
    encoder: KeywordEncoder | None = None,
) -> RelevanceAssessment:
    """Whether ``passages`` (the retrieved chunks' text, with their header) can answer ``question``.

    Below any threshold the evidence is insufficient. Without a dense score (keyword search) the
    dense threshold is not applied: coverage alone decides.
    """
    thresholds = thresholds or AbstentionThresholds()
    limits = asdict(thresholds)
    if not hits or not any(p.strip() for p in passages):
        return RelevanceAssessment(
            sufficient=False, reason="nothing was retrieved", best_dense=None, best_fused=None, coverage=0.0,
            name_coverage=0.0, thresholds=limits,
        )  # fmt: skip
    best_dense, best_fused = best_scores(hits, mode)
    coverage, missing, name_coverage = term_coverage(question, passages, encoder)
    reasons = []
    if best_dense is not None and best_dense < thresholds.min_dense:
        reasons.append(f"best passage similarity {best_dense:.2f} < {thresholds.min_dense:.2f}")
    if coverage < thresholds.min_coverage:
        shown = ", ".join(missing[:6])
        reasons.append(f"question terms covered {coverage:.2f} < {thresholds.min_coverage:.2f} (missing: {shown})")
    if name_coverage < thresholds.min_name_coverage:
        reasons.append(f"names and numbers covered {name_coverage:.2f} < {thresholds.min_name_coverage:.2f}")
    if best_fused is not None and best_fused < thresholds.min_fused:
        reasons.append(f"best fused score {best_fused:.2f} < {thresholds.min_fused:.2f}")
    sufficient = not reasons
    reason = "relevant passages found" if sufficient else "; ".join(reasons)
    return RelevanceAssessment(
        sufficient=sufficient,
        reason=reason,
        best_dense=best_dense,
        best_fused=best_fused,
        coverage=coverage,
        missing_terms=missing,
        name_coverage=name_coverage,
        thresholds=limits,
    )
