"""A worker process killed mid-job: the job is redelivered and completes exactly once."""

from __future__ import annotations

import os
import signal

import pytest

from apps.audit.models import InferenceRecord, InferenceStatus
from apps.audit.selectors import audit_chain_verify
from apps.jobs.models import Job, JobStatus
from apps.jobs.selectors import job_embedding_vectors
from apps.jobs.services import embedding_job_create
from tests.worker import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SENTENCE = (
    "In the fourth quarter the company reported revenue of {n} million dollars, a gross margin of {m} percent, "
    "net debt to EBITDA of {r} times, and reaffirmed guidance while flagging liquidity risk in its European unit. "
)


def test_job_survives_sigkill_of_its_worker_process(celery_worker_process, analyst):
    # Long enough texts that the job runs for several seconds on one CPU thread.
    texts = [SENTENCE.format(n=100 + i, m=30 + i % 20, r=1 + i % 5) * 4 for i in range(400)]
    job = embedding_job_create(owner=analyst, texts=texts)

    def running_midway():
        current = Job.objects.get(pk=job.id)
        assert current.status not in {JobStatus.SUCCEEDED, JobStatus.FAILED}, "job finished before it could be killed"
        return current if current.status == JobStatus.RUNNING and 5 <= current.progress <= 80 else None

    running = wait_for(running_midway, timeout=180, interval=0.05, what="the job to run midway")
    _host, pid = running.worker.rsplit(":", 1)
    assert int(pid) != celery_worker_process.process.pid, "the job must run in a pool child, not the main process"
    os.kill(int(pid), signal.SIGKILL)

    def finished():
        current = Job.objects.get(pk=job.id)
        return current if current.status in {JobStatus.SUCCEEDED, JobStatus.FAILED} else None

    done = wait_for(finished, timeout=240, what=f"redelivery; worker log:\n{celery_worker_process.log()[-4000:]}")
    assert done.status == JobStatus.SUCCEEDED, done.error
    assert done.attempts == 2, "claimed once by the killed process and once on redelivery"
    assert done.worker != running.worker
    assert done.result["count"] == len(texts) and len(job_embedding_vectors(done)) == len(texts)
    assert Job.objects.filter(pk=job.id).count() == 1
    # The killed attempt never finished its inference; the redelivered one is recorded exactly once.
    records = InferenceRecord.objects.filter(job_id=job.id)
    assert records.count() == 1 and records.get().status == InferenceStatus.OK
    assert audit_chain_verify().ok


def test_redelivered_message_for_a_finished_job_does_nothing(celery_worker_process, analyst):
    from config.celery import app

    job = embedding_job_create(owner=analyst, texts=["Liquidity is ample."])
    wait_for(lambda: Job.objects.get(pk=job.id).status == JobStatus.SUCCEEDED, timeout=120, what="first run")
    first = Job.objects.get(pk=job.id)

    result = app.send_task("gpu_workers.tasks.embed_texts", args=[str(job.id)])
    outcome = result.get(timeout=60)
    assert outcome["skipped"] == "job already finished"
    again = Job.objects.get(pk=job.id)
    assert (again.attempts, again.finished_at, again.result) == (first.attempts, first.finished_at, first.result)
    assert InferenceRecord.objects.filter(job_id=job.id).count() == 1
