"""The embedded store and the server path (local mode standing in) rank the same corpus alike,
so switching QDRANT_URL on does not change what analysts find."""

from __future__ import annotations

import numpy as np
import pytest

from tests.retrieval.conftest import TINY_DIM, make_store, synthetic_corpus

LEVELS = ["public", "internal"]


@pytest.fixture
def both_stores(store_dir):
    stores = [make_store(kind, store_dir / kind) for kind in ("edge", "qdrant-local")]
    records = synthetic_corpus(300, seed=11)
    for store in stores:
        store.ensure_collection(TINY_DIM)
        store.upsert(records)
    yield stores
    for store in stores:
        store.close()


@pytest.mark.parametrize("mode", ["dense", "keyword", "hybrid"])
@pytest.mark.parametrize("text", ["liquidity covenant", "tariff outlook guidance", "goodwill impairment litigation"])
def test_both_backends_return_the_same_ranking(both_stores, mode, text):
    query_vector = np.random.default_rng(len(text)).normal(size=TINY_DIM)
    edge, local = (
        store.search(query_vector=query_vector, query_text=text, allowed_access_levels=LEVELS, limit=10, mode=mode)
        for store in both_stores
    )
    assert len(edge) == len(local) == 10
    assert [h.score for h in edge] == pytest.approx([h.score for h in local], rel=1e-3)
    # Ties (same BM25 score) may come back in either order; the sets per score must agree.
    assert {(round(h.score, 4), h.chunk_id) for h in edge} == {(round(h.score, 4), h.chunk_id) for h in local}
