from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class JobKind(models.TextChoices):
    EMBED = "embed", "Embed texts"
    INGEST = "ingest", "Ingest documents"
    REINDEX = "reindex", "Re-index document"
    DELETE = "delete", "Delete document"
    REPORT = "report", "Research report"
    RISK_SCAN = "risk_scan", "Risk scan"
    TRAIN = "train", "Fine-tune adapter"
    ANSWER = "answer", "Answer a question"
    REPLAY = "replay", "Replay an inference"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
FINISHED_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class Job(models.Model):
    """A user-visible piece of work run by a Celery task; tasks report progress into it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=20, choices=JobKind.choices, db_index=True)
    # Null for scheduled jobs, which name themselves in actor_label.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="jobs"
    )
    actor_label = models.CharField(max_length=200)
    status = models.CharField(max_length=12, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    # "app_label.Model:pk" of the row the job produced, when it produced one.
    result_ref = models.CharField(max_length=200, blank=True)
    celery_task_id = models.CharField(max_length=255, blank=True)
    # The task that starts (or restarts) the job: the reaper re-sends it when a lease runs out.
    task_name = models.CharField(max_length=200, blank=True)
    # The attempt number: every claim increments it, and every later write names it (fencing).
    attempts = models.PositiveSmallIntegerField(default=0)
    # Who holds the current attempt: "host:pid" and the Celery task id.
    worker = models.CharField(max_length=255, blank=True)
    worker_task_id = models.CharField(max_length=255, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="job_progress_at_most_100"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES
