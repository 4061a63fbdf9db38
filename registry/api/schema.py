"""drf-spectacular hooks (``SPECTACULAR_SETTINGS``): the admin API's schema describes the admin API
only, and every answer its views can give.

``admin_api_only`` keeps the operations under /admin/api/ (the portal's public pages have a schema of
their own). ``problem_responses`` adds the problem+json errors each operation can answer with:
401 and 403 everywhere (no or a bad token, a missing model permission), 400 where there are
parameters or a body, 404 where the path names an object, 409, 415 and 422 where there is a body
(``registry.api.problems`` says which is which), 429 on the
token endpoint (the sign-in limit).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from rest_framework import serializers

from proxy.errors import problem_schema
from registry.api.fields import EDGE_DAYS_PATTERN

PROBLEM_MEDIA = "application/problem+json"
NO_NUL = "^[^\\u0000]*$"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA = problem_schema(
    "An RFC 9457 problem; X-Gateway-Error names the reason.",
    {
        "description": "Validation errors: messages by field, or a list of messages.",
        "oneOf": [{"type": "object"}, {"type": "array"}],
    },
)
DESCRIPTIONS = {
    "400": "The request is not valid (errors by field in `errors`).",
    "401": "No credentials, or bad ones.",
    "403": "The user lacks the permission (or a CSRF check failed).",
    "404": "No such object.",
    "409": "Well formed, but at odds with what is stored (a name taken, an object that does not exist).",
    "415": "The body's media type is not accepted.",
    "422": "Well formed, but against a rule between fields (see the error's messages).",
    "429": "Too many sign-in attempts from this address; see Retry-After.",
}
SIGN_IN = ("/admin/api/token/",)
# Bodies that are not a serializer's (a whole configuration file) but are required all the same.
REQUIRED_BODIES = ("/admin/api/config/apply",)


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, plus the rules of the project's own validators: a validator function with
    an ``openapi`` attribute (a dict of JSON Schema keywords, e.g. a ``pattern``) adds it to the
    field's schema, so what the API accepts and what the schema says are the same."""

    def _insert_field_validators(self, field: Any, schema: dict[str, Any]) -> None:
        super()._insert_field_validators(field, schema)
        if isinstance(field, serializers.SlugRelatedField) and schema.get("type") == "string":
            schema.setdefault("minLength", 1)  # "" is no object's name
            schema.setdefault("pattern", NO_NUL)
        if isinstance(field, serializers.DateTimeField) and schema.get("format") == "date-time":
            schema["pattern"] = EDGE_DAYS_PATTERN
        if isinstance(field, serializers.CharField) and schema.get("type") == "string" and "pattern" not in schema:
            schema["pattern"] = NO_NUL  # NUL characters in text are refused (Postgres cannot store them)
        for validator in getattr(field, "validators", ()):
            keywords = getattr(validator, "openapi", None)
            if keywords:
                schema.update(keywords() if callable(keywords) else keywords)


def admin_api_only(endpoints: list[tuple[str, str, str, Any]]) -> list[tuple[str, str, str, Any]]:
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/admin/api/")]


def problem_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            if path in REQUIRED_BODIES and "requestBody" in operation:
                operation["requestBody"]["required"] = True
            for status in statuses(path, method, operation):
                operation["responses"].setdefault(status, _problem(DESCRIPTIONS[status]))
            for parameter in operation.get("parameters", []):
                # A NUL in a URL is a 400 (gateway_project.guards): say so for every text parameter.
                schema = parameter.get("schema", {})
                if schema.get("type") == "string" and "pattern" not in schema and "enum" not in schema:
                    schema["pattern"] = NO_NUL
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Problem", PROBLEM_SCHEMA)
    for name, schema in schemas.items():
        # Request bodies: a key that is no field is refused (registry.api.fields.RefuseUnknownKeys).
        if name.endswith("Request") and schema.get("type") == "object":
            schema["additionalProperties"] = False
    return result


def statuses(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    found = ["401", "403"]
    has_body = "requestBody" in operation
    if has_body or operation.get("parameters"):
        found.append("400")
    if any(p.get("in") == "path" for p in operation.get("parameters", [])):
        found.append("404")
    if has_body:
        found += ["409", "415", "422"]
    if path in SIGN_IN:
        found.append("429")
    return found


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_MEDIA: {"schema": PROBLEM_REF}}}
