"""The base class of every task that runs a job, on every queue.

It carries the one retry policy (transient errors only, with backoff), keeps the leases
of the attempts it holds alive, stops quietly when its attempt went stale, and makes sure
a job whose task gives up ends FAILED instead of staying RUNNING.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from django.conf import settings

from apps.jobs.retry import RETRY_POLICY
from apps.jobs.services import JobHeldElsewhere, JobLeaseLost, job_fail_unclaimed, job_lease_end_for_retry, leases

logger = logging.getLogger(__name__)


def _job_id(args: tuple | list, kwargs: dict) -> str | None:
    job_id = kwargs.get("job_id") or (args[0] if args else None)
    return str(job_id) if job_id else None


class JobTask(Task):
    autoretry_for = RETRY_POLICY["autoretry_for"]
    retry_backoff = RETRY_POLICY["retry_backoff"]
    retry_backoff_max = RETRY_POLICY["retry_backoff_max"]
    retry_jitter = RETRY_POLICY["retry_jitter"]
    max_retries = RETRY_POLICY["max_retries"]
    acks_late = RETRY_POLICY["acks_late"]
    reject_on_worker_lost = RETRY_POLICY["reject_on_worker_lost"]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if settings.ARGUS_JOB_HEARTBEAT and not self.request.is_eager:
            leases.start_heartbeat()
        job_id = _job_id(args, kwargs)
        try:
            return super().__call__(*args, **kwargs)
        except JobHeldElsewhere as exc:
            # A duplicate delivery, or a redelivery that came back before the lease ran out:
            # the holder finishes the job, or the reaper requeues it once the lease has expired.
            logger.info("skipping: %s", exc)
            return {"job_id": job_id, "skipped": str(exc)}
        except JobLeaseLost as exc:
            logger.warning("stopping a stale attempt: %s", exc)
            return {"job_id": job_id, "stale": str(exc)}
        finally:
            # Every attempt this task still holds, its batch-mates too (a report batch claims other
            # jobs under its own task id): once the task stops nobody works on them, so the heartbeat
            # must stop renewing their leases; they lapse and the reaper requeues the jobs.
            task_id = self.request.id or ""
            for claim in leases.held():
                if claim.task_id == task_id:
                    leases.release(claim)

    def retry(self, *args: Any, **kwargs: Any) -> Any:
        """Retrying (a transient error): give the job's lease up, so the retried delivery can claim it."""
        job_id = _job_id(self.request.args or (), self.request.kwargs or {})
        if job_id and self.request.id:
            job_lease_end_for_retry(job_id=job_id, task_id=self.request.id)
        return super().retry(*args, **kwargs)

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        """The task gave up (retries exhausted, or an error that is not retried): the job fails with it."""
        job_id = _job_id(args or (), kwargs or {})
        if not job_id:
            return
        retries = self.request.retries or 0
        error = f"{type(exc).__name__}: {exc}"
        if retries:
            error = f"Gave up after {retries + 1} tries: {error}"
        job_fail_unclaimed(job_id=job_id, error=error, task_id=task_id)
        logger.error("job %s failed: %s", job_id, error)
