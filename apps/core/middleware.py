from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from http import HTTPStatus

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from django.http import HttpRequest, HttpResponse, JsonResponse

from apps.core.logging import request_id_var

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

access_logger = logging.getLogger("argus.access")


class RequestIdMiddleware:
    """Gives each request an id (or keeps a sane one from the proxy) for logs and responses."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class AccessLogMiddleware:
    """One log line per request, after the response: method, path, status, duration, user.

    Sits just inside ``RequestIdMiddleware`` so the line carries the request id. The
    query string is left out: it can hold search terms about clients.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        user = getattr(request, "user", None)
        access_logger.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "user_id": user.pk if user is not None and user.is_authenticated else None,
            },
        )
        return response


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Login everywhere by default. The API answers 401/403 in JSON itself (DRF), so it is
    left to DRF's authentication instead of being redirected to the login page."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


# Codes of the API's error envelope for errors Django answers before (or instead of) DRF.
_API_ERROR_CODES = {
    400: "bad_request",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    500: "server_error",
}


class ApiJsonErrorsMiddleware:
    """Under /api/, every error is the JSON envelope, whatever produced it.

    DRF answers its own errors in the envelope and ``apps.core.views`` does for Django's
    404/500 handlers, but with ``DJANGO_DEBUG=true`` Django answers an unmatched URL
    (``/api/reports/null,null/``) or a crash with its HTML debug page instead, and a client
    of the API then reads HTML it was never told about.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.path_info.startswith("/api/")
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            status = response.status_code
            code = _API_ERROR_CODES.get(status, "server_error" if status >= 500 else "error")
            detail = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
            json_response = JsonResponse({"error": {"status": status, "code": code, "detail": detail}}, status=status)
            for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                if header in response:
                    json_response[header] = response[header]
            return json_response
        return response
