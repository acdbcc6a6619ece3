from __future__ import annotations

from rest_framework.permissions import BasePermission

from apps.accounts.roles import user_has_role


class HasRole(BasePermission):
    """Admits a request when the user holds one of ``view.allowed_roles``.

    Fails closed: an API view that declares no roles admits nobody but admins.
    """

    message = "Your role does not allow this action."

    def has_permission(self, request, view) -> bool:
        allowed = getattr(view, "allowed_roles", frozenset())
        return bool(request.user and request.user.is_authenticated and user_has_role(request.user, allowed))
