"""The model registry: which base models and LoRA adapters the model workers may load.

A worker loads a checkpoint or an adapter only when its content hash matches the
row here, and every inference records the hashes it ran with.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class BaseModel(models.Model):
    """A causal language model checkpoint (a Hugging Face model directory)."""

    name = models.CharField(max_length=200, unique=True)
    # Where the weights came from: a package and file, or a directory given at registration.
    source = models.CharField(max_length=500)
    path = models.CharField(max_length=1000)
    content_hash = models.CharField(max_length=64)
    architecture = models.CharField(max_length=200, blank=True)
    dtype = models.CharField(max_length=20, blank=True)
    context_length = models.PositiveIntegerField(default=0)
    parameter_count = models.PositiveBigIntegerField(null=True, blank=True)
    # The model reports and answers use unless a request names another.
    is_default = models.BooleanField(default=False)
    registered_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="one_default_base_model"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.content_hash[:12]})"


class AdapterStatus(models.TextChoices):
    TRAINING = "training", "Training"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"
    RETIRED = "retired", "Retired"


class Adapter(models.Model):
    """A LoRA adapter of one base model; requests select it by name (the newest ready version)."""

    name = models.CharField(max_length=100)
    version = models.PositiveIntegerField()
    base_model = models.ForeignKey(BaseModel, on_delete=models.PROTECT, related_name="adapters")
    path = models.CharField(max_length=1000, blank=True)
    file_hash = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=20, choices=AdapterStatus.choices, default=AdapterStatus.TRAINING)
    description = models.CharField(max_length=500, blank=True)
    # How it was made: training job, dataset hash, configuration, losses, privacy budget.
    provenance = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="adapter_unique_version")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"


class TextClassifierStatus(models.TextChoices):
    TRAINING = "training", "Training"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"
    RETIRED = "retired", "Retired"


class TextClassifier(models.Model):
    """A fine-tuned sentence classifier (sentiment first); the newest ready version of a task serves.

    ``pipelines.sentiment.classify`` cannot read this table: registering a version also writes
    ``<ARGUS_MODELS_DIR>/sentiment/active.json`` (path, version, content hash), which it reads and
    checks against the files before loading them.
    """

    name = models.CharField(max_length=100)
    task = models.CharField(max_length=50, default="sentiment")
    version = models.PositiveIntegerField()
    path = models.CharField(max_length=1000, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    # The encoder it was fine-tuned from (all-MiniLM-L6-v2's directory hash).
    base_encoder_hash = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        max_length=20, choices=TextClassifierStatus.choices, default=TextClassifierStatus.TRAINING
    )
    # Held-out and validation accuracy, macro-F1, per-class F1.
    metrics = models.JSONField(default=dict, blank=True)
    # How it was made: dataset hash, split description, training configuration, steps, threads, job.
    provenance = models.JSONField(default=dict, blank=True)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["task", "name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["task", "name", "version"], name="text_classifier_unique_version")
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version} ({self.task})"

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"
