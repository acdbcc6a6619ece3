"""A batch task that stops on an error lets go of every job it claimed, not only its own: the heartbeat
must not keep renewing the leases of batch-mates nobody works on (they would stay RUNNING forever)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery import shared_task
from django.utils import timezone

from apps.jobs.models import Job, JobKind, JobStatus
from apps.jobs.services import job_claim, job_claim_queued, jobs_reap_expired, leases
from apps.jobs.task_base import JobTask

pytestmark = pytest.mark.django_db


@shared_task(bind=True, base=JobTask, name="tests.jobs.batch_then_error")
def batch_then_error(self, job_id: str, error: str) -> None:
    task_id = self.request.id or ""
    job_claim(job_id=job_id, worker="w", task_id=task_id)
    job_claim_queued(kind=JobKind.REPORT, worker="w", task_id=task_id, limit=4, exclude={job_id})
    raise {"value": ValueError("bad input"), "transient": ConnectionError("database blinked")}[error]


def report_job(owner) -> Job:
    return Job.objects.create(kind=JobKind.REPORT, owner=owner, actor_label="user:x", task_name="tests.jobs.noop")


@pytest.mark.parametrize("error", ["value", "transient"])
def test_a_batch_task_that_stops_releases_its_batch_mates_to_the_reaper(analyst, error, monkeypatch):
    from apps.jobs import services

    monkeypatch.setattr(services, "enqueue", lambda *a, **k: None)  # the reaper's resend: not under test
    own, mate = report_job(analyst), report_job(analyst)
    # The transient error on the last try (retries exhausted), as a worker runs it.
    retries = JobTask.max_retries if error == "transient" else 0
    batch_then_error.apply(args=[str(own.id), error], retries=retries, throw=False)

    own.refresh_from_db()
    mate.refresh_from_db()
    assert own.status == JobStatus.FAILED
    assert mate.status == JobStatus.RUNNING  # claimed by the batch that stopped
    held = {c.job_id for c in leases.held()}  # (other tests' direct claims may be in this process's registry)
    assert not held & {str(own.pk), str(mate.pk)}, "no lease is renewed for a task that has stopped"

    # Its lease then runs out (nobody renews it) and the reaper (beat) hands it back to the queue.
    Job.objects.filter(pk=mate.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    jobs_reap_expired()
    mate.refresh_from_db()
    assert mate.status == JobStatus.QUEUED


tries: list[int] = []


@shared_task(bind=True, base=JobTask, name="tests.jobs.flaky_once")
def flaky_once(self, job_id: str) -> dict:
    from apps.jobs.services import claim_of, job_succeed

    job = job_claim(job_id=job_id, worker="w", task_id=self.request.id or "")
    if job is None:
        return {"skipped": True}
    tries.append(job.attempts)
    if len(tries) == 1:
        raise ConnectionError("database blinked")
    job_succeed(claim=claim_of(job), result={"side_effect": 1})
    return {"done": True}


def test_a_retried_task_runs_its_job_instead_of_finding_it_held_by_its_own_first_try(analyst):
    tries.clear()
    job = Job.objects.create(kind=JobKind.EMBED, owner=analyst, actor_label="user:x")
    outcome = flaky_once.apply(args=[str(job.id)], throw=False)
    assert outcome.get() == {"done": True}
    job.refresh_from_db()
    assert (job.status, job.attempts, job.result) == (JobStatus.SUCCEEDED, 2, {"side_effect": 1})
    assert tries == [1, 2]
