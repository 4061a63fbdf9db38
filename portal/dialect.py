"""OpenAPI 3.0 schemas in OpenAPI 3.1's dialect (JSON Schema 2020-12).

The merged portal document is 3.1, and request validation runs a JSON Schema 2020-12 validator, so
a 3.0 document's schema objects are rewritten once: ``nullable`` becomes a ``"null"`` type,
boolean ``exclusiveMinimum``/``exclusiveMaximum`` become numbers. 3.1 documents pass unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

Schema = dict[str, Any]
_NESTED_ONE = ("items", "not", "additionalProperties")
_NESTED_MANY = ("allOf", "anyOf", "oneOf")


def as_31(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``document`` whose schemas are JSON Schema 2020-12 (``openapi: 3.1.0``)."""
    out = copy.deepcopy(document)
    if not str(out.get("openapi", "")).startswith("3.0."):
        return out
    out["openapi"] = "3.1.0"
    for_each_schema(out, _upgrade)
    return out


def for_each_schema(document: dict[str, Any], change: Callable[[Schema], None]) -> None:
    """Call ``change`` on every schema object of the document, outermost first."""
    components = document.get("components") or {}
    for schema in (components.get("schemas") or {}).values():
        walk_schema(schema, change)
    for kind in ("parameters", "headers"):
        for item in (components.get(kind) or {}).values():
            _in_parameter(item, change)
    for body in (components.get("requestBodies") or {}).values():
        _in_content(body, change)
    for response in (components.get("responses") or {}).values():
        _in_response(response, change)
    for item in (document.get("paths") or {}).values():
        if not isinstance(item, dict):
            continue
        for parameter in item.get("parameters") or ():
            _in_parameter(parameter, change)
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters") or ():
                _in_parameter(parameter, change)
            _in_content(operation.get("requestBody"), change)
            for response in (operation.get("responses") or {}).values():
                _in_response(response, change)


def walk_schema(schema: Any, change: Callable[[Schema], None]) -> None:
    if not isinstance(schema, dict):
        return
    change(schema)
    for name in _NESTED_ONE:
        walk_schema(schema.get(name), change)
    for name in _NESTED_MANY:
        for item in schema.get(name) or ():
            walk_schema(item, change)
    for item in (schema.get("properties") or {}).values():
        walk_schema(item, change)


def _in_parameter(parameter: Any, change: Callable[[Schema], None]) -> None:
    if isinstance(parameter, dict):
        walk_schema(parameter.get("schema"), change)
        _in_content(parameter, change)


def _in_content(holder: Any, change: Callable[[Schema], None]) -> None:
    if isinstance(holder, dict):
        for media in (holder.get("content") or {}).values():
            if isinstance(media, dict):
                walk_schema(media.get("schema"), change)


def _in_response(response: Any, change: Callable[[Schema], None]) -> None:
    if isinstance(response, dict):
        _in_content(response, change)
        for header in (response.get("headers") or {}).values():
            _in_parameter(header, change)


def _upgrade(schema: Schema) -> None:
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        flag = schema.get(exclusive)
        if isinstance(flag, bool):
            del schema[exclusive]
            if flag and bound in schema:
                schema[exclusive] = schema.pop(bound)
    if schema.pop("nullable", False) is not True:
        return
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
        if isinstance(schema.get("enum"), list) and None not in schema["enum"]:
            schema["enum"].append(None)
    elif kind is None:
        # nullable without a type ($ref, allOf...): the value may also be null.
        rest = {k: schema.pop(k) for k in list(schema) if not k.startswith("x-")}
        schema["anyOf"] = [rest, {"type": "null"}]
