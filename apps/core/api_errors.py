"""One JSON shape for every API error.

``{"error": {"status": 400, "code": "invalid", "detail": "...", "fields": {...}}}``

``fields`` appears on validation errors only (field name -> messages; list items
by index), ``retry_after_seconds`` on 429 only. Django's own 404/500 handlers
(``apps.core.views``) answer with the same envelope for ``/api/`` paths, so a
client reads one shape whatever raised the error.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler

from apps.core.api_parsers import RequestBodyTooLarge, declared_length

NON_FIELD_ERRORS = "non_field_errors"


def _field_messages(errors: Any, path: str = "") -> list[tuple[str, str]]:
    """Flatten DRF's nested error structure into (``texts[1]``, message) pairs."""
    if isinstance(errors, dict):
        pairs = []
        for key, value in errors.items():
            if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                child = f"{path}[{key}]"
            elif key == NON_FIELD_ERRORS:
                child = path
            else:
                child = f"{path}.{key}" if path else str(key)
            pairs.extend(_field_messages(value, child))
        return pairs
    if isinstance(errors, list):
        pairs = []
        for index, item in enumerate(errors):
            if isinstance(item, dict | list):
                pairs.extend(_field_messages(item, f"{path}[{index}]"))
            else:
                pairs.append((path, str(item)))
        return pairs
    return [(path, str(errors))]


def _validation_summary(fields: dict[str, Any]) -> str:
    messages = [f"{path}: {text}" if path else text for path, text in _field_messages(fields)]
    if not messages:
        return "Invalid input."
    more = f" (and {len(messages) - 1} more)" if len(messages) > 1 else ""
    return f"Invalid input. {messages[0]}{more}"


def _as_api_exception(exc: Exception, context: dict[str, Any]) -> Exception:
    """Django exceptions an API view may raise, as the DRF exceptions they mean."""
    if isinstance(exc, RequestDataTooBig):
        # Raised by ``request.body`` when DRF reads a JSON body over the limit.
        size = declared_length(context.get("request"))
        return RequestBodyTooLarge(size=size, limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    if isinstance(exc, Http404):
        return exceptions.NotFound(*exc.args)
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied(*exc.args)
    return exc


def json_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    exc = _as_api_exception(exc, context)
    response = exception_handler(exc, context)
    if response is None:
        # Not an API error: Django's 500 handler answers (in the same envelope for /api/).
        return None
    body: dict[str, Any] = {"status": response.status_code}
    if isinstance(exc, exceptions.ValidationError):
        fields = response.data if isinstance(response.data, dict) else {NON_FIELD_ERRORS: response.data}
        body.update(code="invalid", detail=_validation_summary(fields), fields=fields)
    else:
        assert isinstance(exc, exceptions.APIException)  # exception_handler answers nothing else
        codes = exc.get_codes()
        body.update(code=codes if isinstance(codes, str) else exc.default_code, detail=str(exc.detail))
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        body["retry_after_seconds"] = math.ceil(exc.wait)
    response.data = {"error": body}
    return response


# --- OpenAPI description of the envelope ---------------------------------------


class ApiErrorBodySerializer(serializers.Serializer):
    status = serializers.IntegerField(help_text="The HTTP status, repeated.")
    code = serializers.CharField(
        help_text="Stable machine-readable code: invalid, parse_error, request_too_large, "
        "unsupported_media_type, not_authenticated, authentication_failed, permission_denied, "
        "not_found, method_not_allowed, throttled."
    )
    detail = serializers.CharField(help_text="A sentence for humans.")
    fields = serializers.DictField(
        required=False,
        help_text="Validation errors only: field name -> list of messages (list items keyed by index).",
    )
    retry_after_seconds = serializers.IntegerField(required=False, help_text="429 only; also in Retry-After.")


class ApiErrorSerializer(serializers.Serializer):
    error = ApiErrorBodySerializer()


_ERROR_DESCRIPTIONS = {
    400: ("Invalid input: malformed JSON, wrong types, unknown fields, or a body over the size limit.", "invalid"),
    401: ("No credentials, or invalid ones.", "not_authenticated"),
    403: ("Authenticated, but the user's role does not allow this.", "permission_denied"),
    404: ("No such object, or not visible to this user.", "not_found"),
    409: ("The object is not in a state that allows this (for example a report that is not a draft).", "conflict"),
    415: ("The body is not application/json.", "unsupported_media_type"),
    429: ("Too many requests; retry after Retry-After seconds.", "throttled"),
}


def error_responses(*status_codes: int) -> dict[int, OpenApiResponse]:
    """``extend_schema(responses=...)`` entries documenting the error envelope."""
    responses = {}
    for code in status_codes:
        description, error_code = _ERROR_DESCRIPTIONS[code]
        responses[code] = OpenApiResponse(
            response=ApiErrorSerializer,
            description=description,
            examples=[
                OpenApiExample(
                    f"{code} {error_code}",
                    value={"error": {"status": code, "code": error_code, "detail": description}},
                    response_only=True,
                    status_codes=[str(code)],
                )
            ],
        )
    return responses
