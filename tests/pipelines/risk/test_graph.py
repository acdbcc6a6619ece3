"""Company graph: relation extraction, time decay, damped two-hop propagation along relation directions."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from pipelines.risk.graph import (
    RELATION_BASE_WEIGHT,
    RELATION_HALF_LIFE_DAYS,
    CompanyGraph,
    RelationType,
    build_company_graph,
    edge_weight,
    extract_relations,
    propagate_risk,
)
from pipelines.risk.signals import EntityMention
from tests.pipelines.risk.factories import AS_OF, sentence


def relations_in(text: str, tickers: tuple[str, ...], with_spans: bool = False) -> set[tuple[str, str, str]]:
    signal = sentence(text, tickers, with_spans=with_spans)
    return {(r.source, r.relation.value, r.target) for r in extract_relations(signal)}


@pytest.mark.parametrize(
    ("text", "tickers", "expected"),
    [
        ("SUPX, a key supplier to CUST, warned of delays.", ("SUPX", "CUST"), ("SUPX", "supplies", "CUST")),
        ("CUST's largest supplier SUPX filed for bankruptcy.", ("CUST", "SUPX"), ("SUPX", "supplies", "CUST")),
        ("SUPX supplies batteries and displays to CUST.", ("SUPX", "CUST"), ("SUPX", "supplies", "CUST")),
        ("CUST buys most of its chips from SUPX.", ("CUST", "SUPX"), ("SUPX", "supplies", "CUST")),
        ("CUST is a major customer of SUPX.", ("CUST", "SUPX"), ("SUPX", "supplies", "CUST")),
        ("SUBX, a wholly-owned subsidiary of PARX, defaulted.", ("SUBX", "PARX"), ("SUBX", "subsidiary_of", "PARX")),
        ("PARX's unit SUBX cut 200 jobs.", ("PARX", "SUBX"), ("SUBX", "subsidiary_of", "PARX")),
        ("BBB and AAA formed a joint venture.", ("BBB", "AAA"), ("AAA", "partner", "BBB")),
    ],
)
def test_stated_relations_are_extracted_with_their_direction(
    text: str, tickers: tuple[str, ...], expected: tuple[str, str, str]
) -> None:
    assert relations_in(text, tickers) == {expected}


def test_relations_use_entity_linker_spans() -> None:
    text = "Hon Hai, a key supplier to Apple, cut its outlook."
    unlinked = sentence(text, ("2317.TW", "AAPL"))
    apple = text.index("Apple")
    linked = replace(
        unlinked, mentions=(EntityMention("2317.TW", 0, 7), EntityMention("AAPL", apple, apple + len("Apple")))
    )
    assert extract_relations(unlinked) == []
    assert [(r.source, r.relation, r.target) for r in extract_relations(linked)] == [
        ("2317.TW", RelationType.SUPPLIES, "AAPL")
    ]


def test_a_mere_co_mention_states_no_relation() -> None:
    assert relations_in("AAA and BBB shares both fell on Tuesday.", ("AAA", "BBB")) == set()


def test_edge_weight_halves_every_half_life_and_saturates_at_base() -> None:
    half_life = RELATION_HALF_LIFE_DAYS[RelationType.SUPPLIES]
    fresh = edge_weight(RelationType.SUPPLIES, [AS_OF], AS_OF)
    old = edge_weight(RelationType.SUPPLIES, [AS_OF - timedelta(days=half_life)], AS_OF)
    older = edge_weight(RelationType.SUPPLIES, [AS_OF - timedelta(days=2 * half_life)], AS_OF)
    assert fresh == RELATION_BASE_WEIGHT[RelationType.SUPPLIES]
    assert old == pytest.approx(fresh / 2) and older == pytest.approx(fresh / 4)
    assert edge_weight(RelationType.SUPPLIES, [AS_OF, AS_OF, AS_OF], AS_OF) == fresh
    assert edge_weight(RelationType.SUPPLIES, [AS_OF + timedelta(days=1)], AS_OF) == 0.0


def test_co_mention_edge_is_weaker_than_a_stated_relation_and_records_provenance() -> None:
    signals = [
        sentence("SUPX, a key supplier to CUST, warned of delays.", ("SUPX", "CUST"), article_id="s1", days_ago=3),
        sentence("AAA and BBB shares fell.", ("AAA", "BBB"), article_id="c1", days_ago=5),
        sentence("AAA and BBB shares rose.", ("AAA", "BBB"), article_id="c2", days_ago=1),
    ]
    edges = {(e.source, e.target, e.relation): e for e in build_company_graph(signals).edges(AS_OF)}
    stated = edges["SUPX", "CUST", RelationType.SUPPLIES]
    co = edges["AAA", "BBB", RelationType.CO_MENTION]
    assert co.weight < stated.weight
    assert co.article_ids == ("c1", "c2")
    assert co.first_seen == AS_OF - timedelta(days=5) and co.last_seen == AS_OF - timedelta(days=1)


def chain_graph(relation: RelationType = RelationType.SUPPLIES) -> CompanyGraph:
    """A -> B -> C -> D, each edge stated today (weight 1)."""
    graph = CompanyGraph()
    for source, target in (("A", "B"), ("B", "C"), ("C", "D")):
        graph.observe(source, target, relation, f"{source}{target}", AS_OF)
    return graph


def test_propagation_damps_per_hop_and_stops_after_two_hops() -> None:
    result = propagate_risk(chain_graph(), {"A": 80.0}, as_of=AS_OF, damping=0.5, max_hops=2)
    [to_b] = result["B"]
    [to_c] = result["C"]
    assert to_b.amount == pytest.approx(80.0 * 0.5) and to_b.path == ("A", "B")
    assert to_c.amount == pytest.approx(80.0 * 0.25) and to_c.path == ("A", "B", "C")
    assert to_c.edge_weights == (1.0, 1.0) and to_c.relations == (RelationType.SUPPLIES,) * 2
    assert "D" not in result
    assert "A" not in result  # no risk flows back to its source


def test_supplier_distress_reaches_customers_more_than_customer_distress_reaches_suppliers() -> None:
    graph = CompanyGraph()
    graph.observe("SUPX", "CUST", RelationType.SUPPLIES, "s1", AS_OF)
    downstream = propagate_risk(graph, {"SUPX": 50.0}, as_of=AS_OF)["CUST"][0].amount
    upstream = propagate_risk(graph, {"CUST": 50.0}, as_of=AS_OF)["SUPX"][0].amount
    assert downstream > upstream > 0.0


def test_parent_distress_reaches_subsidiary_in_full() -> None:
    graph = CompanyGraph()
    graph.observe("SUBX", "PARX", RelationType.SUBSIDIARY_OF, "s1", AS_OF)
    to_sub = propagate_risk(graph, {"PARX": 50.0}, as_of=AS_OF)["SUBX"][0].amount
    to_parent = propagate_risk(graph, {"SUBX": 50.0}, as_of=AS_OF)["PARX"][0].amount
    assert to_sub == pytest.approx(25.0) and to_parent < to_sub


def test_propagation_lists_every_route_for_attribution() -> None:
    graph = CompanyGraph()
    graph.observe("A", "T", RelationType.SUPPLIES, "x1", AS_OF)
    graph.observe("A", "B", RelationType.SUPPLIES, "x2", AS_OF)
    graph.observe("B", "T", RelationType.SUPPLIES, "x3", AS_OF)
    routes = propagate_risk(graph, {"A": 40.0}, as_of=AS_OF)["T"]
    assert {route.path for route in routes} == {("A", "T"), ("A", "B", "T")}
    two_hop = next(route for route in routes if route.hops == 2)
    assert two_hop.article_ids == ("x2", "x3") and two_hop.source == "A"


def test_old_relations_transmit_less() -> None:
    fresh, stale = CompanyGraph(), CompanyGraph()
    fresh.observe("SUPX", "CUST", RelationType.SUPPLIES, "s1", AS_OF)
    stale.observe("SUPX", "CUST", RelationType.SUPPLIES, "s1", AS_OF - timedelta(days=360))
    assert (
        propagate_risk(stale, {"SUPX": 50.0}, as_of=AS_OF)["CUST"][0].amount
        < propagate_risk(fresh, {"SUPX": 50.0}, as_of=AS_OF)["CUST"][0].amount
    )


def test_the_strongest_relation_between_two_companies_carries_the_risk_once() -> None:
    signals = [sentence("SUPX, a key supplier to CUST, warned of delays.", ("SUPX", "CUST"))]
    routes = propagate_risk(build_company_graph(signals), {"SUPX": 50.0}, as_of=AS_OF)["CUST"]
    assert len(routes) == 1 and routes[0].relations == (RelationType.SUPPLIES,)
