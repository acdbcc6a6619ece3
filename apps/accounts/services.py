from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from rest_framework.authtoken.models import Token

from apps.accounts.models import User
from apps.accounts.roles import ROLE_PERMISSIONS, STAFF_ROLES, Role
from apps.accounts.selectors import api_token_is_expired


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


@transaction.atomic
def api_token_issue(*, user: User) -> Token:
    """The user's API token: the current one while it is valid, a new one once it expired."""
    token, created = Token.objects.select_for_update().get_or_create(user=user)
    if not created and api_token_is_expired(token):
        token.delete()
        token = Token.objects.create(user=user)
    return token


def api_tokens_revoke(*, user: User) -> int:
    """Delete the user's API tokens (logout, the revoke endpoint); returns how many there were."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted
