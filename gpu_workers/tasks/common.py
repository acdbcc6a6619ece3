"""What every model-queue task shares: transient errors, worker identity, the engines of this process."""

from __future__ import annotations

from typing import Any

from celery.signals import celeryd_after_setup
from django.conf import settings

from apps.audit.services import Actor
from apps.jobs.models import Job
from apps.jobs.retry import TRANSIENT_ERRORS
from apps.jobs.services import worker_name
from gpu_workers.embedding import SentenceEmbedder, load_sentence_embedder
from gpu_workers.runtime import EmbeddingThreadPolicy, model_cache

__all__ = [
    "TRANSIENT_ERRORS",
    "RemoteVectorStore",
    "embedding_engine",
    "embedding_parameters",
    "job_actor",
    "opens_vector_store",
    "vector_store",
    "worker_name",
]


def embedding_engine() -> SentenceEmbedder:
    """This process's embedding engine: ONNX Runtime or torch (``ARGUS_EMBEDDING_BACKEND``), same hooks."""

    def load() -> SentenceEmbedder:
        policy = EmbeddingThreadPolicy(
            threads=settings.ARGUS_EMBEDDING_THREADS,
            bulk_threads=settings.ARGUS_EMBEDDING_BULK_THREADS,
            idle_load=settings.ARGUS_EMBEDDING_IDLE_LOAD,
        )
        return load_sentence_embedder(
            backend=settings.ARGUS_EMBEDDING_BACKEND,
            model_path=settings.ARGUS_EMBEDDING_MODEL_PATH or None,
            onnx_dir=settings.ARGUS_EMBEDDING_ONNX_DIR,
            device=settings.ARGUS_DEVICE,
            threads=settings.ARGUS_EMBEDDING_THREADS,
            batch_size=settings.ARGUS_EMBEDDING_BATCH_SIZE,
            thread_policy=policy,
        )

    return model_cache.get("embedding", load)


def embedding_parameters(engine: Any, **extra: Any) -> dict[str, Any]:
    """What an audit record of an embedding call says about the engine (its hash is the model version)."""
    return {
        "batch_size": engine.batch_size,
        "normalize": True,
        "device": engine.device,
        # getattr: an engine written against the older hooks (a test double) has neither.
        "backend": getattr(engine, "backend", "torch"),
        "precision": getattr(engine, "precision", "fp32"),
    } | extra


def job_actor(job: Job) -> Actor:
    return Actor.for_user(job.owner) if job.owner else Actor(label=job.actor_label)


# Embedded stores allow one process per directory: the interactive worker owns it, and the
# other model workers (batch, training) reach it through the interactive queue. With a Qdrant
# server every worker opens it directly.
_process_role = {"owns_embedded_store": True}


@celeryd_after_setup.connect
def _note_store_owner(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A worker that does not consume the interactive queue must not open the embedded store."""
    from config.celery import CeleryQueue

    consumed = instance.app.amqp.queues.consume_from or instance.app.amqp.queues
    _process_role["owns_embedded_store"] = CeleryQueue.INTERACTIVE.value in set(consumed)


def opens_vector_store() -> bool:
    """Whether this process opens the vector store itself (a server, or it owns the embedded one)."""
    return bool(settings.QDRANT_URL) or _process_role["owns_embedded_store"]


def vector_store() -> Any:
    """The vector store this process uses: a Qdrant server (``QDRANT_URL``), the embedded store
    it owns, or (batch workers in embedded mode) the owner's store through the interactive queue.
    """
    if not opens_vector_store():
        return model_cache.get("vector_store_remote", RemoteVectorStore)

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


class RemoteVectorStore:
    """The writes a batch worker makes to the embedded store, sent to the worker that owns it.

    Each call is a short task on the interactive queue (an upsert of one embedding batch, a
    delete, an index build), so searches are answered between them.
    """

    timeout = 600.0

    def replace_document(self, document_id: str, records: list[Any], *, optimize: bool = False) -> int:
        from config.celery import call_models_task

        return call_models_task(
            "gpu_workers.tasks.store_replace_document",
            kwargs={"document_id": document_id, "records": [record_to_dict(r) for r in records]},
            timeout=self.timeout,
        )

    def delete_by_document(self, document_id: str) -> int:
        from config.celery import call_models_task

        return call_models_task(
            "gpu_workers.tasks.store_delete_document", kwargs={"document_id": document_id}, timeout=self.timeout
        )

    def optimize(self) -> None:
        from config.celery import call_models_task

        call_models_task("gpu_workers.tasks.store_optimize", kwargs={}, timeout=self.timeout)


def record_to_dict(record: Any) -> dict[str, Any]:
    from dataclasses import asdict

    data = asdict(record)
    data["vector"] = [float(x) for x in record.vector]
    data["published_at"] = record.published_at.isoformat() if record.published_at else None
    return data


def record_from_dict(data: dict[str, Any]) -> Any:
    import datetime as dt

    from pipelines.retrieval import ChunkRecord

    published = data.get("published_at")
    return ChunkRecord(**(data | {"published_at": dt.date.fromisoformat(published[:10]) if published else None}))
