"""JSON bodies with JSON's types: the admin API's serializers refuse ``"5"`` for a number, ``1`` for
a boolean, ``7`` for a string and ``""`` for an object's name, as the schema says they should.

DRF coerces all of these by default, which is right for HTML forms (everything is text there, and
the browsable API still posts forms) and wrong for a JSON contract. The strict check applies to
requests whose body is JSON only. Text is also taken as sent (no trimming), so a value the schema
allows is never turned into one it does not.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

from rest_framework import serializers

_JSON_TYPES: dict[type[serializers.Field], tuple[type, ...]] = {
    serializers.CharField: (str,),
    serializers.BooleanField: (bool,),
    serializers.IntegerField: (int,),
    serializers.FloatField: (int, float),
}


def _json_body(field: serializers.Field) -> bool:
    request = field.context.get("request") if hasattr(field, "context") else None
    return bool(request is not None and str(getattr(request, "content_type", "")).startswith("application/json"))


class StrictJson:
    """Mixed in before a DRF field class: in a JSON body the value must already have the JSON type."""

    json_types: tuple[type, ...] = ()

    def to_internal_value(self, data: Any) -> Any:
        wrong = not isinstance(data, self.json_types) or (isinstance(data, bool) and bool not in self.json_types)
        if wrong and _json_body(self):  # type: ignore[arg-type]
            self.fail("invalid")  # type: ignore[attr-defined]
        if isinstance(data, str) and "\x00" in data:
            # Before any validator: a uniqueness check would send the NUL to Postgres, which refuses it.
            self.fail("invalid")  # type: ignore[attr-defined]
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictSlugRelatedField(serializers.SlugRelatedField):
    """An object's name: ``""`` is no name (DRF would read it as null); in a JSON body a name is a
    string (also in a list of names); a NUL never reaches the database query."""

    def run_validation(self, data: Any = serializers.empty) -> Any:
        if data == "":
            self.fail("invalid")
        return super().run_validation(data)

    def to_internal_value(self, data: Any) -> Any:
        if data == "" or (not isinstance(data, str) and _json_body(self)):
            self.fail("invalid")
        if isinstance(data, str) and "\x00" in data:
            self.fail("invalid")
        return super().to_internal_value(data)


F = TypeVar("F", bound=type[serializers.Field])
_strict: dict[type, type] = {}


def strict(field_class: F) -> F:
    """``field_class`` with the JSON type check, when it is one of the checked kinds."""
    if field_class not in _strict:
        _strict[field_class] = field_class
        for base, types in _JSON_TYPES.items():
            if issubclass(field_class, base) and not issubclass(field_class, StrictJson):
                made = type(f"Strict{field_class.__name__}", (StrictJson, field_class), {"json_types": types})
                _strict[field_class] = made
                break
    return cast(F, _strict[field_class])


# The first and the last day a datetime can hold: a time zone offset pushes them out of range.
EDGE_DAYS = ("0001-01-01", "9999-12-31")
EDGE_DAYS_PATTERN = "^(?!0001-01-01|9999-12-31)"


class StrictDateTimeField(serializers.DateTimeField):
    """A datetime, but not on the first or last representable day (out of range with an offset):
    a 400 the schema announces (``registry.api.schema``), never a surprise."""

    def to_internal_value(self, value: Any) -> Any:
        if isinstance(value, str) and value.startswith(EDGE_DAYS):
            self.fail("invalid", format="a date after 0001-01-01 and before 9999-12-31")
        return super().to_internal_value(value)


class StrictPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """An object's id: an integer in a JSON body, not ``"5"`` or ``true``."""

    def to_internal_value(self, data: Any) -> Any:
        if (isinstance(data, bool) or not isinstance(data, int)) and _json_body(self):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


class RefuseUnknownKeys:
    """A JSON object with a key that is no field of the serializer is refused (the schema's request
    objects say ``additionalProperties: false``); read-only fields sent back are ignored as before."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) and _json_body(self):  # type: ignore[arg-type]
            unknown = sorted(set(data) - set(self.fields))  # type: ignore[attr-defined]
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictSerializer(RefuseUnknownKeys, serializers.Serializer):
    pass


class StrictModelSerializer(RefuseUnknownKeys, serializers.ModelSerializer):
    """A ModelSerializer whose generated fields check JSON types and keep text as sent."""

    serializer_related_field = StrictPrimaryKeyRelatedField

    def build_standard_field(self, field_name: str, model_field: Any) -> tuple[type[serializers.Field], dict[str, Any]]:
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        if issubclass(field_class, serializers.CharField):
            kwargs.setdefault("trim_whitespace", False)
        if field_class is serializers.DateTimeField:
            field_class = StrictDateTimeField
        return strict(field_class), kwargs
