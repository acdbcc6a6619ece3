"""drf-spectacular extensions: what the generated OpenAPI schema must say beyond what it infers."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension


class StrictSerializerExtension(OpenApiSerializerExtension):
    """Request bodies of ``StrictSerializer`` refuse unknown keys (a 400): the schema says so
    with ``additionalProperties: false``, so clients and contract tests know."""

    target_class = "apps.jobs.api.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema
