"""Model-worker task: train a LoRA adapter of the default base model and register it.

The demo adapter is instruction-tuned on report-writing examples built from the demo
corpus generator; the training run is an audited inference of kind ``train``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from celery import shared_task
from django.conf import settings

from apps.audit.models import InferenceKind
from apps.audit.services import audited
from apps.core.logging import job_context
from apps.jobs.services import JobLeaseLost, claim_of, job_claim, job_fail, job_fenced, job_progress, job_succeed
from apps.jobs.task_base import JobTask
from apps.registry.selectors import adapter_get
from apps.registry.services import adapter_mark_failed, adapter_mark_ready
from gpu_workers.tasks.common import TRANSIENT_ERRORS, job_actor, worker_name

logger = logging.getLogger(__name__)


def report_chat_examples(*, seed: int, count: int) -> list[Any]:
    """Report-writing examples in exactly the prompt and grammar format the report task uses."""
    from fixtures.instruction_data import report_examples
    from gpu_workers.training import chat_examples

    return chat_examples(report_examples(seed=seed, count=count))


@shared_task(bind=True, base=JobTask, name="gpu_workers.tasks.adapter_train")
def adapter_train(self, job_id: str) -> dict[str, Any]:
    from gpu_workers.training import LoraTrainingConfig, train_lora_adapter

    job = job_claim(job_id=job_id, worker=worker_name(), task_id=self.request.id or "")
    if job is None:
        return {"job_id": job_id, "skipped": "job already finished"}
    claim = claim_of(job)
    params = job.params
    adapter = adapter_get(params["adapter_id"])
    with job_context(job_id):
        try:
            examples = report_chat_examples(seed=int(params.get("seed", 0)), count=int(params.get("examples", 64)))
            config = LoraTrainingConfig(
                steps=int(params.get("steps", settings.ARGUS_DEMO_ADAPTER_STEPS)),
                max_length=int(params.get("max_length", 1024)),
                seed=int(params.get("seed", 0)),
                threads=settings.ARGUS_TORCH_THREADS,
            )
            out_dir = Path(settings.ARGUS_ADAPTERS_DIR) / adapter.name / f"v{adapter.version}"

            def progress(step: int, steps: int, loss: float) -> None:
                job_progress(
                    claim=claim, progress=99 * step // max(steps, 1), message=f"step {step}/{steps}, loss {loss:.3f}"
                )

            with audited(
                kind=InferenceKind.TRAIN,
                actor=job_actor(job),
                model_name=adapter.base_model.name,
                model_version=adapter.base_model.content_hash,
                adapter_name=adapter.label,
                parameters={"method": "lora", "private": False, **config.to_dict()},
                model_input=[{"messages": e.messages, "response": e.response} for e in examples],
                input_redacted=f"{len(examples)} report-writing examples from the demo corpus generator",
                job_id=job.id,
                task_id=self.request.id or "",
            ) as call:
                report = train_lora_adapter(
                    Path(adapter.base_model.path), examples, out_dir, config=config, progress=progress
                )
                provenance = report.to_json_dict() | {
                    "job_id": str(job.id),
                    "dataset": "fixtures.instruction_data.report_examples",
                }
                call.output = {"file_hash": report.file_hash}
                call.tokens_in = report.train_tokens
                call.details = {
                    "adapter_id": adapter.pk,
                    "loss_first": report.loss_first,
                    "loss_last": report.loss_last,
                    "dataset_hash": report.dataset_hash,
                }
            # Registered only by the current attempt: a stale worker's adapter never lands.
            with job_fenced(claim):
                adapter_mark_ready(
                    adapter_id=adapter.pk,
                    path=str(out_dir),
                    file_hash=report.file_hash,
                    provenance=provenance | {"training_record": call.record.seq},
                )
                job_succeed(
                    claim=claim,
                    result={"adapter": adapter.label, "file_hash": report.file_hash, "loss_last": report.loss_last},
                    result_ref=f"registry.Adapter:{adapter.pk}",
                    message=f"Adapter {adapter.label} trained ({report.steps} steps)",
                )
        except (JobLeaseLost, *TRANSIENT_ERRORS):
            raise
        except Exception as exc:
            logger.exception("adapter training failed")
            with job_fenced(claim):
                adapter_mark_failed(adapter_id=adapter.pk, reason=f"{type(exc).__name__}: {exc}")
                job_fail(claim=claim, error=f"{type(exc).__name__}: {exc}")
            raise
    return {"job_id": job_id, "adapter": adapter.label}
