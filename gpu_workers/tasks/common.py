"""What every model-queue task shares: retry policy, worker identity, the engines of this process."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from apps.audit.services import Actor
from apps.jobs.models import Job
from apps.jobs.retry import RETRY_POLICY, TRANSIENT_ERRORS
from apps.jobs.services import worker_name
from gpu_workers.embedding import SentenceEmbedder
from gpu_workers.runtime import model_cache

__all__ = ["RETRY_POLICY", "TRANSIENT_ERRORS", "embedding_engine", "job_actor", "vector_store", "worker_name"]


def embedding_engine() -> SentenceEmbedder:
    def load() -> SentenceEmbedder:
        engine = SentenceEmbedder(
            settings.ARGUS_EMBEDDING_MODEL_PATH or None,
            device=settings.ARGUS_DEVICE,
            threads=settings.ARGUS_TORCH_THREADS,
            batch_size=settings.ARGUS_EMBEDDING_BATCH_SIZE,
        )
        engine.setup()
        return engine

    return model_cache.get("embedding", load)


def job_actor(job: Job) -> Actor:
    return Actor.for_user(job.owner) if job.owner else Actor(label=job.actor_label)


def vector_store() -> Any:
    """The vector store this process owns: a Qdrant server (``QDRANT_URL``) or the embedded store.

    Embedded stores allow one process per directory, which is why only the
    single-process models worker opens it (never the web process).
    """

    def load() -> Any:
        from pipelines.retrieval import open_vector_store

        store = open_vector_store(
            url=settings.QDRANT_URL or None,
            path=settings.QDRANT_PATH,
            collection=settings.ARGUS_QDRANT_COLLECTION,
            api_key=settings.QDRANT_API_KEY or None,
        )
        store.ensure_collection(embedding_engine().dimensions)
        return store

    return model_cache.get("vector_store", load)
