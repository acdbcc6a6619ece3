"""The Prometheus scrape endpoint."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from apps.accounts.roles import Role, user_has_role
from apps.core.metrics import metrics_registry

METRICS_ROLES = frozenset({Role.ADMIN})


def bearer_token_valid(request: HttpRequest) -> bool:
    expected = settings.ARGUS_METRICS_TOKEN
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer" or not presented:
        return False
    return hmac.compare_digest(presented.strip().encode(), expected.encode())


@login_not_required  # Prometheus has no session; it presents the bearer token instead.
@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, for the scraper's token or an administrator's session."""
    if not bearer_token_valid(request):
        if not request.user.is_authenticated:
            response = HttpResponse("Authentication required.\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        if not user_has_role(request.user, METRICS_ROLES):
            raise PermissionDenied("Your role does not allow this page.")
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)


metrics.allowed_roles = METRICS_ROLES  # type: ignore[attr-defined]
