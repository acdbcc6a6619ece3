"""Writes to the model registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from apps.registry.models import Adapter, AdapterStatus, BaseModel, TextClassifier, TextClassifierStatus


class RegistryError(Exception):
    """A registration that cannot be accepted (hash mismatch, unknown base model)."""


def base_model_register(
    *,
    name: str,
    path: str,
    source: str,
    content_hash: str,
    architecture: str = "",
    dtype: str = "",
    context_length: int = 0,
    parameter_count: int | None = None,
    make_default: bool = False,
    registered_by: str = "",
) -> BaseModel:
    """Register (or update) a base model; the default flag moves atomically."""
    with transaction.atomic():
        model, _ = BaseModel.objects.update_or_create(
            name=name,
            defaults={
                "path": path,
                "source": source,
                "content_hash": content_hash,
                "architecture": architecture,
                "dtype": dtype,
                "context_length": context_length,
                "parameter_count": parameter_count,
                "registered_by": registered_by,
            },
        )
        if make_default or not BaseModel.objects.filter(is_default=True).exclude(pk=model.pk).exists():
            BaseModel.objects.filter(is_default=True).exclude(pk=model.pk).update(is_default=False)
            if not model.is_default:
                model.is_default = True
                model.save(update_fields=["is_default"])
    return model


def adapter_create_training(
    *, name: str, base_model: BaseModel, description: str = "", created_by: Any = None, job: Any = None
) -> Adapter:
    """A new version of ``name`` in status ``training``; the training task fills it in."""
    with transaction.atomic():
        latest = Adapter.objects.select_for_update().filter(name=name).aggregate(v=Max("version"))["v"] or 0
        return Adapter.objects.create(
            name=name,
            version=latest + 1,
            base_model=base_model,
            description=description,
            created_by=created_by,
            job=job,
            status=AdapterStatus.TRAINING,
        )


def adapter_mark_ready(*, adapter_id: int, path: str, file_hash: str, provenance: dict[str, Any]) -> Adapter:
    adapter = Adapter.objects.get(pk=adapter_id)
    adapter.path, adapter.file_hash, adapter.provenance = path, file_hash, provenance
    adapter.status = AdapterStatus.READY
    adapter.save(update_fields=["path", "file_hash", "provenance", "status", "updated_at"])
    return adapter


def adapter_mark_failed(*, adapter_id: int, reason: str) -> None:
    adapter = Adapter.objects.get(pk=adapter_id)
    adapter.status = AdapterStatus.FAILED
    adapter.provenance = {**adapter.provenance, "failure": reason[:2000]}
    adapter.save(update_fields=["status", "provenance", "updated_at"])


def adapter_register(
    *,
    name: str,
    base_model: BaseModel,
    path: str,
    file_hash: str,
    provenance: dict[str, Any],
    description: str = "",
    created_by: Any = None,
) -> Adapter:
    """Register an adapter trained elsewhere as the next version of ``name``, ready to serve."""
    adapter = adapter_create_training(name=name, base_model=base_model, description=description, created_by=created_by)
    return adapter_mark_ready(adapter_id=adapter.pk, path=path, file_hash=file_hash, provenance=provenance)


TRAIN_TASK = "gpu_workers.tasks.adapter_train"
DEMO_ADAPTER_NAME = "argus-report-writer"


def adapter_training_job_create(
    *,
    name: str,
    base_model: BaseModel,
    steps: int,
    examples: int = 64,
    seed: int = 0,
    description: str = "",
    owner: Any = None,
    actor_label: str = "",
) -> Adapter:
    """A new adapter version in training, and the models-queue job that trains it."""
    from apps.jobs.models import JobKind
    from apps.jobs.services import job_create

    with transaction.atomic():
        adapter = adapter_create_training(name=name, base_model=base_model, description=description, created_by=owner)
        job = job_create(
            kind=JobKind.TRAIN,
            owner=owner,
            actor_label=actor_label,
            params={"adapter_id": adapter.pk, "steps": steps, "examples": examples, "seed": seed},
            task_name=TRAIN_TASK,
            message=f"Waiting for a model worker to train {adapter.label}",
        )
        adapter.job = job
        adapter.save(update_fields=["job"])
    return adapter


SENTIMENT_CLASSIFIER_NAME = "argus-finance-sentiment"
SENTIMENT_TRAIN_TASK = "gpu_workers.tasks.sentiment_train"


def text_classifier_create_training(*, name: str, task: str = "sentiment", job: Any = None) -> TextClassifier:
    """The next version of ``name`` in status ``training``; its directory is ``<task>/v<version>``."""
    with transaction.atomic():
        latest = (
            TextClassifier.objects.select_for_update().filter(task=task, name=name).aggregate(v=Max("version"))["v"]
            or 0
        )
        return TextClassifier.objects.create(
            name=name, task=task, version=latest + 1, job=job, status=TextClassifierStatus.TRAINING
        )


def text_classifier_register(
    *,
    classifier_id: int,
    path: str,
    content_hash: str,
    base_encoder_hash: str,
    metrics: dict[str, Any],
    provenance: dict[str, Any],
    models_dir: Path | None = None,
) -> TextClassifier:
    """Mark a trained version ready and make it the one ``pipelines.sentiment.classify`` serves.

    The pointer file (``active.json``) is written once the row is committed, so a rolled-back
    registration never points the pipelines at a model the registry does not know.
    """
    from pipelines.sentiment.artifacts import ActiveClassifier, write_active_pointer

    with transaction.atomic():
        classifier = TextClassifier.objects.select_for_update().get(pk=classifier_id)
        classifier.path, classifier.content_hash = path, content_hash
        classifier.base_encoder_hash = base_encoder_hash
        classifier.metrics, classifier.provenance = metrics, provenance
        classifier.status = TextClassifierStatus.READY
        classifier.save()
        active = ActiveClassifier(
            name=classifier.name, version=str(classifier.version), path=path, content_hash=content_hash
        )
        target_dir = Path(models_dir or settings.ARGUS_MODELS_DIR)
        transaction.on_commit(lambda: write_active_pointer(target_dir, active))
    return classifier


def text_classifier_mark_failed(*, classifier_id: int, reason: str) -> None:
    classifier = TextClassifier.objects.get(pk=classifier_id)
    classifier.status = TextClassifierStatus.FAILED
    classifier.provenance = {**classifier.provenance, "failure": reason[:2000]}
    classifier.save(update_fields=["status", "provenance", "updated_at"])


def sentiment_training_job_create(
    *, params: dict[str, Any], name: str = SENTIMENT_CLASSIFIER_NAME, actor_label: str = ""
) -> TextClassifier:
    """A new sentiment classifier version in training, and the training-queue job that trains it."""
    from apps.jobs.models import JobKind
    from apps.jobs.services import job_create

    with transaction.atomic():
        classifier = text_classifier_create_training(name=name, task="sentiment")
        job = job_create(
            kind=JobKind.TRAIN,
            owner=None,
            actor_label=actor_label or "system",
            params={**params, "classifier_id": classifier.pk},
            task_name=SENTIMENT_TRAIN_TASK,
            message=f"Waiting for the training worker to train sentiment classifier {classifier.label}",
        )
        classifier.job = job
        classifier.save(update_fields=["job"])
    return classifier
