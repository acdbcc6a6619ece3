"""Serializer fields every API shares."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class StrictNumberField(serializers.FloatField):
    """A JSON number and only a number: DRF's FloatField would take ``true`` or ``"3"``."""

    default_error_messages = {"not_a_number": "Must be a number, not {type_name}."}

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("not_a_number", type_name=type(data).__name__)
        return super().to_internal_value(data)
