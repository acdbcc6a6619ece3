from __future__ import annotations

import pytest

from apps.jobs.models import Job, JobKind, JobStatus
from apps.jobs.services import embedding_job_create, job_claim, job_fail, job_progress, job_succeed

pytestmark = pytest.mark.django_db


def test_job_is_enqueued_only_after_commit(analyst, django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr("apps.jobs.services.celery_app.send_task", lambda name, **kw: sent.append((name, kw)))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = embedding_job_create(owner=analyst, texts=["a"])
        assert sent == []
    for callback in callbacks:
        callback()
    assert sent == [("gpu_workers.tasks.embed_texts", {"args": [str(job.id)], "task_id": str(job.id)})]
    assert job.status == JobStatus.QUEUED and job.actor_label == f"user:{analyst.username}"


def test_claim_progress_succeed_lifecycle(analyst):
    job = Job.objects.create(kind=JobKind.EMBED, owner=analyst, actor_label="user:x")
    claimed = job_claim(job_id=job.id, worker="host:1")
    assert claimed is not None and claimed.status == JobStatus.RUNNING and claimed.attempts == 1
    job_progress(job_id=job.id, progress=150, message="almost")
    job.refresh_from_db()
    assert job.progress == 99, "only job_succeed may say 100"
    assert job_succeed(job_id=job.id, result={"n": 1}) is True
    job.refresh_from_db()
    assert (job.status, job.progress, job.result) == (JobStatus.SUCCEEDED, 100, {"n": 1})
    assert job.finished_at is not None


def test_redelivery_reclaims_a_running_job_but_never_a_finished_one(analyst):
    job = Job.objects.create(kind=JobKind.EMBED, owner=analyst, actor_label="user:x")
    assert job_claim(job_id=job.id, worker="host:1") is not None
    again = job_claim(job_id=job.id, worker="host:2")
    assert again is not None and again.attempts == 2 and again.worker == "host:2"
    job_succeed(job_id=job.id, result={})
    assert job_claim(job_id=job.id, worker="host:3") is None
    assert job_succeed(job_id=job.id, result={"late": True}) is False
    job.refresh_from_db()
    assert job.result == {} and job.attempts == 2


def test_failed_job_keeps_its_error_and_ignores_progress(analyst):
    job = Job.objects.create(kind=JobKind.EMBED, owner=analyst, actor_label="user:x")
    job_claim(job_id=job.id, worker="host:1")
    job_fail(job_id=job.id, error="ValueError: bad input")
    job_progress(job_id=job.id, progress=50)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error == "ValueError: bad input" and job.progress == 0
