"""What only the embedded store has: one owner per directory, persistence, HNSW building."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from pipelines.retrieval import (
    ChunkRecord,
    CollectionMismatchError,
    EdgeVectorStore,
    SearchFilters,
    StoreAlreadyOpenError,
    open_vector_store,
)
from tests.retrieval.conftest import TINY_DIM, synthetic_corpus

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_a_directory_opens_once_per_process_and_reopens_after_close(store_dir):
    path = store_dir / "chunks"
    store = EdgeVectorStore(path)
    store.ensure_collection(TINY_DIM)
    store.upsert(synthetic_corpus(40))
    with pytest.raises(StoreAlreadyOpenError, match="already open in this process"):
        EdgeVectorStore(path)
    store.close()

    with EdgeVectorStore(path, max_search_threads=1) as reopened:
        # Size and distance come back from disk: searching works before ensure_collection.
        assert reopened.vector_size == TINY_DIM
        assert reopened.count() == 40
        hits = reopened.search(query_vector=np.ones(TINY_DIM), allowed_access_levels=["public"], mode="dense")
        assert hits and all(h.payload["access_level"] == "public" for h in hits)
        with pytest.raises(CollectionMismatchError):
            reopened.ensure_collection(TINY_DIM * 2)


def test_another_process_cannot_open_an_open_directory(store_dir):
    path = store_dir / "chunks"
    with EdgeVectorStore(path) as store:
        store.ensure_collection(TINY_DIM)
        probe = textwrap.dedent(
            f"""
            from pipelines.retrieval import EdgeVectorStore, StoreAlreadyOpenError
            try:
                EdgeVectorStore({str(path)!r})
            except StoreAlreadyOpenError as error:
                print("refused:", error)
            else:
                print("opened")
            """
        )
        result = subprocess.run(
            [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=True
        )
    assert result.stdout.startswith("refused:"), result.stdout + result.stderr
    assert "one process per directory" in result.stdout


def _clustered(n: int, dim: int, seed: int) -> np.ndarray:
    # Clustered, not uniform: ANN recall on uniform random vectors says nothing about real embeddings.
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(40, dim))
    points = centres[rng.integers(0, 40, size=n)] + 0.35 * rng.normal(size=(n, dim))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def test_optimize_builds_hnsw_with_high_recall_for_filtered_and_unfiltered_search(store_dir):
    n, dim = 3000, 32
    vectors = _clustered(n, dim, seed=3)
    tickers = np.array(["AAPL", "MSFT", "JPM", "XOM", "NVDA"])[np.arange(n) % 5]
    records = [
        ChunkRecord(f"d{i // 10}:{i}", f"d{i // 10}", f"chunk {i}", vectors[i], "public", ticker=str(tickers[i]))
        for i in range(n)
    ]
    # A tiny indexing threshold so that 3000 small vectors get an HNSW graph.
    with EdgeVectorStore(store_dir / "chunks", indexing_threshold_kb=64) as store:
        store.ensure_collection(dim)
        store.upsert(records, batch_size=500, optimize=False)
        # Qdrant counts indexed vectors over all named vectors: the sparse BM25 index is
        # built on write, the dense HNSW graph only by the optimizer.
        assert store.info().indexed_vectors_count == n
        store.optimize()
        assert store.info().indexed_vectors_count == 2 * n

        queries = _clustered(60, dim, seed=4)
        found = expected = 0
        for i, query in enumerate(queries):
            only = None if i % 2 else "MSFT"
            mask = np.ones(n, bool) if only is None else tickers == only
            exact = np.flatnonzero(mask)[np.argsort(-(vectors[mask] @ query))[:10]]
            hits = store.search(
                query_vector=query,
                allowed_access_levels=["public"],
                filters=SearchFilters(tickers=[only] if only else ()),
                limit=10,
                mode="dense",
            )
            found += len({h.chunk_id for h in hits} & {records[j].chunk_id for j in exact})
            expected += 10
        assert found / expected >= 0.95


def test_upsert_optimizes_by_default_once_a_segment_crosses_the_threshold(store_dir):
    vectors = _clustered(1500, 32, seed=5)
    records = [ChunkRecord(f"d:{i}", "d", "text", vectors[i], "public") for i in range(1500)]
    with EdgeVectorStore(store_dir / "chunks", indexing_threshold_kb=64) as store:
        store.ensure_collection(32)
        store.upsert(records[:100])  # 100 x 32 floats: below the threshold, stays a scanned segment
        assert store.info().indexed_vectors_count == 100  # the sparse vectors only
        store.upsert(records[100:])
        assert store.info().indexed_vectors_count == 2 * 1500
        assert store.delete_by_document("d") == 1500
        assert store.count() == 0


def test_open_vector_store_picks_the_embedded_store_without_url(store_dir):
    with open_vector_store(path=store_dir, collection="research") as store:
        assert isinstance(store, EdgeVectorStore)
        assert store.path == (store_dir / "research").resolve()
    with pytest.raises(ValueError):
        open_vector_store()
