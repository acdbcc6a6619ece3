"""Vector store and hybrid retrieval over Qdrant (plain Python, no Django).

Typical use from the ingest task and the search selector::

    store = open_vector_store(url=settings.QDRANT_URL, path=settings.QDRANT_PATH, collection="chunks")
    store.ensure_collection(384)
    store.replace_document(document.id, chunk_records)          # ingest / re-index
    hits = store.search(query_vector=v, query_text=q, allowed_access_levels=levels,
                        filters=SearchFilters(tickers=["AAPL"]), limit=10)
    store.delete_by_document(document.id)
    store.close()

Embedded stores (``EdgeVectorStore``) allow one process per directory: route all access
through one owner process. Qdrant servers (``QdrantClientVectorStore``) have no such limit.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pipelines.retrieval.base import (
    ChunkRecord,
    CollectionInfo,
    CollectionMismatchError,
    CollectionNotReadyError,
    Distance,
    SearchFilters,
    SearchHit,
    SearchMode,
    StoreAlreadyOpenError,
    StoreClosedError,
    VectorStore,
    VectorStoreError,
)
from pipelines.retrieval.bm25 import KeywordEncoder
from pipelines.retrieval.edge import EdgeVectorStore
from pipelines.retrieval.hybrid import Fusion, reciprocal_rank_fusion
from pipelines.retrieval.qdrant_client_store import QdrantClientVectorStore

__all__ = [
    "ChunkRecord",
    "CollectionInfo",
    "CollectionMismatchError",
    "CollectionNotReadyError",
    "Distance",
    "EdgeVectorStore",
    "Fusion",
    "KeywordEncoder",
    "QdrantClientVectorStore",
    "SearchFilters",
    "SearchHit",
    "SearchMode",
    "StoreAlreadyOpenError",
    "StoreClosedError",
    "VectorStore",
    "VectorStoreError",
    "open_vector_store",
    "reciprocal_rank_fusion",
]


def open_vector_store(
    *,
    url: str | None = None,
    path: str | os.PathLike[str] | None = None,
    collection: str = "argus_chunks",
    api_key: str | None = None,
    **options: Any,
) -> VectorStore:
    """A Qdrant server when ``url`` is set (production), else the embedded store in
    ``path/collection``. Call ``ensure_collection()`` before use and ``close()`` after.
    ``options`` go to the store's constructor (search_ef, fusion, rrf_k, ...)."""
    if url:
        return QdrantClientVectorStore(url, collection=collection, api_key=api_key, **options)
    if path is None:
        raise ValueError("set url (a Qdrant server) or path (the embedded store's directory)")
    return EdgeVectorStore(Path(path) / collection, **options)
