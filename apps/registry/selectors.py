"""Reads of the model registry."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.registry.models import Adapter, AdapterStatus, BaseModel, TextClassifier, TextClassifierStatus


def base_model_default() -> BaseModel | None:
    return BaseModel.objects.filter(is_default=True).first()


def adapter_ready_list(base_model: BaseModel | None = None) -> QuerySet[Adapter]:
    adapters = Adapter.objects.select_related("base_model").filter(status=AdapterStatus.READY)
    return adapters.filter(base_model=base_model) if base_model else adapters


def adapter_latest_ready(name: str, base_model: BaseModel | None = None) -> Adapter | None:
    """The newest ready version of the adapter ``name`` (what a request naming it gets)."""
    return adapter_ready_list(base_model).filter(name=name).order_by("-version").first()


def adapter_training_pending(name: str) -> bool:
    """Whether a version of the adapter ``name`` is being trained (set-up queues the demo adapter's)."""
    return Adapter.objects.filter(name=name, status=AdapterStatus.TRAINING).exists()


def adapter_names_ready(base_model: BaseModel | None = None) -> list[str]:
    return sorted(set(adapter_ready_list(base_model).values_list("name", flat=True)))


def adapter_get(adapter_id: int) -> Adapter:
    """An adapter row with its base model (a training job's target)."""
    return Adapter.objects.select_related("base_model").get(pk=adapter_id)


def adapter_with_hash(*, name: str, version: str, file_hash: str) -> Adapter | None:
    """The registered adapter of that name and version whose files hash to ``file_hash`` (replay)."""
    return Adapter.objects.filter(name=name, version=version, file_hash=file_hash).first()


def text_classifier_get(classifier_id: int) -> TextClassifier:
    return TextClassifier.objects.get(pk=classifier_id)


def text_classifier_latest(*, task: str = "sentiment", name: str | None = None) -> TextClassifier | None:
    """The newest ready classifier of a task (the one ``active.json`` points at after registration)."""
    rows = TextClassifier.objects.filter(task=task, status=TextClassifierStatus.READY)
    if name:
        rows = rows.filter(name=name)
    return rows.order_by("-created_at", "-version").first()


def text_classifier_in_training(*, task: str = "sentiment") -> TextClassifier | None:
    return TextClassifier.objects.filter(task=task, status=TextClassifierStatus.TRAINING).order_by("-version").first()
