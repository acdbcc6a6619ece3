"""Training-queue task: fine-tune the finance sentiment classifier on the shared tweets and register it.

The training run is one audited inference of kind ``train`` (dataset hash, split and configuration
in the record); the registry row and ``active.json`` are written only after it succeeded.
``manage.py train_sentiment`` runs the same function in its own process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from celery import shared_task
from django.conf import settings

from apps.audit.models import InferenceKind
from apps.audit.services import Actor, audited
from apps.core.logging import job_context
from apps.jobs.services import JobLeaseLost, claim_of, job_claim, job_fail, job_fenced, job_progress, job_succeed
from apps.jobs.task_base import JobTask
from apps.registry.selectors import text_classifier_get
from apps.registry.services import text_classifier_mark_failed, text_classifier_register
from gpu_workers.tasks.common import TRANSIENT_ERRORS, job_actor, worker_name

logger = logging.getLogger(__name__)

ENCODER_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def training_config(params: dict[str, Any]) -> Any:
    """A ``SentimentTrainingConfig`` from job or command parameters (unknown keys are ignored)."""
    from pipelines.sentiment.training import SentimentTrainingConfig

    known = SentimentTrainingConfig.__dataclass_fields__
    values = {k: v for k, v in params.items() if k in known and v is not None}
    values.setdefault("threads", settings.ARGUS_TORCH_THREADS)
    return SentimentTrainingConfig(**values)


def sentiment_train_and_register(
    *,
    classifier_id: int,
    actor: Actor,
    params: dict[str, Any],
    shared_data: Path | None = None,
    models_dir: Path | None = None,
    job_id: Any = None,
    task_id: str = "",
    progress: Callable[[int, int, float], None] | None = None,
    register: Callable[[Callable[[], Any]], Any] | None = None,
) -> dict[str, Any]:
    """Train version ``classifier_id`` (audited), then register it; the row is marked failed on error.

    ``register`` wraps the registration (a job's fence, so only the current attempt registers).
    """
    from pipelines.sentiment.data import load_tweet_split
    from pipelines.sentiment.training import train_and_save

    classifier = text_classifier_get(classifier_id)
    shared = Path(shared_data or settings.ARGUS_SHARED_DATA)
    models = Path(models_dir or settings.ARGUS_MODELS_DIR)
    try:
        config = training_config(params)
        split = load_tweet_split(shared)
        if params.get("limit"):
            # A quick run on the first rows of each side (smoke tests, demos); the split stays the same.
            limit = int(params["limit"])
            split = type(split)(
                train=split.train[:limit], held_out=split.held_out[: max(limit // 4, 1)], description=split.description
            )
        with audited(
            kind=InferenceKind.TRAIN,
            actor=actor,
            model_name=ENCODER_NAME,
            adapter_name=classifier.label,
            parameters={"method": "full-finetune", "task": "sentiment", **config.to_dict()},
            model_input={"dataset_sha256": split.description.dataset_sha256, "split": split.description.to_dict()},
            input_redacted=split.description.describe(),
            job_id=job_id,
            task_id=task_id,
        ) as call:
            report = train_and_save(
                models_dir=models, version=f"v{classifier.version}", split=split, config=config, progress=progress
            )
            call.output = {"content_hash": report.content_hash, "metrics": report.metrics()}
            call.details = {
                "classifier_id": classifier.pk,
                "held_out_macro_f1": report.held_out["macro_f1"],
                "held_out_accuracy": report.held_out["accuracy"],
                "dataset_sha256": report.dataset_sha256,
            }
        provenance = report.provenance() | {
            "job_id": str(job_id or ""),
            "dataset": "shared/data/twitter_financial_news_sentiment/sent_train.csv",
            "training_record": call.record.seq,
        }

        def do_register() -> Any:
            return text_classifier_register(
                classifier_id=classifier.pk,
                path=str(report.path),
                content_hash=report.content_hash,
                base_encoder_hash=report.encoder_hash,
                metrics=report.metrics(),
                provenance=provenance,
                models_dir=models,
            )

        registered = register(do_register) if register else do_register()
    except (JobLeaseLost, *TRANSIENT_ERRORS):
        raise
    except Exception as exc:
        text_classifier_mark_failed(classifier_id=classifier.pk, reason=f"{type(exc).__name__}: {exc}")
        raise
    return {
        "classifier": registered.label,
        "path": str(report.path),
        "content_hash": report.content_hash,
        "held_out_macro_f1": report.held_out["macro_f1"],
        "held_out_accuracy": report.held_out["accuracy"],
        "train_seconds": round(report.seconds, 1),
    }


@shared_task(bind=True, base=JobTask, name="gpu_workers.tasks.sentiment_train")
def sentiment_train(self, job_id: str) -> dict[str, Any]:
    job = job_claim(job_id=job_id, worker=worker_name(), task_id=self.request.id or "")
    if job is None:
        return {"job_id": job_id, "skipped": "job already finished"}
    claim = claim_of(job)
    params = dict(job.params)
    with job_context(job_id):

        def progress(step: int, steps: int, loss: float) -> None:
            if step % 10 == 0 or step == steps:
                job_progress(
                    claim=claim, progress=99 * step // max(steps, 1), message=f"step {step}/{steps}, loss {loss:.3f}"
                )

        def fenced_register(register: Callable[[], Any]) -> Any:
            # Registered only by the current attempt: a stale worker's classifier never lands.
            with job_fenced(claim):
                return register()

        try:
            outcome = sentiment_train_and_register(
                classifier_id=int(params["classifier_id"]),
                actor=job_actor(job),
                params=params,
                job_id=job.id,
                task_id=self.request.id or "",
                progress=progress,
                register=fenced_register,
            )
        except (JobLeaseLost, *TRANSIENT_ERRORS):
            raise
        except Exception as exc:
            logger.exception("sentiment classifier training failed")
            with job_fenced(claim):
                job_fail(claim=claim, error=f"{type(exc).__name__}: {exc}")
            raise
        with job_fenced(claim):
            job_succeed(
                claim=claim,
                result=outcome,
                result_ref=f"registry.TextClassifier:{params['classifier_id']}",
                message=(
                    f"Sentiment classifier {outcome['classifier']} trained: held-out macro-F1 "
                    f"{outcome['held_out_macro_f1']:.3f}"
                ),
            )
    return {"job_id": job_id, **outcome}
