"""Pagination of every API list: ``limit``/``offset``, bounded, and strict about their values."""

from __future__ import annotations

import re
from typing import Any

from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

MAX_LIMIT = 200
# Past the end of any list, and well within a 64-bit SQL OFFSET: a bigger number (say
# 99999999999999999999) would overflow the database driver's integer (a 500) instead.
MAX_OFFSET = 2**31 - 1
# ASCII digits only; at most ten, so int() never parses a huge number.
_DIGITS = re.compile(r"[0-9]{1,10}")


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """DRF's limit/offset pagination with a ``max_limit`` and a 400 for a value it cannot use.

    DRF falls back to the default when ``limit`` or ``offset`` is not a number (``offset=null``
    is page one) and passes any size of number to the database; here both are validated
    against the bounds the OpenAPI schema states.
    """

    max_limit = MAX_LIMIT
    max_offset = MAX_OFFSET

    def _bounded(self, request: Request, name: str, *, minimum: int, maximum: int) -> int | None:
        raw = request.query_params.get(name)
        if raw is None:
            return None
        value = int(raw) if _DIGITS.fullmatch(raw) else None
        if value is None or not minimum <= value <= maximum:
            raise serializers.ValidationError(
                {name: [f"Must be a whole number from {minimum} to {maximum}; got {raw[:40]!r}."]}
            )
        return value

    def get_limit(self, request: Request) -> int:
        value = self._bounded(request, self.limit_query_param, minimum=1, maximum=self.max_limit)
        return self.default_limit if value is None else value

    def get_offset(self, request: Request) -> int:
        value = self._bounded(request, self.offset_query_param, minimum=0, maximum=self.max_offset)
        return 0 if value is None else value

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.limit_query_param: {"minimum": 1, "maximum": self.max_limit, "default": self.default_limit},
            self.offset_query_param: {"minimum": 0, "maximum": self.max_offset, "default": 0},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters
