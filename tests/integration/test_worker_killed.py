"""A worker process killed mid-job: the job is taken over once its lease runs out and completes exactly once;
a job that kills its worker every time is given up after the maximum number of attempts."""

from __future__ import annotations

import os
import signal

import pytest

from apps.audit.models import InferenceRecord, InferenceStatus
from apps.audit.selectors import audit_chain_verify
from apps.jobs.models import Job, JobStatus
from apps.jobs.selectors import job_embedding_vectors
from apps.jobs.services import embedding_job_create, jobs_reap_expired
from tests.worker import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SENTENCE = (
    "In the fourth quarter the company reported revenue of {n} million dollars, a gross margin of {m} percent, "
    "net debt to EBITDA of {r} times, and reaffirmed guidance while flagging liquidity risk in its European unit. "
)


def kill_midway(job_id, *, attempt: int, main_pid: int) -> Job:
    def running_midway():
        current = Job.objects.get(pk=job_id)
        assert current.status not in {JobStatus.SUCCEEDED, JobStatus.FAILED}, "job finished before it could be killed"
        if current.status == JobStatus.RUNNING and current.attempts == attempt and 5 <= current.progress <= 80:
            return current
        # The beat reaper's job, done here: requeue a job whose lease ran out.
        jobs_reap_expired()
        return None

    running = wait_for(running_midway, timeout=240, interval=0.05, what=f"attempt {attempt} to run midway")
    _host, pid = running.worker.rsplit(":", 1)
    assert int(pid) != main_pid, "the job must run in a pool child, not the main process"
    os.kill(int(pid), signal.SIGKILL)
    return running


def finished_after_reaping(job_id):
    def finished():
        current = Job.objects.get(pk=job_id)
        if current.status in {JobStatus.SUCCEEDED, JobStatus.FAILED}:
            return current
        jobs_reap_expired()
        return None

    return finished


def test_job_survives_sigkill_of_its_worker_process(celery_worker_process, analyst):
    # Long enough texts that the job runs for several seconds on one CPU thread.
    texts = [SENTENCE.format(n=100 + i, m=30 + i % 20, r=1 + i % 5) * 4 for i in range(400)]
    job = embedding_job_create(owner=analyst, texts=texts)
    running = kill_midway(job.id, attempt=1, main_pid=celery_worker_process.process.pid)
    finished = finished_after_reaping(job.id)

    done = wait_for(finished, timeout=240, what=f"the take-over; worker log:\n{celery_worker_process.log()[-4000:]}")
    assert done.status == JobStatus.SUCCEEDED, done.error
    assert done.attempts == 2, "claimed once by the killed process and once after its lease ran out"
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


def test_a_job_that_kills_its_worker_every_time_ends_failed_after_max_attempts(celery_worker_process, analyst):
    from django.conf import settings

    texts = [SENTENCE.format(n=100 + i, m=30 + i % 20, r=1 + i % 5) * 4 for i in range(400)]
    job = embedding_job_create(owner=analyst, texts=texts)
    for attempt in range(1, settings.ARGUS_JOB_MAX_ATTEMPTS + 1):
        kill_midway(job.id, attempt=attempt, main_pid=celery_worker_process.process.pid)
    done = wait_for(finished_after_reaping(job.id), timeout=120, what="the job to be given up")
    assert done.status == JobStatus.FAILED
    assert f"Gave up after {settings.ARGUS_JOB_MAX_ATTEMPTS} attempts" in done.error
    # Every attempt was killed inside its inference: none finished, none is recorded as ok.
    assert not InferenceRecord.objects.filter(job_id=job.id, status=InferenceStatus.OK).exists()
    assert audit_chain_verify().ok
