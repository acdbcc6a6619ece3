"""One JSON shape for every API error.

``{"error": {"status": 400, "code": "invalid", "detail": "...", "fields": {...}}}``
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


def json_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        exc = exceptions.ValidationError({"non_field_errors": ["Request body is too large."]})
    response = exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        fields = data if isinstance(data, dict) else {"non_field_errors": data}
        detail = "Invalid input."
        code = "invalid"
    else:
        fields = None
        detail = data.get("detail", str(exc)) if isinstance(data, dict) else str(data)
        code = getattr(getattr(exc, "default_code", None), "__str__", lambda: "error")()
        if isinstance(exc, Http404):
            code = "not_found"
        elif isinstance(exc, PermissionDenied):
            code = "permission_denied"
        elif isinstance(exc, exceptions.APIException):
            codes = exc.get_codes()
            code = codes if isinstance(codes, str) else code
    body: dict[str, Any] = {"status": response.status_code, "code": code, "detail": str(detail)}
    if fields is not None:
        body["fields"] = fields
    if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS and getattr(exc, "wait", None):
        body["retry_after_seconds"] = int(exc.wait)
    response.data = {"error": body}
    return response
