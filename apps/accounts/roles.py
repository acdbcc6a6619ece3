"""The four roles of Argus and what each may do.

A role is a Django group of the same name. Views and API endpoints declare the
roles they admit; ``admin`` (and superusers) are admitted everywhere.
"""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    ANALYST = "analyst", "Analyst"
    RISK_OFFICER = "risk_officer", "Risk officer"
    AUDITOR = "auditor", "Auditor"
    ADMIN = "admin", "Administrator"


ALL_ROLES: frozenset[Role] = frozenset(Role)
# Roles that work with research and jobs day to day.
DESK_ROLES: frozenset[Role] = frozenset({Role.ANALYST, Role.RISK_OFFICER})

# Model permissions granted to each role's group ("app_label.codename").
ROLE_PERMISSIONS: dict[Role, set[str]] = {
    Role.ANALYST: {"jobs.add_job", "jobs.view_job"},
    Role.RISK_OFFICER: {"jobs.add_job", "jobs.view_job"},
    Role.AUDITOR: {"audit.view_inferencerecord", "jobs.view_job"},
    Role.ADMIN: set(),  # admins are superusers of the console; see services.user_create
}

# Roles whose members use the Django admin console.
STAFF_ROLES: frozenset[Role] = frozenset({Role.AUDITOR, Role.ADMIN})


def user_roles(user) -> frozenset[Role]:
    """The roles a user holds; cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_argus_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = frozenset(r for r in Role if r.value in names)
        if user.is_superuser:
            cached = cached | {Role.ADMIN}
        user._argus_roles = cached
    return cached


def user_has_role(user, allowed: frozenset[Role] | set[Role]) -> bool:
    roles = user_roles(user)
    return Role.ADMIN in roles or bool(roles & set(allowed))
