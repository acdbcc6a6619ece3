"""One contract, run against every VectorStore implementation (see conftest.STORE_KINDS)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from pipelines.retrieval import (
    ChunkRecord,
    CollectionMismatchError,
    CollectionNotReadyError,
    SearchFilters,
    SearchMode,
    StoreClosedError,
)
from pipelines.retrieval.base import INDEXED_FIELDS, to_timestamp
from pipelines.retrieval.hybrid import RRF_K, candidate_limit
from tests.retrieval.conftest import TINY_DIM, synthetic_corpus

ALL_LEVELS = ("public", "internal", "restricted")
ALL_MODES = tuple(SearchMode)


def _query(records, text="liquidity covenant"):
    return {"query_vector": np.asarray(records[0].vector) + 0.1, "query_text": text}


def _ids(hits):
    return [hit.chunk_id for hit in hits]


# --- collection lifecycle -------------------------------------------------------------


def test_operations_before_ensure_collection_say_so(store_factory):
    store = store_factory()
    with pytest.raises(CollectionNotReadyError):
        store.count()
    with pytest.raises(CollectionNotReadyError):
        store.search(query_vector=[0.0] * TINY_DIM, allowed_access_levels=["public"], mode="dense")


def test_ensure_collection_is_idempotent_and_refuses_another_size(store):
    store.upsert(synthetic_corpus(20))
    store.ensure_collection(TINY_DIM)
    assert store.count() == 20
    with pytest.raises(CollectionMismatchError):
        store.ensure_collection(TINY_DIM + 1)
    with pytest.raises(CollectionMismatchError):
        store.ensure_collection(TINY_DIM, "dot")


def test_collection_info_reports_points_and_payload_indexes(store):
    store.upsert(synthetic_corpus(50))
    info = store.info()
    assert info.points_count == 50
    assert info.vector_size == TINY_DIM
    if not getattr(store, "is_local", False):  # qdrant-client local mode keeps no payload indexes
        assert set(INDEXED_FIELDS) <= info.indexed_fields


def test_closed_store_refuses_work(store):
    store.close()
    with pytest.raises(StoreClosedError):
        store.count()
    store.close()  # idempotent


# --- writes ---------------------------------------------------------------------------


def test_upsert_counts_per_document(store):
    records = synthetic_corpus(300)
    assert store.upsert(records, batch_size=64) == 300
    assert store.count() == 300
    assert store.count_by_document("doc7") == sum(r.document_id == "doc7" for r in records) == 10
    assert store.count(SearchFilters(tickers=["aapl"])) == sum(r.ticker == "AAPL" for r in records)


def test_upserting_a_chunk_again_overwrites_it(store):
    records = synthetic_corpus(10)
    store.upsert(records)
    first = records[0]
    changed = ChunkRecord(
        chunk_id=first.chunk_id,
        document_id=first.document_id,
        text="rewritten passage about dividend",
        vector=first.vector,
        access_level="public",
        ticker="MSFT",
    )
    store.upsert([changed])
    assert store.count() == 10
    hits = store.search(query_text="rewritten", allowed_access_levels=ALL_LEVELS, mode="keyword")
    assert _ids(hits) == [first.chunk_id]
    assert hits[0].payload["ticker"] == "MSFT"


def test_delete_by_document_removes_only_that_document(store):
    records = synthetic_corpus(300)
    store.upsert(records)
    assert store.delete_by_document("doc3") == 10
    assert store.count_by_document("doc3") == 0
    assert store.count() == 290
    assert store.delete_by_document("doc3") == 0
    hits = store.search(**_query(records), allowed_access_levels=ALL_LEVELS, limit=300, mode="dense", filters=None)
    assert len(hits) == 290
    assert not any(hit.document_id == "doc3" for hit in hits)


def test_replace_document_leaves_no_stale_chunks(store):
    records = synthetic_corpus(300)
    store.upsert(records)
    fresh = [
        ChunkRecord(f"doc5:new{i}", "doc5", f"restated guidance {i}", np.ones(TINY_DIM) * (i + 1), "public")
        for i in range(3)
    ]
    assert store.replace_document("doc5", fresh) == 3
    assert store.count_by_document("doc5") == 3
    hits = store.search(
        query_vector=np.ones(TINY_DIM),
        allowed_access_levels=ALL_LEVELS,
        filters=SearchFilters(document_ids=["doc5"]),
        limit=50,
        mode="dense",
    )
    assert sorted(_ids(hits)) == ["doc5:new0", "doc5:new1", "doc5:new2"]
    with pytest.raises(ValueError, match="do not belong"):
        store.replace_document("doc6", fresh)
    assert store.count_by_document("doc5") == 3


def test_invalid_chunks_are_refused(store):
    good = synthetic_corpus(1)[0]
    with pytest.raises(ValueError, match="dimensions"):
        store.upsert([ChunkRecord("x:1", "x", "text", [0.1] * (TINY_DIM + 2), "public")])
    with pytest.raises(ValueError, match="access_level"):
        store.upsert([ChunkRecord("x:2", "x", "text", good.vector, "")])
    with pytest.raises(ValueError, match="NaN"):
        store.upsert([ChunkRecord("x:3", "x", "text", [float("nan")] * TINY_DIM, "public")])
    with pytest.raises(ValueError, match="may not set"):
        store.upsert([ChunkRecord("x:4", "x", "text", good.vector, "public", extra={"access_level": "public"})])
    assert store.count() == 0


# --- access control -------------------------------------------------------------------


def _corpus_with_restricted_best_match():
    records = [r for r in synthetic_corpus(200) if r.access_level != "restricted"]
    query_vector = np.linspace(-1.0, 1.0, TINY_DIM)
    secret = ChunkRecord(
        chunk_id="secret:0001",
        document_id="secret",
        # The only chunk holding the query's terms, several times: the best keyword match.
        text="merger arbitrage merger arbitrage merger arbitrage target Acme",
        vector=query_vector,  # identical to the query: the best dense match
        access_level="restricted",
        ticker="AAPL",
        doc_type="memo",
        published_at=date(2024, 3, 1),
    )
    # A weaker public match, so that keyword mode has something allowed to return.
    decoy = ChunkRecord(
        chunk_id="public:0001",
        document_id="public-note",
        text="merger commentary",
        vector=query_vector + np.array([0.6, 0.0, -0.3, 0.0, 0.2, 0.0, 0.4, -0.5]),
        access_level="public",
        ticker="AAPL",
        doc_type="memo",
        published_at=date(2024, 3, 1),
    )
    return [*records, secret, decoy], {"query_vector": query_vector, "query_text": "merger arbitrage"}


@pytest.mark.parametrize("mode", ALL_MODES)
def test_restricted_chunk_is_invisible_without_access_even_as_best_match(store, mode):
    records, query = _corpus_with_restricted_best_match()
    store.upsert(records)

    allowed = store.search(**query, allowed_access_levels=ALL_LEVELS, limit=5, mode=mode)
    assert allowed[0].chunk_id == "secret:0001"  # it really is the best match

    for levels in (["public"], ["public", "internal"]):
        hits = store.search(**query, allowed_access_levels=levels, limit=len(records), mode=mode)
        assert "secret:0001" not in _ids(hits)
        assert {hit.payload["access_level"] for hit in hits} <= set(levels)
        # Inside the query, not dropped afterwards: limit=1 still yields the best allowed chunk.
        (top,) = store.search(**query, allowed_access_levels=levels, limit=1, mode=mode)
        assert top.chunk_id != "secret:0001"
        # The same with every other filter applied too.
        narrowed = store.search(
            **query,
            allowed_access_levels=levels,
            filters=SearchFilters(tickers=["AAPL"], doc_types=["memo"], published_from=date(2024, 3, 1)),
            limit=10,
            mode=mode,
        )
        assert _ids(narrowed) == ["public:0001"]


def test_access_levels_are_required_and_empty_means_nothing(store):
    records = synthetic_corpus(30)
    store.upsert(records)
    with pytest.raises(TypeError):
        store.search(**_query(records), mode="dense")  # no allowed_access_levels argument
    with pytest.raises(TypeError):
        store.search(**_query(records), allowed_access_levels="public", mode="dense")
    for mode in ALL_MODES:
        assert store.search(**_query(records), allowed_access_levels=[], mode=mode) == []


def test_each_level_sees_exactly_its_chunks(store):
    records = synthetic_corpus(90)
    store.upsert(records)
    for level in ALL_LEVELS:
        hits = store.search(**_query(records), allowed_access_levels=[level], limit=200, mode="dense")
        assert sorted(_ids(hits)) == sorted(r.chunk_id for r in records if r.access_level == level)


# --- filters --------------------------------------------------------------------------

FILTER_CASES = {
    "ticker": (SearchFilters(tickers=["jpm"]), lambda r: r.ticker == "JPM"),
    "company": (SearchFilters(companies=["Exxon Mobil"]), lambda r: r.company == "Exxon Mobil"),
    "doc_types": (SearchFilters(doc_types=["news", "filing"]), lambda r: r.doc_type in ("news", "filing")),
    "section": (SearchFilters(sections="Item 7"), lambda r: r.section == "Item 7"),
    "documents": (SearchFilters(document_ids=["doc1", "doc2"]), lambda r: r.document_id in ("doc1", "doc2")),
    "date_range": (
        SearchFilters(published_from=date(2023, 3, 5), published_to=date(2023, 9, 3)),
        lambda r: date(2023, 3, 5) <= r.published_at <= date(2023, 9, 3),
    ),
    "open_ended_date": (SearchFilters(published_from=date(2024, 6, 1)), lambda r: r.published_at >= date(2024, 6, 1)),
    "combined": (
        SearchFilters(tickers=["AAPL", "MSFT"], doc_types=["report"], published_to=date(2024, 1, 31)),
        lambda r: r.ticker in ("AAPL", "MSFT") and r.doc_type == "report" and r.published_at <= date(2024, 1, 31),
    ),
}


@pytest.mark.parametrize("case", FILTER_CASES)
def test_filters_return_exactly_the_matching_chunks(store, case):
    filters, predicate = FILTER_CASES[case]
    records = synthetic_corpus(300)
    store.upsert(records)
    levels = ["public", "internal"]
    expected = {r.chunk_id for r in records if predicate(r) and r.access_level in levels}
    assert 0 < len(expected) < 200, "the case should select something, but not everything"

    hits = store.search(**_query(records), allowed_access_levels=levels, filters=filters, limit=300, mode="dense")
    assert set(_ids(hits)) == expected
    for mode in ("keyword", "hybrid"):
        hits = store.search(**_query(records), allowed_access_levels=levels, filters=filters, limit=300, mode=mode)
        assert hits and set(_ids(hits)) <= expected
    assert store.count(filters) == sum(predicate(r) for r in records)


def test_date_boundaries_are_inclusive(store):
    records = synthetic_corpus(50)
    store.upsert(records)
    day = records[10].published_at
    filters = SearchFilters(published_from=day, published_to=day)
    hits = store.search(**_query(records), allowed_access_levels=ALL_LEVELS, filters=filters, limit=50, mode="dense")
    assert set(_ids(hits)) == {r.chunk_id for r in records if r.published_at == day}
    next_day = day + timedelta(days=1)
    on_next_day = SearchFilters(published_from=next_day, published_to=next_day)
    assert store.count(on_next_day) == sum(r.published_at == next_day for r in records)


# --- ranking --------------------------------------------------------------------------


def test_dense_ranking_matches_exact_cosine(store):
    records = synthetic_corpus(300)
    store.upsert(records)
    query = np.random.default_rng(1).normal(size=TINY_DIM)
    hits = store.search(query_vector=query, allowed_access_levels=ALL_LEVELS, limit=10, mode="dense")
    matrix = np.stack([np.asarray(r.vector) / np.linalg.norm(r.vector) for r in records])
    cosine = matrix @ (query / np.linalg.norm(query))
    expected = [records[i].chunk_id for i in np.argsort(-cosine)[:10]]
    assert _ids(hits) == expected
    assert [hit.score for hit in hits] == pytest.approx(sorted(cosine, reverse=True)[:10], abs=1e-4)
    assert [hit.ranks["dense"] for hit in hits] == list(range(1, 11))


def test_keyword_search_ranks_by_bm25(store):
    vector = np.ones(TINY_DIM)
    texts = {
        "k:rare": "The covenant waiver was granted by the lenders.",
        "k:common1": "Revenue grew; revenue guidance for revenue was raised.",
        "k:common2": "Revenue fell in the quarter.",
        "k:common3": "Quarterly revenue was flat.",
        "k:stem": "Lenders granted several covenant waivers to the revenues team.",
        "k:none": "Headcount was reduced in Europe.",
    }
    store.upsert(ChunkRecord(cid, "k", text, vector, "public") for cid, text in texts.items())
    hits = store.search(query_text="covenant waiver", allowed_access_levels=["public"], mode="keyword")
    # Stemming matches "waivers" to "waiver"; chunks without the terms are not returned.
    assert set(_ids(hits)) == {"k:rare", "k:stem"}
    hits = store.search(query_text="revenue covenant", allowed_access_levels=["public"], mode="keyword")
    # "covenant" is rarer than "revenue" (IDF): the chunk holding both ranks first, and a
    # chunk with the rare term beats chunks with only the common one.
    assert hits[0].chunk_id == "k:stem"
    assert _ids(hits).index("k:rare") < _ids(hits).index("k:common2")
    assert "k:none" not in _ids(hits)
    # Only stopwords: nothing to match.
    assert store.search(query_text="the of and", allowed_access_levels=["public"], mode="keyword") == []


def test_hybrid_is_reciprocal_rank_fusion_of_dense_and_keyword(store):
    records = synthetic_corpus(300)
    store.upsert(records)
    query = _query(records, "liquidity covenant refinancing")
    hits = store.search(**query, allowed_access_levels=ALL_LEVELS, limit=10, mode="hybrid")
    assert len(hits) == 10
    candidates = candidate_limit(10)
    dense = store.search(**query, allowed_access_levels=ALL_LEVELS, limit=candidates, mode="dense")
    keyword = store.search(**query, allowed_access_levels=ALL_LEVELS, limit=candidates, mode="keyword")
    for hit in hits:
        assert hit.ranks, "every fused hit came from at least one retriever"
        expected = sum(1.0 / (RRF_K + rank - 1) for rank in hit.ranks.values())
        assert hit.score == pytest.approx(expected, rel=1e-4)
        if "dense" in hit.ranks:
            assert dense[hit.ranks["dense"] - 1].chunk_id == hit.chunk_id
        if "keyword" in hit.ranks:
            assert keyword[hit.ranks["keyword"] - 1].chunk_id == hit.chunk_id
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True)
    # Nothing left out of the top 10 fuses to a better score than the 10th hit.
    from pipelines.retrieval import reciprocal_rank_fusion

    reference = reciprocal_rank_fusion({"dense": _ids(dense), "keyword": _ids(keyword)})
    assert reference[9][1] == pytest.approx(scores[-1], rel=1e-4)
    assert [s for _, s in reference[:10]] == pytest.approx(scores, rel=1e-4)


def test_hybrid_without_explain_returns_the_same_ranking(store):
    records = synthetic_corpus(200)
    store.upsert(records)
    query = _query(records, "dividend buyback")
    explained = store.search(**query, allowed_access_levels=ALL_LEVELS, limit=8, mode="hybrid")
    plain = store.search(**query, allowed_access_levels=ALL_LEVELS, limit=8, mode="hybrid", explain=False)
    assert [h.score for h in plain] == pytest.approx([h.score for h in explained])
    assert all(h.ranks == {} for h in plain)


def test_hits_carry_the_payload(store):
    record = ChunkRecord(
        chunk_id="doc9:0003",
        document_id=9,
        text="Liquidity remained strong.",
        vector=np.ones(TINY_DIM),
        access_level="internal",
        company="Apple Inc.",
        ticker="aapl",
        doc_type="filing",
        published_at=date(2024, 2, 29),
        section="Item 7",
        page=12,
        char_start=100,
        char_end=126,
        extra={"source": "10-K 2024"},
    )
    store.upsert([record])
    (hit,) = store.search(
        query_vector=np.ones(TINY_DIM), query_text="liquidity", allowed_access_levels=["internal"], mode="hybrid"
    )
    assert (hit.chunk_id, hit.document_id, hit.rank, hit.text) == ("doc9:0003", "9", 1, "Liquidity remained strong.")
    assert hit.payload["ticker"] == "AAPL"
    assert hit.payload["published_date"] == "2024-02-29"
    assert hit.payload["published_ts"] == to_timestamp(date(2024, 2, 29))
    assert (hit.payload["section"], hit.payload["page"], hit.payload["char_start"]) == ("Item 7", 12, 100)
    assert hit.payload["source"] == "10-K 2024"
    assert hit.ranks == {"dense": 1, "keyword": 1}


def test_search_arguments_are_validated(store):
    store.upsert(synthetic_corpus(5))
    with pytest.raises(ValueError, match="query_vector"):
        store.search(query_text="x", allowed_access_levels=["public"], mode="dense")
    with pytest.raises(ValueError, match="query_text"):
        store.search(query_vector=[0.0] * TINY_DIM, allowed_access_levels=["public"], mode="hybrid")
    with pytest.raises(ValueError, match="dimensions"):
        store.search(query_vector=[0.0] * 3, allowed_access_levels=["public"], mode="dense")
    with pytest.raises(ValueError):
        store.search(query_vector=[0.0] * TINY_DIM, allowed_access_levels=["public"], mode="fuzzy")


@pytest.mark.parametrize("mode", ALL_MODES)
def test_dbsf_fusion_keeps_the_access_filter_inside_the_query(store_factory, mode):
    store = store_factory(fusion="dbsf")
    store.ensure_collection(TINY_DIM)
    records, query = _corpus_with_restricted_best_match()
    store.upsert(records)
    assert store.search(**query, allowed_access_levels=ALL_LEVELS, limit=1, mode=mode)[0].chunk_id == "secret:0001"
    hits = store.search(**query, allowed_access_levels=["public", "internal"], limit=20, mode=mode)
    assert hits and "secret:0001" not in _ids(hits)
    assert {hit.payload["access_level"] for hit in hits} <= {"public", "internal"}


def test_equal_fused_scores_come_back_in_one_order_on_every_call():
    from pipelines.retrieval.base import settle_ties

    class Point:
        def __init__(self, pid: str, score: float) -> None:
            self.id, self.score, self.payload = pid, score, {"chunk_id": pid}

    tie = 1 / 3 + 1 / 5  # dense 1 + keyword 3 and dense 3 + keyword 1 under RRF k=2
    first = [Point("b", tie), Point("a", 1 / 5 + 1 / 3), Point("c", 0.9), Point("d", 0.1)]
    second = [first[1], first[0], first[3], first[2]]
    assert [r[0] for r in settle_ties(first, 3)] == [r[0] for r in settle_ties(second, 3)] == ["c", "a", "b"]
