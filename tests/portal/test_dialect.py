"""OpenAPI 3.0 schemas in 3.1's dialect: what the merged document and the validator read."""

from __future__ import annotations

from typing import Any

from portal.dialect import as_31


def wrap(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {},
        "components": {"schemas": {"S": schema}},
    }


def converted(schema: dict[str, Any]) -> Any:
    return as_31(wrap(schema))["components"]["schemas"]["S"]


def test_nullable_becomes_a_null_type() -> None:
    assert converted({"type": "string", "nullable": True}) == {"type": ["string", "null"]}
    assert converted({"type": "string", "enum": ["a"], "nullable": True}) == {
        "type": ["string", "null"],
        "enum": ["a", None],
    }
    assert converted({"$ref": "#/components/schemas/T", "nullable": True}) == {
        "anyOf": [{"$ref": "#/components/schemas/T"}, {"type": "null"}]
    }
    assert converted({"type": "string", "nullable": False}) == {"type": "string"}


def test_boolean_exclusive_bounds_become_numbers() -> None:
    assert converted({"type": "integer", "minimum": 1, "exclusiveMinimum": True}) == {
        "type": "integer",
        "exclusiveMinimum": 1,
    }
    assert converted({"type": "integer", "maximum": 9, "exclusiveMaximum": False}) == {"type": "integer", "maximum": 9}


def test_nested_schemas_are_converted_too() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "array", "items": {"type": "integer", "nullable": True}}}}

    assert converted(schema) == {
        "type": "object",
        "properties": {"a": {"type": "array", "items": {"type": ["integer", "null"]}}},
    }


def test_a_31_document_is_left_as_it_is() -> None:
    document = wrap({"type": "string", "nullable": True}) | {"openapi": "3.1.0"}

    assert as_31(document) == document
