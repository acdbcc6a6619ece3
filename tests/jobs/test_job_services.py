"""Job lifecycle: exclusive claims with leases, fencing by attempt, bounded attempts, the reaper."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.jobs.models import Job, JobKind, JobStatus
from apps.jobs.services import (
    JobHeldElsewhere,
    JobLeaseLost,
    claim_of,
    embedding_job_create,
    job_claim,
    job_claim_queued,
    job_continue,
    job_fail,
    job_fenced,
    job_handoff,
    job_progress,
    job_succeed,
    jobs_reap_expired,
    leases,
)

pytestmark = pytest.mark.django_db


def new_job(owner, **fields) -> Job:
    return Job.objects.create(
        kind=JobKind.EMBED, owner=owner, actor_label="user:x", task_name="gpu_workers.tasks.embed_texts", **fields
    )


def expire_lease(job: Job) -> None:
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))


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
    assert job.task_name == "gpu_workers.tasks.embed_texts"


def test_claim_sets_owner_attempt_and_lease_and_progress_renews_it(analyst, settings):
    settings.ARGUS_JOB_LEASE_SECONDS = 60
    job = new_job(analyst)
    claimed = job_claim(job_id=job.id, worker="host:1", task_id="t-1")
    assert claimed is not None and claimed.status == JobStatus.RUNNING and claimed.attempts == 1
    assert (claimed.worker, claimed.worker_task_id) == ("host:1", "t-1")
    assert claimed.lease_expires_at > timezone.now() + timedelta(seconds=50)
    claim = claim_of(claimed)
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() + timedelta(seconds=5))
    job_progress(claim=claim, progress=150, message="almost")
    job.refresh_from_db()
    assert job.progress == 99, "only job_succeed may say 100"
    assert job.lease_expires_at > timezone.now() + timedelta(seconds=50), "progress renews the lease"
    assert job_succeed(claim=claim, result={"n": 1}) is True
    job.refresh_from_db()
    assert (job.status, job.progress, job.result, job.lease_expires_at) == (JobStatus.SUCCEEDED, 100, {"n": 1}, None)


def test_a_running_job_under_a_live_lease_is_not_claimed_again(analyst):
    job = new_job(analyst)
    assert job_claim(job_id=job.id, worker="host:1") is not None
    with pytest.raises(JobHeldElsewhere):
        job_claim(job_id=job.id, worker="host:2")
    job.refresh_from_db()
    assert (job.attempts, job.worker) == (1, "host:1")


def test_an_expired_lease_is_taken_over_and_the_stale_worker_is_fenced_off(analyst):
    job = new_job(analyst)
    stale = claim_of(job_claim(job_id=job.id, worker="host:1"))
    expire_lease(job)
    current = claim_of(job_claim(job_id=job.id, worker="host:2"))
    assert (current.attempt, current.worker) == (2, "host:2")
    with pytest.raises(JobLeaseLost):
        job_progress(claim=stale, progress=50, message="stale")
    with pytest.raises(JobLeaseLost), job_fenced(stale):
        pass
    assert job_succeed(claim=stale, result={"from": "stale"}) is False
    assert job_fail(claim=stale, error="stale") is False
    job.refresh_from_db()
    assert (job.status, job.result, job.progress) == (JobStatus.RUNNING, None, 0)
    assert job_succeed(claim=current, result={"from": "current"}) is True
    job.refresh_from_db()
    assert (job.status, job.result) == (JobStatus.SUCCEEDED, {"from": "current"})


def test_a_finished_job_is_never_claimed_again(analyst):
    job = new_job(analyst)
    claim = claim_of(job_claim(job_id=job.id, worker="host:1"))
    job_succeed(claim=claim, result={})
    assert job_claim(job_id=job.id, worker="host:3") is None
    expire_lease(job)
    assert job_claim(job_id=job.id, worker="host:3") is None
    job.refresh_from_db()
    assert job.result == {} and job.attempts == 1


def test_a_job_that_keeps_losing_its_worker_is_given_up_after_max_attempts(analyst, settings):
    settings.ARGUS_JOB_MAX_ATTEMPTS = 3
    job = new_job(analyst)
    for attempt in (1, 2, 3):
        claimed = job_claim(job_id=job.id, worker=f"host:{attempt}")
        assert claimed is not None and claimed.attempts == attempt
        expire_lease(job)  # the worker died mid-job
    assert job_claim(job_id=job.id, worker="host:4") is None
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "Gave up after 3 attempts" in job.error


def test_failed_job_keeps_its_error_and_refuses_progress(analyst):
    job = new_job(analyst)
    claim = claim_of(job_claim(job_id=job.id, worker="host:1"))
    assert job_fail(claim=claim, error="ValueError: bad input") is True
    with pytest.raises(JobLeaseLost):
        job_progress(claim=claim, progress=50)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error == "ValueError: bad input" and job.progress == 0


def test_batch_claim_takes_queued_jobs_of_its_kind_oldest_first_once(analyst):
    jobs = [Job.objects.create(kind=JobKind.REPORT, owner=analyst, actor_label="u") for _ in range(3)]
    Job.objects.create(kind=JobKind.REPORT, owner=analyst, actor_label="u", status=JobStatus.SUCCEEDED)
    new_job(analyst)
    first = job_claim_queued(kind=JobKind.REPORT, worker="w1", task_id="t1", limit=2)
    assert [j.pk for j in first] == [jobs[0].pk, jobs[1].pk]
    assert all(j.status == JobStatus.RUNNING and j.worker == "w1" and j.attempts == 1 for j in first)
    assert all(j.lease_expires_at is not None for j in first)
    second = job_claim_queued(kind=JobKind.REPORT, worker="w2", limit=5, exclude={str(jobs[0].pk)})
    assert [j.pk for j in second] == [jobs[2].pk]
    assert job_claim_queued(kind=JobKind.REPORT, worker="w3", limit=5) == []


def test_handoff_passes_the_same_attempt_to_the_next_stage_only(
    analyst, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr("apps.jobs.services.enqueue", lambda name, **kw: sent.append((name, kw)))
    job = new_job(analyst)
    claim = claim_of(job_claim(job_id=job.id, worker="ingest:1"))
    with django_capture_on_commit_callbacks(execute=True):
        next_id = job_handoff(claim=claim, task_name="next.stage", args=[str(job.id), claim.attempt])
    assert sent == [("next.stage", {"args": [str(job.id), 1], "task_id": next_id})]
    assert job_continue(job_id=job.id, attempt=1, worker="models:2", task_id="someone-else") is None
    assert job_continue(job_id=job.id, attempt=2, worker="models:2", task_id=next_id) is None
    continued = job_continue(job_id=job.id, attempt=1, worker="models:2", task_id=next_id)
    assert continued is not None and (continued.attempts, continued.worker) == (1, "models:2")
    # A redelivery of the same stage after its worker died does not take it again.
    assert job_continue(job_id=job.id, attempt=1, worker="models:3", task_id=next_id) is None


def test_the_reaper_requeues_expired_jobs_and_gives_up_those_out_of_attempts(
    analyst, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.ARGUS_JOB_MAX_ATTEMPTS = 2
    sent = []
    monkeypatch.setattr("apps.jobs.services.enqueue", lambda name, **kw: sent.append((name, kw)))
    live, orphan, exhausted = new_job(analyst), new_job(analyst), new_job(analyst)
    for job in (live, orphan, exhausted):
        job_claim(job_id=job.id, worker="host:1")
    Job.objects.filter(pk=exhausted.pk).update(attempts=2)
    expire_lease(orphan)
    expire_lease(exhausted)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs_reap_expired() == {"requeued": 1, "failed": 1}
    for job in (live, orphan, exhausted):
        job.refresh_from_db()
    assert live.status == JobStatus.RUNNING
    assert orphan.status == JobStatus.QUEUED and orphan.lease_expires_at is None
    assert sent == [("gpu_workers.tasks.embed_texts", {"args": [str(orphan.id)]})]
    assert exhausted.status == JobStatus.FAILED and "Gave up after 2 attempts" in exhausted.error
    # The requeued job's next claim is a new attempt.
    assert job_claim(job_id=orphan.id, worker="host:2").attempts == 2


def test_the_heartbeat_renews_held_leases_and_notices_lost_ones(analyst):
    kept, taken = new_job(analyst), new_job(analyst)
    kept_claim = claim_of(job_claim(job_id=kept.id, worker="host:1"))
    taken_claim = claim_of(job_claim(job_id=taken.id, worker="host:1"))
    Job.objects.filter(pk=kept.pk).update(lease_expires_at=timezone.now() + timedelta(seconds=1))
    expire_lease(taken)
    job_claim(job_id=taken.id, worker="host:2")  # another worker took it over
    lost = leases.renew_once()
    assert taken_claim in lost and kept_claim not in lost
    assert leases.is_lost(taken_claim) and not leases.is_lost(kept_claim)
    kept.refresh_from_db()
    assert kept.lease_expires_at > timezone.now() + timedelta(seconds=10)
    leases.release(kept_claim)
