"""Request-body parsing for the API: JSON only, and never more than the configured size."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.utils import json


class RequestBodyTooLarge(exceptions.APIException):
    """A body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``.

    400, not 413: the request is refused as bad input like any other, before parsing.
    Defined here rather than in ``api_errors`` because DRF imports the parser while it
    is itself being imported; this module must not pull in much.
    """

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "request_too_large"

    def __init__(self, *, size: int | None, limit: int) -> None:
        stated = f"{size} bytes" if size is not None else "larger than allowed"
        super().__init__(f"Request body is {stated}; the limit is {limit} bytes.")


def _declared_length(parser_context: dict[str, Any]) -> int:
    request = parser_context.get("request")
    meta = getattr(request, "META", {}) if request is not None else {}
    try:
        return int(meta.get("CONTENT_LENGTH") or 0)
    except (TypeError, ValueError):
        return 0


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser with Django's body-size limit applied.

    DRF reads a JSON body straight from the request stream, so Django's
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` check (done only in ``request.body``) never
    runs. A huge body would be read into memory and parsed whole; here it is a 400
    before parsing. Deep nesting (``[[[[...]]]]``) makes ``json`` raise
    ``RecursionError``, which DRF does not catch (a 500); here it is a 400 too.
    """

    def parse(self, stream, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        parser_context = parser_context or {}
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        declared = _declared_length(parser_context)
        if limit is not None and declared > limit:
            raise RequestBodyTooLarge(size=declared, limit=limit)
        encoding = get_encoding(parser_context)
        # Bounded read as well: the declared length is the client's word.
        raw = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(raw) > limit:
            raise RequestBodyTooLarge(size=None, limit=limit)
        parse_constant = json.strict_constant if self.strict else None
        try:
            return json.loads(raw.decode(encoding), parse_constant=parse_constant)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.")
        except ValueError as exc:  # also UnicodeDecodeError
            raise ParseError(f"JSON parse error - {exc}")
