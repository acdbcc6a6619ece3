"""What a locked-out login attempt gets (django-axes ``AXES_LOCKOUT_CALLABLE``)."""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

LOCKED_STATUS = 429


def lockout_message() -> str:
    minutes = math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    return (
        f"Too many failed sign-in attempts: this account is locked for {minutes} minutes. "
        "Ask an administrator if you need access sooner."
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """The API's JSON error envelope under /api/, the login page with the reason elsewhere."""
    detail = lockout_message()
    retry_after = math.ceil(settings.AXES_COOLOFF_TIME.total_seconds())
    if request.path.startswith("/api/"):
        body = {
            "error": {
                "status": LOCKED_STATUS,
                "code": "account_locked",
                "detail": detail,
                "retry_after_seconds": retry_after,
            }
        }
        response: HttpResponse = JsonResponse(body, status=LOCKED_STATUS)
    else:
        # An unbound form: a bound one would authenticate again while rendering its errors.
        context = {"form": AuthenticationForm(request), "lockout_message": detail}
        response = render(request, "accounts/login.html", context, status=LOCKED_STATUS)
    response["Retry-After"] = str(retry_after)
    return response
