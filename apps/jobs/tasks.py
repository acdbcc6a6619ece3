"""Scheduled upkeep of jobs (beat, ``config/schedule.py``) and a broker check any worker can run."""

from __future__ import annotations

import os
import re
import time
import uuid

from celery import shared_task
from django.conf import settings

from apps.jobs.services import jobs_reap_expired


@shared_task(name="apps.jobs.tasks.jobs_reap_expired_scheduled")
def jobs_reap_expired_scheduled() -> dict[str, int]:
    """Requeue running jobs whose worker stopped renewing its lease; give up those out of attempts."""
    return jobs_reap_expired()


_TOKEN = re.compile(r"\A[a-z]{1,16}-[0-9a-f]{32}\Z")


@shared_task(name="apps.jobs.tasks.broker_probe", ignore_result=True)
def broker_probe(*, token: str | None = None, source: str = "beat", padding: str = "", hold_seconds: float = 0) -> int:
    """Leave one marker file per delivery, so a soak test can count lost and repeated messages.

    ``token`` names one sent message; without one (a beat entry sends the same
    arguments every time) each run gets a fresh name under ``source``. A delivery
    of a token seen before leaves a second, numbered file instead of overwriting.
    ``padding`` is ignored: it gives the message the size of a real task's.
    ``hold_seconds`` (at most 60) keeps the worker busy first, so a test can kill it mid-task.
    Returns the worker's pid, which tells a test which process ran it.
    """
    token = token or f"{source}-{uuid.uuid4().hex}"
    if not _TOKEN.match(token):
        raise ValueError("a probe token is '<source>-<32 hex digits>'")
    time.sleep(min(max(hold_seconds, 0), 60))
    folder = settings.VAR_DIR / "broker-probe"
    folder.mkdir(exist_ok=True)
    for copy in range(1000):
        name = token if copy == 0 else f"{token}.{copy}"
        try:
            fd = os.open(folder / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            continue
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        break
    return os.getpid()
