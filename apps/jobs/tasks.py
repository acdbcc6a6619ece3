"""Scheduled upkeep of jobs (beat, ``config/schedule.py``)."""

from __future__ import annotations

from celery import shared_task

from apps.jobs.services import jobs_reap_expired


@shared_task(name="apps.jobs.tasks.jobs_reap_expired_scheduled")
def jobs_reap_expired_scheduled() -> dict[str, int]:
    """Requeue running jobs whose worker stopped renewing its lease; give up those out of attempts."""
    return jobs_reap_expired()
