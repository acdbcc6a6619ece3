"""Writes to jobs. Tasks call these to claim a job and report on it."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.jobs.models import Job, JobKind, JobStatus
from config.celery import app as celery_app
from config.celery import call_models_task

logger = logging.getLogger(__name__)

# Why a job runs out of attempts: each claim ended without the job finishing.
ATTEMPTS_ENDED = "none of them finished (the worker was lost, or a transient error outlasted the retries)."

# The worker field of an attempt passed to its next stage and not yet taken up.
HANDOFF = "handoff"


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
        job.task_name = task_name
        job.save(update_fields=["celery_task_id", "task_name"])
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


class JobLeaseLost(Exception):
    """This worker's attempt on the job is stale: the job finished, or a later attempt took it over.

    Raised by fenced writes so that a stale worker stops instead of writing over newer work.
    """


class JobHeldElsewhere(Exception):
    """Another worker holds a live lease on the job: this delivery is a duplicate (or a redelivery
    that came back before the lease ran out). The holder finishes it, or the reaper requeues it."""


@dataclass(frozen=True)
class JobClaim:
    """What a worker holds after claiming a job: the job and the attempt number that fences its writes."""

    job_id: str
    attempt: int
    worker: str
    task_id: str = ""


def worker_name() -> str:
    """Who holds an attempt: this host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_of(job: Job) -> JobClaim:
    return JobClaim(job_id=str(job.pk), attempt=job.attempts, worker=job.worker, task_id=job.worker_task_id)


def _lease_until() -> Any:
    return timezone.now() + timedelta(seconds=settings.ARGUS_JOB_LEASE_SECONDS)


def _claimable(now: Any) -> Q:
    # Queued, or running under a lease that ran out (its worker died or stalls).
    return Q(status=JobStatus.QUEUED) | Q(status=JobStatus.RUNNING, lease_expires_at__lt=now)


def _take(job_id: Any, *, worker: str, task_id: str, message: str) -> Job | None:
    """The claim: one conditional UPDATE. Exactly one worker turns a claimable job into its attempt."""
    now = timezone.now()
    updated = (
        Job.objects.filter(pk=job_id)
        .filter(_claimable(now))
        .update(
            status=JobStatus.RUNNING,
            attempts=F("attempts") + 1,
            worker=worker[:255],
            worker_task_id=(task_id or "")[:255],
            lease_expires_at=_lease_until(),
            started_at=Coalesce(F("started_at"), Value(now)),
            message=message,
            updated_at=now,
        )
    )
    if updated != 1:
        return None
    job = Job.objects.select_related("owner").get(pk=job_id)
    if job.attempts > settings.ARGUS_JOB_MAX_ATTEMPTS:
        # Each attempt ended with its worker gone (killed, out of memory): stop redelivering it.
        job_fail(
            claim=claim_of(job),
            error=f"Gave up after {job.attempts - 1} attempts: {ATTEMPTS_ENDED}",
        )
        return None
    leases.hold(claim_of(job))
    return job


def job_claim(*, job_id: uuid.UUID | str, worker: str, task_id: str = "") -> Job | None:
    """Claim a job for a new attempt; None when it is finished (or was just given up).

    Claimable: QUEUED, or RUNNING whose lease ran out. Raises :class:`JobHeldElsewhere`
    when another worker holds a live lease (a duplicate or early redelivery of its message).
    """
    job = _take(job_id, worker=worker, task_id=task_id, message="Running")
    if job is not None:
        return job
    current = Job.objects.filter(pk=job_id).only("status", "worker", "lease_expires_at").first()
    if current is not None and current.status == JobStatus.RUNNING:
        raise JobHeldElsewhere(f"job {job_id} is held by {current.worker} until {current.lease_expires_at}")
    return None


def job_claim_queued(
    *, kind: JobKind, worker: str, task_id: str = "", limit: int, exclude: set[str] = frozenset()
) -> list[Job]:
    """Claim up to ``limit`` queued jobs of one kind, oldest first (a worker filling its batch)."""
    if limit <= 0:
        return []
    claimed: list[Job] = []
    candidates = (
        Job.objects.filter(kind=kind, status=JobStatus.QUEUED)
        .exclude(pk__in=list(exclude))
        .order_by("created_at")
        .values_list("pk", flat=True)[: limit * 2]
    )
    for job_id in candidates:
        job = _take(job_id, worker=worker, task_id=task_id, message="Running (batched)")
        if job is not None:
            claimed.append(job)
        if len(claimed) == limit:
            break
    return claimed


def _held(claim: JobClaim) -> Any:
    return Job.objects.filter(pk=claim.job_id, attempts=claim.attempt, status=JobStatus.RUNNING)


def job_progress(*, claim: JobClaim, progress: int, message: str = "") -> None:
    """Report progress and renew the lease; a stale attempt raises :class:`JobLeaseLost`."""
    if leases.is_lost(claim):  # the heartbeat already saw a later attempt take the job over
        raise JobLeaseLost(f"job {claim.job_id}: attempt {claim.attempt} is no longer the current one")
    progress = max(0, min(99, int(progress)))  # 100 means done, and only job_succeed says that
    updated = _held(claim).update(
        progress=progress, message=message[:500], lease_expires_at=_lease_until(), updated_at=timezone.now()
    )
    if updated != 1:
        leases.release(claim)
        raise JobLeaseLost(f"job {claim.job_id}: attempt {claim.attempt} is no longer the current one")


def job_leases_renew(claims: list[JobClaim]) -> list[JobClaim]:
    """Extend the leases of the attempts this worker still holds; returns the ones it lost."""
    lost = []
    for claim in claims:
        if _held(claim).update(lease_expires_at=_lease_until()) != 1:
            lost.append(claim)
    return lost


@contextmanager
def job_fenced(claim: JobClaim) -> Iterator[Job]:
    """A transaction in which this attempt is known to be current: its row is locked until commit.

    Side effects of a job (a report's output) are written inside it, so a stale worker's
    late write is refused instead of landing over a newer attempt's.
    """
    with transaction.atomic():
        job = _held(claim).select_for_update().first()
        if job is None:
            leases.release(claim)
            raise JobLeaseLost(f"job {claim.job_id}: attempt {claim.attempt} is no longer the current one")
        yield job


def job_succeed(
    *, claim: JobClaim, result: dict[str, Any] | None = None, result_ref: str = "", message: str = "Done"
) -> bool:
    """Finish this attempt. False when it is no longer current (finished elsewhere, or taken over)."""
    now = timezone.now()
    updated = _held(claim).update(
        status=JobStatus.SUCCEEDED,
        progress=100,
        message=message[:500],
        result=result,
        result_ref=result_ref,
        lease_expires_at=None,
        finished_at=now,
        updated_at=now,
    )
    leases.release(claim)
    return updated == 1


def job_fail(*, claim: JobClaim, error: str) -> bool:
    """Fail this attempt. False when it is no longer current."""
    now = timezone.now()
    updated = _held(claim).update(
        status=JobStatus.FAILED,
        error=error[:10_000],
        message="Failed",
        lease_expires_at=None,
        finished_at=now,
        updated_at=now,
    )
    leases.release(claim)
    return updated == 1


def job_fail_unclaimed(*, job_id: uuid.UUID | str, error: str, task_id: str = "") -> bool:
    """Fail a job nobody else is working on: still queued, running under a lease that ran out,
    or (with ``task_id``) held by that task, which gave up.

    For the task base class when its retries are exhausted, and for the reaper.
    """
    now = timezone.now()
    nobody_else = _claimable(now)
    if task_id:
        nobody_else |= Q(status=JobStatus.RUNNING, worker_task_id=task_id)
    updated = (
        Job.objects.filter(pk=job_id)
        .filter(nobody_else)
        .update(
            status=JobStatus.FAILED,
            error=error[:10_000],
            message="Failed",
            lease_expires_at=None,
            finished_at=now,
            updated_at=now,
        )
    )
    return updated == 1


def job_lease_end_for_retry(*, job_id: uuid.UUID | str, task_id: str) -> bool:
    """End now the lease of the attempt this task holds, because the task will retry.

    The retried delivery (same task id, after a backoff of seconds) then claims the job as a new
    attempt, instead of finding it held by its own previous try until the lease runs out.
    """
    for claim in leases.held():
        if claim.task_id == task_id:
            leases.release(claim)  # or the heartbeat would extend the lease again
    now = timezone.now()
    return (
        Job.objects.filter(pk=job_id, status=JobStatus.RUNNING, worker_task_id=task_id)
        .exclude(worker=HANDOFF)
        .update(lease_expires_at=now, message="Retrying after a transient error", updated_at=now)
        == 1
    )


def job_handoff(*, claim: JobClaim, task_name: str, args: list[Any]) -> str:
    """Pass this attempt to the job's next stage (another task, maybe on another queue).

    The next task continues the same attempt (:func:`job_continue`); until it does, the lease
    covers the wait in its queue. Returns the next task's id.
    """
    next_task_id = str(uuid.uuid4())
    updated = _held(claim).update(
        worker=HANDOFF, worker_task_id=next_task_id, lease_expires_at=_lease_until(), updated_at=timezone.now()
    )
    leases.release(claim)
    if updated != 1:
        raise JobLeaseLost(f"job {claim.job_id}: attempt {claim.attempt} is no longer the current one")
    transaction.on_commit(lambda: enqueue(task_name, args=args, task_id=next_task_id))
    return next_task_id


def job_continue(*, job_id: uuid.UUID | str, attempt: int, worker: str, task_id: str) -> Job | None:
    """Take over an attempt handed to this task. None when the job moved on (finished, or a later attempt)."""
    updated = Job.objects.filter(
        pk=job_id, status=JobStatus.RUNNING, attempts=attempt, worker=HANDOFF, worker_task_id=task_id
    ).update(worker=worker[:255], lease_expires_at=_lease_until(), updated_at=timezone.now())
    if updated != 1:
        return None
    job = Job.objects.select_related("owner").get(pk=job_id)
    leases.hold(claim_of(job))
    return job


def jobs_reap_expired() -> dict[str, int]:
    """Requeue (or give up) running jobs whose lease ran out: their worker died without a trace.

    Requeued jobs get their starting task sent again; the claim that follows is a new attempt.
    """
    now = timezone.now()
    requeued = failed = 0
    expired = Job.objects.filter(status=JobStatus.RUNNING, lease_expires_at__lt=now).values_list(
        "pk", "attempts", "task_name"
    )
    for job_id, attempts, task_name in expired:
        if attempts >= settings.ARGUS_JOB_MAX_ATTEMPTS or not task_name:
            reason = (
                f"Gave up after {attempts} attempts: {ATTEMPTS_ENDED}"
                if task_name
                else "The job's worker was lost and the job cannot be restarted."
            )
            failed += job_fail_unclaimed(job_id=job_id, error=reason)
            continue
        with transaction.atomic():
            updated = Job.objects.filter(
                pk=job_id, status=JobStatus.RUNNING, attempts=attempts, lease_expires_at__lt=now
            ).update(
                status=JobStatus.QUEUED,
                worker="",
                worker_task_id="",
                lease_expires_at=None,
                message=f"Requeued: the worker of attempt {attempts} stopped renewing its lease",
                updated_at=now,
            )
            if updated == 1:
                requeued += 1
                transaction.on_commit(partial(enqueue, task_name, args=[str(job_id)]))
    return {"requeued": requeued, "failed": failed}


class LeaseRegistry:
    """The attempts this worker process holds; a daemon thread renews their leases.

    Progress also renews a lease, but a single model call can outlast it (a batch of
    reports on a CPU); the heartbeat keeps the lease of a live worker from running out.
    """

    def __init__(self) -> None:
        self._claims: dict[tuple[str, int], JobClaim] = {}
        self._lost: set[tuple[str, int]] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def hold(self, claim: JobClaim) -> None:
        with self._lock:
            self._claims[(claim.job_id, claim.attempt)] = claim
            self._lost.discard((claim.job_id, claim.attempt))

    def release(self, claim: JobClaim) -> None:
        with self._lock:
            self._claims.pop((claim.job_id, claim.attempt), None)

    def held(self) -> list[JobClaim]:
        with self._lock:
            return list(self._claims.values())

    def is_lost(self, claim: JobClaim) -> bool:
        with self._lock:
            return (claim.job_id, claim.attempt) in self._lost

    def renew_once(self) -> list[JobClaim]:
        lost = job_leases_renew(self.held())
        with self._lock:
            for claim in lost:
                self._claims.pop((claim.job_id, claim.attempt), None)
                self._lost.add((claim.job_id, claim.attempt))
        return lost

    def start_heartbeat(self) -> None:
        """Start the renewing thread in this process (once; again after a fork)."""
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._beat, name="job-lease-heartbeat", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        from django.db import close_old_connections

        interval = max(1.0, settings.ARGUS_JOB_LEASE_SECONDS / 3)
        while True:
            time.sleep(interval)
            try:
                close_old_connections()
                if self.held():
                    self.renew_once()
            except Exception:  # the heartbeat must outlive a database blip; the lease covers the gap
                logger.warning("lease heartbeat failed", exc_info=True)


leases = LeaseRegistry()


def embedding_job_create(*, owner: Any, texts: list[str]) -> Job:
    return job_create(
        kind=JobKind.EMBED, owner=owner, params={"texts": texts}, task_name="gpu_workers.tasks.embed_texts"
    )


def inference_replay_job_create(*, requester: Any, seq: int) -> Job:
    """Queue the replay of a recorded generation (audit console): the model worker re-runs it, the page polls."""
    return job_create(
        kind=JobKind.REPLAY,
        owner=requester,
        params={"seq": int(seq)},
        task_name="gpu_workers.tasks.inference_replay",
        message=f"Waiting for the model worker to replay #{seq}",
    )
