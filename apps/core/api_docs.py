"""The OpenAPI schema and its Swagger UI, behind the same login and roles as the API."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseBase
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import exceptions
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from apps.accounts.permissions import HasRole
from apps.accounts.roles import ALL_ROLES


class _JsonErrorsMixin:
    """Errors in the API's JSON envelope, whatever the view renders on success (YAML, HTML)."""

    def finalize_response(self, request: Request, response: HttpResponseBase, *args: Any, **kwargs: Any):
        if response.status_code >= 400:
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


class SchemaApi(_JsonErrorsMixin, SpectacularAPIView):
    """OpenAPI 3 document (YAML by default; ``?format=json`` or ``Accept: application/json``)."""

    allowed_roles = ALL_ROLES
    permission_classes = [IsAuthenticated, HasRole]


class DocsView(_JsonErrorsMixin, SpectacularSwaggerSplitView):
    """Swagger UI; its scripts and styles come from our static files (the sidecar package).

    The split view serves the page's initialiser as a script file (``?script``) instead of an
    inline ``<script>``, so the Content-Security-Policy needs no ``unsafe-inline``.
    """

    template_name = "api/swagger_ui.html"
    allowed_roles = ALL_ROLES
    permission_classes = [IsAuthenticated, HasRole]

    def handle_exception(self, exc: Exception):
        # A person opening the docs in a browser is sent to log in, like on every page.
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)
