"""The embedded store and the server path (local mode standing in) rank the same corpus alike,
so switching QDRANT_URL on does not change what analysts find."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.retrieval import ChunkRecord
from tests.retrieval.conftest import LEVELS, TINY_DIM, make_store, scratch_dir

VOCABULARY = [f"term{i}" for i in range(300)]


def _varied_corpus(n: int = 400, seed: int = 11) -> list[ChunkRecord]:
    # Zipf-like word choice and a different length per chunk, so that no two chunks tie on
    # BM25 (tied chunks may come back in either order, which would blur the comparison).
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, len(VOCABULARY) + 1)
    weights /= weights.sum()
    return [
        ChunkRecord(
            chunk_id=f"doc{i % 40}:{i}",
            document_id=f"doc{i % 40}",
            text=" ".join(rng.choice(VOCABULARY, size=5 + i, p=weights)),
            vector=rng.normal(size=TINY_DIM),
            access_level=LEVELS[i % 3],
        )
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def both_stores(tmp_path_factory):
    with scratch_dir(tmp_path_factory.mktemp("agree")) as directory:
        stores = [make_store(kind, directory / kind) for kind in ("edge", "qdrant-local")]
        records = _varied_corpus()
        for store in stores:
            store.ensure_collection(TINY_DIM)
            store.upsert(records)
        yield stores
        for store in stores:
            store.close()


@pytest.mark.parametrize("mode", ["dense", "keyword", "hybrid"])
@pytest.mark.parametrize("text", ["term3 term40", "term12 term7 term150", "term1 term99"])
def test_both_backends_return_the_same_ranking(both_stores, mode, text):
    query_vector = np.random.default_rng(len(text)).normal(size=TINY_DIM)
    edge, local = (
        store.search(
            query_vector=query_vector,
            query_text=text,
            allowed_access_levels=["public", "internal"],
            limit=10,
            mode=mode,
        )
        for store in both_stores
    )
    assert len(edge) == len(local) == 10
    assert [h.score for h in edge] == pytest.approx([h.score for h in local], rel=1e-4)
    # RRF ties by construction (dense rank 2 alone = keyword rank 2 alone), and tied hits
    # may come back in either order: compare hit by hit, without the group tied at the cut.
    cut = edge[-1].score * (1 + 1e-4)
    assert {h.chunk_id: h.ranks for h in edge if h.score > cut} == {h.chunk_id: h.ranks for h in local if h.score > cut}
