from __future__ import annotations

import numpy as np
import pytest

from gpu_workers.embedding import SentenceEmbedder
from gpu_workers.runtime import ProcessModelCache


@pytest.fixture(scope="module")
def embedder():
    engine = SentenceEmbedder(threads=1, batch_size=4)
    engine.setup()
    return engine


def test_packaged_model_embeds_on_cpu_with_normalised_vectors(embedder):
    texts = ["Revenue rose 12% on strong demand.", "Sales increased twelve percent.", "The CEO resigned."]
    progress = []
    batch = embedder.predict(embedder.decode(texts), progress=lambda done, total: progress.append((done, total)))
    assert embedder.device == "cpu" and embedder.dimensions == 384
    assert batch.vectors.shape == (3, 384) and batch.vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(batch.vectors, axis=1), 1.0, atol=1e-4)
    similar, unrelated = batch.vectors[0] @ batch.vectors[1], batch.vectors[0] @ batch.vectors[2]
    assert similar > unrelated + 0.2
    assert progress == [(3, 3)]
    assert batch.tokens > 10
    assert len(embedder.model_version) == 16


def test_batches_report_progress_and_match_one_by_one(embedder):
    texts = [f"Quarter {i}: margin {20 + i}%" for i in range(10)]
    progress = []
    batched = embedder.predict(texts, progress=lambda done, total: progress.append(done)).vectors
    single = np.concatenate([embedder.predict([t]).vectors for t in texts])
    assert progress == [4, 8, 10]
    assert np.allclose(batched, single, atol=1e-5)


def test_model_cache_loads_once_per_process():
    cache = ProcessModelCache()
    loads = []
    first = cache.get("m", lambda: loads.append(1) or object())
    second = cache.get("m", lambda: loads.append(1) or object())
    assert first is second and loads == [1] and cache.loaded() == ["m"]
