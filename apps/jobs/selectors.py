from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from apps.accounts.roles import Role, user_roles
from apps.jobs.models import Job

# Roles that oversee everyone's jobs rather than only their own.
OVERSIGHT_ROLES = {Role.ADMIN, Role.AUDITOR}


def job_list_for_user(user: Any) -> QuerySet[Job]:
    """Jobs the user may see: their own, or all of them for admins and auditors."""
    jobs = Job.objects.select_related("owner")
    if user_roles(user) & OVERSIGHT_ROLES:
        return jobs
    return jobs.filter(owner=user)


def job_get_for_user(user: Any, job_id: Any) -> Job | None:
    return job_list_for_user(user).filter(pk=job_id).first()


def job_status_counts_for_user(user: Any) -> dict[str, int]:
    """How many of the user's visible jobs are in each status."""
    # order_by() drops the model's default ordering, which would otherwise join the GROUP BY.
    return dict(job_list_for_user(user).order_by().values_list("status").annotate(n=Count("id")))
