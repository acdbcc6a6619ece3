from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

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
