"""Claims of batched report jobs: a job another live worker took is left alone, a dead worker's is taken over."""

from __future__ import annotations

import os
import socket

import pytest
from django.utils import timezone

from apps.jobs.models import Job, JobKind, JobStatus
from gpu_workers.tasks.generation import worker_alive
from gpu_workers.tasks.reports import _held_by_another_worker, report_jobs_claim_queued

pytestmark = pytest.mark.django_db


def report_job(analyst, **fields):
    return Job.objects.create(kind=JobKind.REPORT, owner=analyst, actor_label="user:x", params={}, **fields)


def test_a_worker_process_that_exists_is_alive_and_one_that_does_not_is_dead():
    host = socket.gethostname()
    assert worker_alive(f"{host}:{os.getppid()}", updated_at=None)
    assert not worker_alive(f"{host}:{2**22 + 12345}", updated_at=timezone.now())
    # Another host: alive while it reports progress within the lease.
    assert worker_alive("elsewhere:1", updated_at=timezone.now())
    assert not worker_alive("elsewhere:1", updated_at=timezone.now() - timezone.timedelta(hours=1))


def test_job_held_by_a_live_worker_is_not_run_again_but_a_dead_workers_is(analyst):
    host = socket.gethostname()
    held = report_job(analyst, status=JobStatus.RUNNING, worker=f"{host}:{os.getppid()}")
    orphaned = report_job(analyst, status=JobStatus.RUNNING, worker=f"{host}:{2**22 + 12345}")
    me = f"{host}:{os.getpid()}"
    assert _held_by_another_worker(str(held.pk), me)
    assert not _held_by_another_worker(str(orphaned.pk), me)


def test_batch_claim_takes_queued_report_jobs_oldest_first_once(analyst):
    jobs = [report_job(analyst) for _ in range(3)]
    report_job(analyst, status=JobStatus.SUCCEEDED)
    Job.objects.create(kind=JobKind.EMBED, owner=analyst, actor_label="user:x", params={})
    first = report_jobs_claim_queued(2, worker="w1", exclude=set())
    assert [j.pk for j in first] == [jobs[0].pk, jobs[1].pk]
    assert all(j.status == JobStatus.RUNNING and j.worker == "w1" and j.attempts == 1 for j in first)
    second = report_jobs_claim_queued(5, worker="w2", exclude=set())
    assert [j.pk for j in second] == [jobs[2].pk]
    assert report_jobs_claim_queued(5, worker="w3", exclude=set()) == []


def test_every_required_indicator_gets_its_best_passage_before_any_list_gets_a_second():
    from gpu_workers.tasks.reports import merge_rankings

    question = ["q1", "q2", "q3", "q4", "q5", "q6"]
    margin, leverage = ["m1", "q1", "m2"], ["l1", "l2", "l3"]
    assert merge_rankings([question, margin, leverage], 6) == ["q1", "m1", "l1", "q2", "l2", "q3"]
    assert merge_rankings([question], 4) == ["q1", "q2", "q3", "q4"]
    assert merge_rankings([], 6) == []
