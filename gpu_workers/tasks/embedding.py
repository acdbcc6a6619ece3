"""Model-worker tasks: health and text embeddings."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.urls import reverse

from apps.audit.models import InferenceKind
from apps.audit.services import audited
from apps.core.logging import job_context
from apps.jobs.artifacts import VECTOR_PREVIEW_VALUES, job_vectors_save
from apps.jobs.services import claim_of, job_claim, job_fail, job_progress, job_succeed
from apps.jobs.task_base import JobTask
from gpu_workers.runtime import configure_torch_threads, model_cache
from gpu_workers.tasks.common import (
    TRANSIENT_ERRORS,
    embedding_engine,
    embedding_parameters,
    job_actor,
    worker_name,
)

logger = logging.getLogger(__name__)


@shared_task(name="gpu_workers.tasks.health")
def health() -> dict[str, Any]:
    """Which device and threads this model worker runs with, and what it has loaded."""
    import torch
    from django.conf import settings

    # Threads are pinned when an engine loads; before that a fresh worker would report (and run
    # with) torch's default of one per core. Pin them here too, so the answer is what it runs with.
    configure_torch_threads(settings.ARGUS_TORCH_THREADS)
    return {
        "worker": worker_name(),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "loaded_models": model_cache.loaded(),
    }


@shared_task(bind=True, base=JobTask, name="gpu_workers.tasks.embed_texts")
def embed_texts(self, job_id: str) -> dict[str, Any]:
    job = job_claim(job_id=job_id, worker=worker_name(), task_id=self.request.id or "")
    if job is None:
        return {"job_id": job_id, "skipped": "job already finished"}
    claim = claim_of(job)
    with job_context(job_id):
        try:
            engine = embedding_engine()
            texts = engine.decode(job.params.get("texts", []))
            job_progress(claim=claim, progress=1, message=f"Embedding {len(texts)} texts")

            def report(done: int, total: int) -> None:
                job_progress(claim=claim, progress=int(99 * done / max(total, 1)), message=f"{done}/{total} texts")

            with audited(
                kind=InferenceKind.EMBED,
                actor=job_actor(job),
                model_name=engine.model_name,
                model_version=engine.model_version,
                parameters=embedding_parameters(engine),
                model_input=texts,
                job_id=job.id,
                task_id=self.request.id or "",
            ) as call:
                batch = engine.predict(texts, progress=report)
                call.output = batch.vectors
                call.tokens_in = batch.tokens
                call.details = {
                    "count": len(texts),
                    "dimensions": engine.dimensions,
                    "threads": getattr(engine, "last_threads", None),
                }
            vectors = engine.encode(batch)
            # The vectors go to storage, not into the job row that every list and poll reads.
            job_vectors_save(job_id=job.id, vectors=vectors)
            result = {
                "model": engine.model_name,
                "model_version": engine.model_version,
                "dimensions": engine.dimensions,
                "count": len(texts),
                "inference_record": call.record.seq if call.record else None,
                "preview": vectors[0][:VECTOR_PREVIEW_VALUES] if vectors else [],
                "vectors_url": reverse("api-job-vectors", args=[job.id]),
            }
        except TRANSIENT_ERRORS:
            raise
        except Exception as exc:
            logger.exception("embedding job failed")
            job_fail(claim=claim, error=f"{type(exc).__name__}: {exc}")
            raise
        job_succeed(claim=claim, result=result, message=f"Embedded {len(texts)} texts")
        return {"job_id": job_id, "count": len(texts)}
