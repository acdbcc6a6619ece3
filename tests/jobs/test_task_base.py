"""The job task base class: a job whose task gives up ends FAILED, a stale or duplicate delivery does nothing."""

from __future__ import annotations

import pytest
from celery import shared_task

from apps.jobs.models import Job, JobKind, JobStatus
from apps.jobs.services import claim_of, job_claim, job_progress, job_succeed
from apps.jobs.task_base import JobTask

pytestmark = pytest.mark.django_db


@shared_task(bind=True, base=JobTask, name="tests.jobs.flaky_forever")
def flaky_forever(self, job_id: str) -> None:
    job_claim(job_id=job_id, worker="w", task_id=self.request.id or "")
    raise ConnectionError("broker blinked")


@shared_task(bind=True, base=JobTask, name="tests.jobs.broken")
def broken(self, job_id: str) -> None:
    job_claim(job_id=job_id, worker="w", task_id=self.request.id or "")
    raise ValueError("bad input")


@shared_task(bind=True, base=JobTask, name="tests.jobs.well_behaved")
def well_behaved(self, job_id: str) -> dict:
    job = job_claim(job_id=job_id, worker="w", task_id=self.request.id or "")
    if job is None:
        return {"skipped": True}
    claim = claim_of(job)
    job_progress(claim=claim, progress=50)
    job_succeed(claim=claim, result={"side_effect": 1})
    return {"done": True}


def new_job(owner) -> Job:
    return Job.objects.create(kind=JobKind.EMBED, owner=owner, actor_label="user:x")


def test_a_transient_error_is_retried_and_leaves_the_job_claimable(analyst):
    from celery.exceptions import Retry

    job = new_job(analyst)
    with pytest.raises(Retry):
        flaky_forever.apply(args=[str(job.id)])
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING  # the retry claims it again once the lease ran out


def test_a_job_whose_retries_run_out_ends_failed_not_running(analyst):
    job = new_job(analyst)
    # The last try (Celery passes the retry count with the message), run as a worker runs it: not raised here.
    outcome = flaky_forever.apply(args=[str(job.id)], retries=JobTask.max_retries, throw=False)
    assert outcome.failed()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED, job.status
    assert job.error == f"Gave up after {JobTask.max_retries + 1} tries: ConnectionError: broker blinked"


def test_an_unexpected_error_fails_the_job_with_its_message(analyst):
    job = new_job(analyst)
    assert broken.apply(args=[str(job.id)], throw=False).failed()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error == "ValueError: bad input"


def test_the_same_message_delivered_twice_has_one_side_effect(analyst):
    job = new_job(analyst)
    first = well_behaved.apply(args=[str(job.id)], task_id="same-id").get()
    second = well_behaved.apply(args=[str(job.id)], task_id="same-id").get()
    assert first == {"done": True} and second == {"skipped": True}
    job.refresh_from_db()
    assert (job.status, job.attempts, job.result) == (JobStatus.SUCCEEDED, 1, {"side_effect": 1})


def test_a_duplicate_while_the_first_runs_is_skipped_not_run_twice(analyst):
    job = new_job(analyst)
    job_claim(job_id=job.id, worker="other-host:1")  # the first delivery is running elsewhere
    outcome = well_behaved.apply(args=[str(job.id)]).get()
    assert "skipped" in outcome and "held by other-host:1" in outcome["skipped"]
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.RUNNING, 1)
