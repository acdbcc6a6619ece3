"""Writes to jobs. Tasks call these to claim a job and report on it."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.jobs.models import ACTIVE_STATUSES, Job, JobKind, JobStatus
from config.celery import app as celery_app
from config.celery import call_models_task


def job_create(
    *,
    kind: JobKind,
    owner: Any | None,
    params: dict[str, Any],
    task_name: str,
    actor_label: str = "",
    message: str = "Waiting for a worker",
) -> Job:
    """Create a job and enqueue its task once the surrounding transaction commits.

    Enqueued by task name so the web process never imports model code.
    """
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            owner=owner,
            actor_label=actor_label or (f"user:{owner.get_username()}" if owner else "system"),
            params=params,
            message=message,
        )
        job.celery_task_id = str(job.id)
        job.save(update_fields=["celery_task_id"])
        transaction.on_commit(lambda: enqueue(task_name, args=[str(job.id)], task_id=str(job.id)))
    return job


def enqueue(task_name: str, *, args: list[Any], task_id: str | None = None) -> None:
    """Send a task by name; with ``CELERY_TASK_ALWAYS_EAGER`` (unit tests) run it here instead."""
    if celery_app.conf.task_always_eager:
        celery_app.loader.import_default_modules()
        celery_app.tasks[task_name].apply(args=args, task_id=task_id)
        return
    celery_app.send_task(task_name, args=args, task_id=task_id)


def models_call(task_name: str, *, kwargs: dict[str, Any], timeout: float) -> Any:
    """Run a short task on the model worker and wait for its answer (see ``config.celery.call_models_task``)."""
    return call_models_task(task_name, kwargs=kwargs, timeout=timeout)


def job_claim(*, job_id: uuid.UUID | str, worker: str) -> Job | None:
    """Mark a job running for this attempt; None when it already finished.

    A redelivered message (worker killed, retry) finds the job still running and
    claims it again; a duplicate delivery of a finished job does nothing.
    """
    updated = Job.objects.filter(pk=job_id, status__in=ACTIVE_STATUSES).update(
        status=JobStatus.RUNNING,
        attempts=F("attempts") + 1,
        worker=worker,
        started_at=timezone.now(),
        message="Running",
        updated_at=timezone.now(),
    )
    if updated != 1:
        return None
    return Job.objects.select_related("owner").get(pk=job_id)


def job_progress(*, job_id: uuid.UUID | str, progress: int, message: str = "") -> None:
    progress = max(0, min(99, int(progress)))  # 100 means done, and only job_succeed says that
    Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
        progress=progress, message=message[:500], updated_at=timezone.now()
    )


def job_succeed(
    *, job_id: uuid.UUID | str, result: dict[str, Any] | None = None, result_ref: str = "", message: str = "Done"
) -> bool:
    """Finish a running job. False when it was not running (already finished elsewhere)."""
    now = timezone.now()
    updated = Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
        status=JobStatus.SUCCEEDED,
        progress=100,
        message=message[:500],
        result=result,
        result_ref=result_ref,
        finished_at=now,
        updated_at=now,
    )
    return updated == 1


def job_fail(*, job_id: uuid.UUID | str, error: str) -> None:
    now = timezone.now()
    Job.objects.filter(pk=job_id, status__in=ACTIVE_STATUSES).update(
        status=JobStatus.FAILED, error=error[:10_000], message="Failed", finished_at=now, updated_at=now
    )


def embedding_job_create(*, owner: Any, texts: list[str]) -> Job:
    return job_create(
        kind=JobKind.EMBED, owner=owner, params={"texts": texts}, task_name="gpu_workers.tasks.embed_texts"
    )
