"""Reciprocal rank fusion: the parameters both backends pass to Qdrant, and a reference
implementation in Python (the contract tests check Qdrant's fused order against it).

Qdrant scores a candidate at 1-based rank r of a source as 1 / (k + r - 1) and sums over
sources; weights divide the rank. k = 60 is the value from the RRF paper (Cormack et al.,
2009); Qdrant's own default of 2 lets a single source's top hit outweigh agreement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

RRF_K = 60


def candidate_limit(limit: int) -> int:
    """How many candidates each retriever contributes to the fusion for a top-``limit``."""
    return max(4 * limit, 40)


def reciprocal_rank_fusion(
    rankings: Mapping[str, Sequence[str]],
    *,
    k: int = RRF_K,
    weights: Mapping[str, float] | None = None,
    limit: int | None = None,
) -> list[tuple[str, float]]:
    """Fuse ranked id lists into one ranking of (id, score), best first."""
    scores: dict[str, float] = {}
    first_seen: dict[str, int] = {}
    for name, ranking in rankings.items():
        weight = 1.0 if weights is None else weights.get(name, 1.0)
        if weight <= 0:
            continue
        for position, item in enumerate(ranking):
            scores[item] = scores.get(item, 0.0) + 1.0 / ((position + 1) / weight + k - 1)
            first_seen.setdefault(item, len(first_seen))
    fused = sorted(scores.items(), key=lambda pair: (-pair[1], first_seen[pair[0]]))
    return fused if limit is None else fused[:limit]
