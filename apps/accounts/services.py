from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from apps.accounts.models import User
from apps.accounts.roles import ROLE_PERMISSIONS, STAFF_ROLES, Role


def roles_sync() -> None:
    """Create one group per role and give it exactly its permissions. Idempotent."""
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".")
            perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if perm is not None:
                wanted.append(perm)
        group.permissions.set(wanted)


@transaction.atomic
def user_create(*, username: str, password: str, role: Role, email: str = "", display_name: str = "") -> User:
    """Create (or reset) a user holding one role."""
    roles_sync()
    user, _ = User.objects.get_or_create(username=username)
    user.email = email
    user.display_name = display_name
    user.is_staff = role in STAFF_ROLES
    user.is_superuser = role == Role.ADMIN
    user.set_password(password)
    user.save()
    user.groups.set([Group.objects.get(name=role.value)])
    return user
