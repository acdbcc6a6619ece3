from __future__ import annotations

import time
from typing import Any

from django.core.files.storage import default_storage
from django.db.models import Count, Q, QuerySet

from apps.accounts.roles import DESK_ROLES, Role, user_roles
from apps.jobs.artifacts import job_vectors_name
from apps.jobs.models import Job, JobKind, JobStatus

# Roles that oversee everyone's jobs rather than only their own.
OVERSIGHT_ROLES = {Role.ADMIN, Role.AUDITOR}
# Jobs without an owner that index the shared research library (the demo corpus, the 10-K
# corpus): every research reader (the desk roles) follows their progress. Jobs carry
# counts and messages, never document contents, and nobody but a worker changes them.
SYSTEM_RESEARCH_JOB_KINDS = (JobKind.INGEST, JobKind.REINDEX)


def job_summaries_for_user(user: Any) -> QuerySet[Job]:
    """The user's jobs for lists: without ``params`` and ``result``, which can be megabytes each."""
    return job_list_for_user(user).defer("params", "result")


def job_list_for_user(user: Any) -> QuerySet[Job]:
    """Jobs the user may see: their own and the system's research jobs, or all of them for admins and auditors."""
    jobs = Job.objects.select_related("owner")
    roles = user_roles(user)
    if roles & OVERSIGHT_ROLES:
        return jobs
    visible = Q(owner=user)
    if roles & DESK_ROLES:
        visible |= Q(owner__isnull=True, kind__in=SYSTEM_RESEARCH_JOB_KINDS)
    return jobs.filter(visible)


def job_get_for_user(user: Any, job_id: Any) -> Job | None:
    return job_list_for_user(user).filter(pk=job_id).first()


def job_status_counts_for_user(user: Any) -> dict[str, int]:
    """How many of the user's visible jobs are in each status."""
    # order_by() drops the model's default ordering, which would otherwise join the GROUP BY.
    return dict(job_list_for_user(user).order_by().values_list("status").annotate(n=Count("id")))


def job_embedding_vectors(job: Job) -> Any | None:
    """A succeeded embedding job's vectors as an (n, dimensions) float32 array; None when it has none.

    Jobs that finished before vectors left the job row still carry them in ``result``.
    """
    import numpy as np

    if job.kind != JobKind.EMBED or job.status != JobStatus.SUCCEEDED:
        return None
    if isinstance(job.result, dict) and isinstance(job.result.get("vectors"), list):
        return np.asarray(job.result["vectors"], dtype=np.float32)
    name = job_vectors_name(job.pk)
    if not default_storage.exists(name):
        return None
    with default_storage.open(name, "rb") as handle:
        return np.load(handle, allow_pickle=False)


def job_wait(job: Job, *, seconds: float) -> Job:
    """Poll ``job`` until it finished or ``seconds`` passed (callers bound it: a web thread never waits long)."""
    deadline = time.monotonic() + seconds
    while not job.is_finished and time.monotonic() < deadline:
        time.sleep(0.2)
        job.refresh_from_db()
    return job
