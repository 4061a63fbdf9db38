"""``limit``/``offset`` pagination with bounds: a value out of range is a 400, never a database error
(a 35-digit ``limit`` or a negative ``offset`` used to reach the database), and the schema says so."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

MAX_LIMIT = 1000
MAX_OFFSET = 2**31 - 1


def bounded_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    """The query parameter ``name`` as an int in ``low..high``, or a 400 naming it."""
    values = request.query_params.getlist(name)
    if not values:
        return default
    raw = values[0]
    if len(values) > 1:
        raise serializers.ValidationError({name: ["Give it once."]})
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise serializers.ValidationError({name: [f"Use a whole number from {low} to {high}."]})
    return int(raw)


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    default_limit = 100
    max_limit = MAX_LIMIT

    def get_limit(self, request: Request) -> int:
        return bounded_int(request, self.limit_query_param, self.default_limit, 1, self.max_limit)

    def get_offset(self, request: Request) -> int:
        return bounded_int(request, self.offset_query_param, 0, 0, MAX_OFFSET)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        bounds = {self.limit_query_param: (1, self.max_limit), self.offset_query_param: (0, MAX_OFFSET)}
        for parameter in parameters:
            low, high = bounds[parameter["name"]]
            parameter["schema"] = {**parameter["schema"], "minimum": low, "maximum": high}
        return parameters
