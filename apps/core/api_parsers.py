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
    is itself being imported: this module must not pull in much.
    """

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "request_too_large"

    def __init__(self, *, size: int | None, limit: int) -> None:
        stated = f"{size} bytes" if size is not None and size > limit else "larger than allowed"
        super().__init__(f"Request body is {stated}; the limit is {limit} bytes.")


def declared_length(request: Any) -> int | None:
    """The request's Content-Length, when it states a sane one."""
    meta = getattr(request, "META", None) or {}
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except (TypeError, ValueError):
        return None
    return length if length > 0 else None


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, hardened.

    Size: DRF 3.18 hands JSON parsers ``request.body``, where Django enforces
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (``RequestDataTooBig``, turned into a 400 by
    ``api_errors``). Earlier DRF versions passed the raw stream, and a huge body was
    read whole; the bounded read below keeps the limit whatever DRF passes.
    Depth: ``[[[[...]]]]`` makes ``json`` raise ``RecursionError``, which DRF does not
    catch (a 500); here it is a 400 like any other malformed body.
    """

    def parse(self, stream, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        parser_context = parser_context or {}
        encoding = get_encoding(parser_context)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise RequestBodyTooLarge(size=declared_length(parser_context.get("request")), limit=limit)
        parse_constant = json.strict_constant if self.strict else None
        try:
            return json.loads(raw.decode(encoding), parse_constant=parse_constant)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.")
        except ValueError as exc:  # also UnicodeDecodeError
            raise ParseError(f"JSON parse error - {exc}")
