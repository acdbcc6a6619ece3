"""Role checks: HasRole fails closed, and every view in the URL conf declares who may use it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.permissions import AllowAny
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from apps.accounts.permissions import HasRole
from apps.accounts.roles import Role

# Reachable by any logged-in user, role or not: leaving must always be possible.
ROLE_FREE = {"accounts:logout"}


def _view_for(user, allowed_roles=None):
    class View(APIView):
        pass

    if allowed_roles is not None:
        View.allowed_roles = frozenset(allowed_roles)
    request = APIRequestFactory().get("/")
    request.user = user
    return request, View()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("persona", "allowed", "admitted"),
    [
        ("analyst", {Role.ANALYST}, True),
        ("analyst", {Role.AUDITOR}, False),
        ("auditor", {Role.AUDITOR, Role.RISK_OFFICER}, True),
        ("outsider", set(Role), False),
        ("admin", set(), True),  # admins are admitted everywhere
        ("analyst", None, False),  # a view that declares no roles admits nobody...
        ("admin", None, True),  # ...but admins
    ],
)
def test_has_role(personas, persona, allowed, admitted):
    request, view = _view_for(personas[persona], allowed)
    assert HasRole().has_permission(request, view) is admitted


def test_has_role_refuses_anonymous():
    request, view = _view_for(AnonymousUser(), set(Role))
    assert HasRole().has_permission(request, view) is False


def _endpoints(patterns=None, namespace: str = ""):
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            child = ":".join(filter(None, [namespace, entry.namespace]))
            yield from _endpoints(entry.url_patterns, child)
        elif isinstance(entry, URLPattern) and namespace != "admin":  # the admin checks staff itself
            yield ":".join(filter(None, [namespace, entry.name or str(entry.pattern)])), entry.callback


def test_every_view_declares_its_roles_or_is_explicitly_public():
    undeclared = []
    for name, callback in _endpoints():
        api_class = getattr(callback, "cls", None)
        if api_class is not None:
            permissions = api_class.permission_classes
            public = any(p is AllowAny for p in permissions)
            checks_role = HasRole in permissions and hasattr(api_class, "allowed_roles")
            if not (public or checks_role):
                undeclared.append(name)
            continue
        public = getattr(callback, "login_required", True) is False
        if not (public or hasattr(callback, "allowed_roles") or name in ROLE_FREE):
            undeclared.append(name)
    assert not undeclared, f"Views with no role check and not marked public: {undeclared}"
