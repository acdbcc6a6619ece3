"""Company graph: co-mentions and stated relations, time-decayed, and risk propagation over it.

Edges (a ``networkx.MultiDiGraph``, one edge per (source, target, relation)):

- ``supplies``: supplier -> customer, from "X, a key supplier to Y", "Y's supplier X",
  "X supplies chips to Y", "Y buys ... from X", "X, a customer of Y" (reversed);
- ``subsidiary_of``: subsidiary -> parent, from "X, a subsidiary of Y", "Y's unit X";
- ``partner`` and ``co_mention``: undirected, stored once with the tickers in sorted order.

Weight of an edge at ``as_of`` (documented in ``edge_weight``)::

    n_eff  = sum over observations o of 2 ** (-age_days(o) / half_life(relation))
    weight = base(relation) * min(1, n_eff)

so one fresh statement gives the full base weight, which halves every half-life unless the
relation is seen again. Stated relations (base 1.0, half-life 180 days) outweigh co-mentions
(base 0.3, half-life 30 days): a sentence naming two companies is weak evidence of exposure.

Propagation (``propagate_risk``): a source with own risk ``r`` gives a target ``h`` hops away
(h <= ``max_hops``, default 2) along a simple path::

    amount = r * damping ** h * prod(weight(e) * transmission(e, direction) for e in path)

``transmission`` says how much distress crosses an edge in each direction: a supplier's
distress reaches its customers in full (1.0) and a customer's reaches its suppliers at 0.5
(lost revenue, receivables); a parent's reaches its subsidiaries in full, a subsidiary's its
parent at 0.6; partners and co-mentions pass 0.5 and 1.0 both ways (co-mentions are already
weak through their base). Between two companies the strongest relation carries the risk (no
double counting of a stated relation and the co-mention of the same sentence).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal

import networkx as nx

from pipelines.risk.signals import SentenceSignal, age_days, as_utc, mention_spans


class RelationType(StrEnum):
    SUPPLIES = "supplies"  # source supplies target
    SUBSIDIARY_OF = "subsidiary_of"  # source is a subsidiary of target
    PARTNER = "partner"
    CO_MENTION = "co_mention"


UNDIRECTED_RELATIONS = frozenset({RelationType.PARTNER, RelationType.CO_MENTION})

RELATION_BASE_WEIGHT: dict[RelationType, float] = {
    RelationType.SUPPLIES: 1.0,
    RelationType.SUBSIDIARY_OF: 1.0,
    RelationType.PARTNER: 0.7,
    RelationType.CO_MENTION: 0.3,
}
RELATION_HALF_LIFE_DAYS: dict[RelationType, float] = {
    RelationType.SUPPLIES: 180.0,
    RelationType.SUBSIDIARY_OF: 365.0,
    RelationType.PARTNER: 180.0,
    RelationType.CO_MENTION: 30.0,
}
# (along the stored direction, against it): how much of the source's distress crosses the edge.
RELATION_TRANSMISSION: dict[RelationType, tuple[float, float]] = {
    RelationType.SUPPLIES: (1.0, 0.5),  # supplier -> customer in full; customer -> supplier half
    RelationType.SUBSIDIARY_OF: (0.6, 1.0),  # subsidiary -> parent 0.6; parent -> subsidiary in full
    RelationType.PARTNER: (0.5, 0.5),
    RelationType.CO_MENTION: (1.0, 1.0),
}
DEFAULT_DAMPING = 0.5
DEFAULT_MAX_HOPS = 2


@dataclass(frozen=True, slots=True)
class StatedRelation:
    """A relation a sentence states between two companies (``source`` -> ``target``)."""

    source: str
    target: str
    relation: RelationType
    article_id: str
    published_at: datetime
    sentence_index: int = 0
    evidence_text: str = ""


@dataclass(frozen=True, slots=True)
class EdgeSummary:
    source: str
    target: str
    relation: RelationType
    weight: float
    first_seen: datetime
    last_seen: datetime
    article_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PropagatedContribution:
    """Risk that reached ``target`` from ``source`` along ``path`` (source first, target last)."""

    source: str
    target: str
    path: tuple[str, ...]
    relations: tuple[RelationType, ...]
    edge_weights: tuple[float, ...]  # weight * transmission of each hop
    source_risk: float
    amount: float
    article_ids: tuple[str, ...] = field(default=())  # articles that established the edges

    @property
    def hops(self) -> int:
        return len(self.path) - 1


# ------------------------------------------------------------------------------ relation extraction

_ENT = r"__E(\d+)__"
_GAP = r"(?:(?!__E)[^.;]){0,80}?"  # a short stretch with no other company and no sentence end
_ADJ = r"(?:(?:key|major|main|leading|sole|primary|largest|biggest|important|long-?time|top|critical|chief|"
_ADJ += r"exclusive|principal|big|\w+-based|chip|component|parts|battery|display|memory|engine|"
_ADJ += r"steel|software|contract)\s+)*"
_DET = r"(?:a|an|the|its|one of the|one of its|one of \w+'s)\s+"
_BE = r"(?:is|was|are|were|has been|had been|became|remains|will be|will become)\s+"

_RELATION_PATTERNS: tuple[tuple[re.Pattern[str], RelationType, bool], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), relation, swapped)
    for pattern, relation, swapped in (
        # A supplies B (swapped=False: first entity is the source)
        (
            rf"{_ENT},?\s+(?:{_BE})?{_DET}{_ADJ}(?:supplier|vendor|provider|manufacturer)s?\s+(?:to|of|for)\s+{_ENT}",
            RelationType.SUPPLIES,
            False,
        ),
        (
            rf"{_ENT}(?:'s|\u2019s)\s+{_ADJ}(?:supplier|vendor|provider)s?,?\s+(?:including\s+)?{_ENT}",
            RelationType.SUPPLIES,
            True,
        ),
        (
            rf"{_ENT}\s+(?:supplies|supplied|supplying|provides|provided|sells|sold|ships|shipped|delivers|delivered)"
            rf"\s+{_GAP}\s*(?:to|for)\s+{_ENT}",
            RelationType.SUPPLIES,
            False,
        ),
        (
            rf"{_ENT}\s+(?:buys|bought|sources|sourced|purchases|purchased|procures|procured|gets|relies on)"
            rf"\s+{_GAP}\s*from\s+{_ENT}",
            RelationType.SUPPLIES,
            True,
        ),
        (
            rf"{_ENT},?\s+(?:{_BE})?{_DET}{_ADJ}(?:customer|client|buyer)s?\s+(?:of|for)\s+{_ENT}",
            RelationType.SUPPLIES,
            True,
        ),
        (
            rf"{_ENT}(?:'s|\u2019s)\s+{_ADJ}(?:customer|client|buyer)s?,?\s+(?:including\s+)?{_ENT}",
            RelationType.SUPPLIES,
            False,
        ),
        # A subsidiary_of B
        (
            rf"{_ENT},?\s+(?:{_BE})?{_DET}(?:wholly[- ]owned\s+|majority[- ]owned\s+|\w+\s+)?"
            rf"(?:subsidiary|unit|division|arm|affiliate)\s+of\s+{_ENT}",
            RelationType.SUBSIDIARY_OF,
            False,
        ),
        (
            rf"{_ENT}(?:'s|\u2019s)\s+(?:wholly[- ]owned\s+)?(?:subsidiary|unit|division|arm),?\s+{_ENT}",
            RelationType.SUBSIDIARY_OF,
            True,
        ),
        (rf"{_ENT},?\s+(?:{_BE})?{_DET}parent(?:\s+company)?\s+of\s+{_ENT}", RelationType.SUBSIDIARY_OF, True),
        (rf"{_ENT}(?:'s|\u2019s)\s+parent(?:\s+company)?,?\s+{_ENT}", RelationType.SUBSIDIARY_OF, False),
        (
            rf"{_ENT}\s+(?:owns|acquired|controls)\s+(?:a\s+majority\s+of\s+|all\s+of\s+)?{_ENT}",
            RelationType.SUBSIDIARY_OF,
            True,
        ),
        # partners
        (
            rf"{_ENT}\s+(?:partnered|partners|teamed up|has partnered|signed a partnership|formed a (?:joint venture|"
            rf"partnership|alliance))\s+with\s+{_ENT}",
            RelationType.PARTNER,
            False,
        ),
        (
            rf"{_ENT}\s+and\s+{_ENT}\s+(?:announced|formed|signed|entered into|have|launched)?\s*(?:a|an)\s+"
            rf"(?:\w+\s+)?(?:partnership|joint venture|alliance)",
            RelationType.PARTNER,
            False,
        ),
    )
)


def extract_relations(signal: SentenceSignal) -> list[StatedRelation]:
    """Supplier, customer, subsidiary, parent and partner relations the sentence states."""
    mentions = mention_spans(signal)
    if len({ticker for _, _, ticker in mentions}) < 2:
        return []
    pieces: list[str] = []
    cursor = 0
    for index, (start, end, _) in enumerate(mentions):
        pieces.append(signal.text[cursor:start])
        pieces.append(f"__E{index}__")
        cursor = end
    pieces.append(signal.text[cursor:])
    masked = "".join(pieces)
    found: dict[tuple[str, str, RelationType], StatedRelation] = {}
    for pattern, relation, swapped in _RELATION_PATTERNS:
        for match in pattern.finditer(masked):
            first = mentions[int(match.group(1))][2]
            second = mentions[int(match.group(2))][2]
            source, target = (second, first) if swapped else (first, second)
            if source == target:
                continue
            if relation in UNDIRECTED_RELATIONS:
                source, target = sorted((source, target))
            found.setdefault(
                (source, target, relation),
                StatedRelation(
                    source=source,
                    target=target,
                    relation=relation,
                    article_id=signal.article_id,
                    published_at=signal.published_at,
                    sentence_index=signal.sentence_index,
                    evidence_text=signal.text,
                ),
            )
    return [found[key] for key in sorted(found)]


# ------------------------------------------------------------------------------------------- graph


def edge_weight(relation: RelationType, observed_at: Iterable[datetime], as_of: datetime) -> float:
    """``base(relation) * min(1, sum 2 ** (-age / half_life))`` over observations up to ``as_of``."""
    half_life = RELATION_HALF_LIFE_DAYS[relation]
    n_eff = math.fsum(2.0 ** (-age / half_life) for moment in observed_at if (age := age_days(moment, as_of)) >= 0.0)
    return RELATION_BASE_WEIGHT[relation] * min(1.0, n_eff)


class CompanyGraph:
    """Typed company relations with their observations; weights are computed for an ``as_of``."""

    def __init__(self) -> None:
        self.graph = nx.MultiDiGraph()

    def observe(self, source: str, target: str, relation: RelationType, article_id: str, at: datetime) -> None:
        if source == target:
            return
        if relation in UNDIRECTED_RELATIONS:
            source, target = sorted((source, target))
        if not self.graph.has_edge(source, target, key=relation):
            self.graph.add_edge(source, target, key=relation, relation=relation, observations=set())
        self.graph.edges[source, target, relation]["observations"].add((as_utc(at), article_id))

    def add_relation(self, relation: StatedRelation) -> None:
        self.observe(relation.source, relation.target, relation.relation, relation.article_id, relation.published_at)

    def add_co_mentions(
        self, signals: Iterable[SentenceSignal], scope: Literal["sentence", "article"] = "sentence"
    ) -> None:
        """A co-mention edge per pair of companies named in one sentence (or one article)."""
        groups: dict[tuple[str, int], set[str]] = {}
        dates: dict[tuple[str, int], datetime] = {}
        for signal in signals:
            key = (signal.article_id, -1) if scope == "article" else signal.key
            groups.setdefault(key, set()).update(signal.tickers)
            dates[key] = min(dates.get(key, as_utc(signal.published_at)), as_utc(signal.published_at))
        for key, tickers in groups.items():
            ordered = sorted(tickers)
            for i, left in enumerate(ordered):
                for right in ordered[i + 1 :]:
                    self.observe(left, right, RelationType.CO_MENTION, key[0], dates[key])

    def edges(self, as_of: datetime) -> list[EdgeSummary]:
        """Every edge with its weight at ``as_of`` (edges first seen after ``as_of`` left out)."""
        cutoff = as_utc(as_of)
        summaries = []
        for source, target, relation, data in self.graph.edges(keys=True, data=True):
            seen = sorted(o for o in data["observations"] if o[0] <= cutoff)
            if not seen:
                continue
            summaries.append(
                EdgeSummary(
                    source=source,
                    target=target,
                    relation=relation,
                    weight=edge_weight(relation, (moment for moment, _ in seen), cutoff),
                    first_seen=seen[0][0],
                    last_seen=seen[-1][0],
                    article_ids=tuple(sorted({article for _, article in seen})),
                )
            )
        return sorted(summaries, key=lambda e: (e.source, e.target, e.relation.value))

    def transmission(self, as_of: datetime) -> dict[str, dict[str, tuple[float, RelationType, tuple[str, ...]]]]:
        """``{u: {v: (weight * transmission, relation, article_ids)}}``: how distress at ``u`` reaches ``v``.

        Between two companies only the strongest relation counts.
        """
        best: dict[str, dict[str, tuple[float, RelationType, tuple[str, ...]]]] = {}

        def offer(u: str, v: str, strength: float, relation: RelationType, articles: tuple[str, ...]) -> None:
            if strength <= 0.0:
                return
            current = best.setdefault(u, {}).get(v)
            # Ties go to the lower relation name so the choice does not depend on edge order.
            if current is None or (strength, -_relation_rank(relation)) > (current[0], -_relation_rank(current[1])):
                best[u][v] = (strength, relation, articles)

        for edge in self.edges(as_of):
            forward, backward = RELATION_TRANSMISSION[edge.relation]
            offer(edge.source, edge.target, edge.weight * forward, edge.relation, edge.article_ids)
            offer(edge.target, edge.source, edge.weight * backward, edge.relation, edge.article_ids)
        return best


def _relation_rank(relation: RelationType) -> int:
    return sorted(RelationType).index(relation)


def build_company_graph(
    signals: Iterable[SentenceSignal],
    relations: Iterable[StatedRelation] = (),
    *,
    co_mention_scope: Literal["sentence", "article"] = "sentence",
    extract: bool = True,
) -> CompanyGraph:
    """A graph from co-mentions, the given stated relations and (``extract``) those in the text."""
    signals = list(signals)
    graph = CompanyGraph()
    graph.add_co_mentions(signals, scope=co_mention_scope)
    for relation in relations:
        graph.add_relation(relation)
    if extract:
        for signal in signals:
            for relation in extract_relations(signal):
                graph.add_relation(relation)
    return graph


def propagate_risk(
    graph: CompanyGraph,
    source_risk: Mapping[str, float],
    *,
    as_of: datetime,
    damping: float = DEFAULT_DAMPING,
    max_hops: int = DEFAULT_MAX_HOPS,
) -> dict[str, list[PropagatedContribution]]:
    """Per target, the contributions of every source's risk along simple paths of <= ``max_hops``.

    A source never contributes to itself (no path comes back to its start), and each simple path
    contributes once, so the attribution lists every route the risk took.
    """
    links = graph.transmission(as_of)
    results: dict[str, list[PropagatedContribution]] = {}

    def walk(
        source: str,
        risk: float,
        path: tuple[str, ...],
        strengths: tuple[float, ...],
        relations: tuple[RelationType, ...],
        articles: tuple[str, ...],
    ) -> None:
        here = path[-1]
        for neighbour in sorted(links.get(here, {})):
            if neighbour in path:
                continue
            strength, relation, edge_articles = links[here][neighbour]
            hop_path = (*path, neighbour)
            hop_strengths = (*strengths, strength)
            hop_relations = (*relations, relation)
            hop_articles = tuple(sorted({*articles, *edge_articles}))
            hops = len(hop_path) - 1
            amount = risk * damping**hops * math.prod(hop_strengths)
            if amount > 0.0:
                results.setdefault(neighbour, []).append(
                    PropagatedContribution(
                        source=source,
                        target=neighbour,
                        path=hop_path,
                        relations=hop_relations,
                        edge_weights=hop_strengths,
                        source_risk=risk,
                        amount=amount,
                        article_ids=hop_articles,
                    )
                )
            if hops < max_hops:
                walk(source, risk, hop_path, hop_strengths, hop_relations, hop_articles)

    for source in sorted(source_risk):
        risk = source_risk[source]
        if risk > 0.0:
            walk(source, risk, (source,), (), (), ())
    for contributions in results.values():
        contributions.sort(key=lambda c: (-c.amount, c.path))
    return results
