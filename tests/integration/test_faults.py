"""Fault injection with real workers: the broker restarted mid-job, a worker killed during a report batch,
search answered while the batch worker is stuck. Every job ends SUCCEEDED or FAILED, none stays RUNNING.

The broker tests run their workers on a private ``redis-server`` (never the machine's shared one) and on
PostgreSQL, as in production; the batch-kill test uses the session's worker.
"""

from __future__ import annotations

import os
import shutil
import signal
from contextlib import contextmanager

import pytest
from django.db import connection, transaction

from apps.audit.models import InferenceKind, InferenceRecord, InferenceStatus
from apps.audit.selectors import audit_chain_verify
from apps.jobs.models import Job, JobKind, JobStatus
from apps.jobs.services import embedding_job_create, jobs_reap_expired
from apps.registry.models import BaseModel
from apps.reports.models import ReportStatus, ResearchReport
from apps.reports.services import report_request
from apps.research.models import Company
from apps.research.services import UploadMetadata, documents_upload
from tests.conftest import database_url_for_subprocess
from tests.gpu_workers.conftest import tiny_checkpoint  # noqa: F401 - fixture
from tests.integration.faults import PrivateRedis, celery_broker
from tests.worker import start_worker, stop_worker, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FINAL = {JobStatus.SUCCEEDED, JobStatus.FAILED}
SENTENCE = (
    "In the fourth quarter the company reported revenue of {n} million dollars, a gross margin of {m} percent, "
    "net debt to EBITDA of {r} times, and reaffirmed guidance while flagging liquidity risk in its European unit. "
)
NOTE = b"""# Initech Q2 results

## Results
Initech reported second-quarter revenue of $2.4 billion, up 9% year over year.
Gross margin was 41.2% in the quarter, compared with 39.8% a year earlier.

## Balance sheet
Net debt to EBITDA stood at 2.1x at the end of June.
The board kept the rating at hold with a price target of $54.00.
"""
QUESTIONS = [
    "Is the margin trend sustainable?",
    "How leveraged is the balance sheet?",
    "What drives revenue growth?",
    "Is the price target credible?",
    "What are the main risks?",
    "How does the quarter compare with last year?",
    "Is the rating justified?",
    "What would change the thesis?",
]


def long_texts(count: int) -> list[str]:
    return [SENTENCE.format(n=100 + i, m=30 + i % 20, r=1 + i % 5) * 4 for i in range(count)]


def unfinished_jobs() -> list[tuple]:
    return list(Job.objects.exclude(status__in=FINAL).values_list("kind", "status", "message"))


def all_finished_after_reaping(job_ids):
    """Done when every job is SUCCEEDED or FAILED; meanwhile the reaper runs as beat would (every 30 s)."""

    def finished():
        jobs = list(Job.objects.filter(pk__in=job_ids))
        if all(job.status in FINAL for job in jobs):
            return jobs
        jobs_reap_expired()
        return None

    return finished


def pool_child_pid(job: Job) -> int:
    return int(job.worker.rsplit(":", 1)[1])


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("fault injection with several workers runs on PostgreSQL (as in CI)")


@pytest.fixture
def private_redis(postgres_only, tmp_path):
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not on PATH")
    redis = PrivateRedis(workdir=tmp_path)
    redis.start()
    try:
        with celery_broker(redis.url(0)):
            yield redis
    finally:
        redis.stop()


@contextmanager
def private_worker(redis: PrivateRedis, tmp_path, *, queues: str, name: str):
    """A worker on the private broker with its own embedded store (the session worker owns the shared one)."""
    extra_env = {
        "CELERY_BROKER_URL": redis.url(0),
        "REDIS_URL": redis.url(1),
        "CACHE_URL": "",
        "QDRANT_URL": "",
        "QDRANT_PATH": str(tmp_path / "qdrant"),
    }
    worker = start_worker(
        db_url=database_url_for_subprocess(),
        log_path=tmp_path / f"{name}.log",
        queues=queues,
        extra_env=extra_env,
        purge=False,  # a fresh server: nothing to purge, and the configured broker is not ours to empty
    )
    try:
        yield worker
    finally:
        stop_worker(worker)


@pytest.fixture
def tiny_default_model(db, tiny_checkpoint):  # noqa: F811
    from gpu_workers.generation import checkpoint_fingerprint

    return BaseModel.objects.create(
        name="tiny-llama",
        path=str(tiny_checkpoint),
        source="tests",
        content_hash=checkpoint_fingerprint(tiny_checkpoint),
        is_default=True,
    )


def indexed_note(analyst, ticker: str) -> None:
    Company.objects.create(ticker=ticker, name="Initech Holdings")
    upload = documents_upload(
        uploader=analyst,
        filename=f"{ticker.lower()}-q2.md",
        content_type="text/markdown",
        data=NOTE,
        meta=UploadMetadata(ticker=ticker, doc_type="report", access_level="internal"),
    )
    ingest = wait_for(
        lambda: (job := Job.objects.get(pk=upload.job.pk)).status in FINAL and job, timeout=300, what="ingest"
    )
    assert ingest.status == JobStatus.SUCCEEDED, ingest.error


def request_reports(analyst, ticker: str, count: int) -> list[ResearchReport]:
    # One transaction: every job is queued when the first task runs, so they form one batch.
    with transaction.atomic():
        return [
            report_request(user=analyst, ticker=ticker, question=QUESTIONS[i % len(QUESTIONS)]) for i in range(count)
        ]


# --- the broker restarted mid-job ----------------------------------------------------------------


def test_job_survives_a_redis_restart_mid_job(private_redis, tmp_path, analyst):
    """The job's state lives in PostgreSQL and its worker keeps computing while the broker is away, so the job
    ends SUCCEEDED (not FAILED): losing the broker's copy of a message that is already running loses nothing.
    The worker reconnects and takes new work from the restarted (empty) broker."""
    with private_worker(private_redis, tmp_path, queues="ingest,interactive,models,training", name="all") as worker:
        job = embedding_job_create(owner=analyst, texts=long_texts(200))
        wait_for(
            lambda: Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, progress__gte=5).exists(),
            timeout=240,
            interval=0.05,
            what=f"the job to run; log:\n{worker.log()[-3000:]}",
        )
        private_redis.stop()
        assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING, "the broker went away mid-job"
        wait_for(lambda: "Connection to broker lost" in worker.log(), timeout=60, what="the worker to notice")
        private_redis.start()

        [done] = wait_for(all_finished_after_reaping([job.pk]), timeout=300, what=f"job; log:\n{worker.log()[-4000:]}")
        assert done.status == JobStatus.SUCCEEDED, done.error
        assert done.attempts == 1, "its worker was never lost: the lease heartbeat (PostgreSQL) outlived the broker"
        assert done.result["count"] == 200
        assert InferenceRecord.objects.filter(job_id=job.pk, status=InferenceStatus.OK).count() == 1

        # After the restart the broker is empty (its queues and bindings are gone): the worker must have
        # declared them again, or this job would sit QUEUED forever.
        after = embedding_job_create(owner=analyst, texts=["Liquidity is ample."])
        [again] = wait_for(
            all_finished_after_reaping([after.pk]), timeout=120, what=f"a job after; log:\n{worker.log()[-4000:]}"
        )
        assert again.status == JobStatus.SUCCEEDED, again.error
    assert unfinished_jobs() == []
    assert audit_chain_verify().ok


# --- a worker killed during a report batch -------------------------------------------------------


def test_worker_killed_during_a_report_batch_ends_every_job_once(celery_worker_process, analyst, tiny_default_model):
    indexed_note(analyst, "KILL1")
    reports = request_reports(analyst, "KILL1", 4)
    job_ids = [r.job_id for r in reports]

    def generating():
        jobs = list(Job.objects.filter(pk__in=job_ids))
        assert not all(j.status in FINAL for j in jobs), "the batch finished before it could be killed"
        running = [j for j in jobs if j.status == JobStatus.RUNNING and j.attempts == 1]
        return next((j for j in running if j.progress >= 30), None)

    victim = wait_for(generating, timeout=300, interval=0.05, what="the batch to generate")
    batch_pids = {pool_child_pid(j) for j in Job.objects.filter(pk__in=job_ids, status=JobStatus.RUNNING)}
    assert batch_pids == {pool_child_pid(victim)}, "one worker process holds the whole batch"
    os.kill(pool_child_pid(victim), signal.SIGKILL)
    killed_mid_batch = set(Job.objects.filter(pk__in=job_ids, status=JobStatus.RUNNING).values_list("pk", flat=True))
    assert killed_mid_batch, "at least one job was in flight when its worker died"

    jobs = wait_for(
        all_finished_after_reaping(job_ids), timeout=600, what=f"the batch; log:\n{celery_worker_process.log()[-4000:]}"
    )
    assert unfinished_jobs() == []
    for job in jobs:
        report = ResearchReport.objects.get(job_id=job.pk)
        assert report.status not in {ReportStatus.QUEUED, ReportStatus.GENERATING}
        if job.pk in killed_mid_batch:
            assert job.attempts >= 2, "a job in flight at the kill was taken over after its lease ran out"
        if job.status == JobStatus.SUCCEEDED:
            # Written once, by the attempt that succeeded: the report cites that attempt's one generation.
            assert job.result["stored"] is True
            assert report.inference_seqs == [job.result["inference_record"]]
            record = InferenceRecord.objects.get(seq=job.result["inference_record"])
            assert (record.kind, record.job_id, record.status) == (InferenceKind.GENERATE, job.pk, InferenceStatus.OK)
        else:
            assert report.status == ReportStatus.FAILED and report.error
    assert audit_chain_verify().ok


# --- search answered while the batch worker is busy ----------------------------------------------


def test_search_is_answered_while_the_models_worker_is_held_mid_batch(
    private_redis, tmp_path, analyst, api_client, tiny_default_model
):
    """Interactive and batch work have their own workers: with the models worker frozen in the middle of a
    report batch (SIGSTOP, the extreme of busy), a search through the interactive worker still returns its
    hits, and the reports finish after it."""
    with (
        private_worker(private_redis, tmp_path, queues="interactive,ingest", name="interactive") as interactive,
        private_worker(private_redis, tmp_path, queues="models", name="models") as models,
    ):
        indexed_note(analyst, "SRCH1")
        reports = request_reports(analyst, "SRCH1", 8)
        job_ids = [r.job_id for r in reports]

        def generating():
            jobs = list(Job.objects.filter(pk__in=job_ids))
            assert not all(j.status in FINAL for j in jobs), "the batch finished before the search"
            return next((j for j in jobs if j.status == JobStatus.RUNNING and j.progress >= 30), None)

        batch_job = wait_for(generating, timeout=300, interval=0.05, what=f"the batch; log:\n{models.log()[-3000:]}")
        batch_pid = pool_child_pid(batch_job)
        os.kill(batch_pid, signal.SIGSTOP)
        try:
            api_client.force_authenticate(analyst)
            response = api_client.post("/api/search/", {"query": "Initech gross margin", "limit": 5}, format="json")
            in_flight_at_answer = set(
                Job.objects.filter(pk__in=job_ids).exclude(status__in=FINAL).values_list("pk", flat=True)
            )
        finally:
            os.kill(batch_pid, signal.SIGCONT)

        assert response.status_code == 200, (response.content, interactive.log()[-3000:])
        body = response.json()
        assert body["count"] > 0
        assert {hit["document"]["ticker"] for hit in body["results"]} == {"SRCH1"}
        assert in_flight_at_answer, "the search was answered while the batch was still in flight"

        jobs = wait_for(
            all_finished_after_reaping(job_ids), timeout=600, what=f"the batch; log:\n{models.log()[-3000:]}"
        )
        search = InferenceRecord.objects.filter(kind=InferenceKind.RETRIEVE, job_id__isnull=True).latest("seq")
        assert all(job.finished_at > search.created_at for job in jobs if job.pk in in_flight_at_answer)
        assert {job.kind for job in jobs} == {JobKind.REPORT}
    assert unfinished_jobs() == []
    assert audit_chain_verify().ok
