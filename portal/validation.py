"""Request validation against a service's OpenAPI document, compiled once per document version.

``compile_document`` turns a document (in 3.1's dialect, ``portal.dialect``) into a
``DocumentValidator``: a dict of literal paths and a list of compiled path-template regexes, and per
operation its parameters and JSON body with a ready JSON Schema 2020-12 validator (jsonschema-rs).
A request then costs a dict look-up or a short regex scan, a few casts and one validator call per
value: no document is walked and no schema compiled on the request path (see docs/portal.md for the
measured cost; openapi-core's per-request validation measured ~1 ms here, too slow for the data plane).

Supported: path, query, header and cookie parameters of the simple and form styles (scalars and
arrays; ``content`` parameters as JSON), and JSON request bodies (``application/json``, ``*+json``).
Other bodies are checked for their media type only; object-valued parameters are not checked.
In 3.0 documents ``readOnly`` properties are not required in requests, as OpenAPI 3.0 says; 3.1
defers to JSON Schema, where ``required`` holds (as openapi-core reads both).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import jsonschema_rs

from portal.dialect import for_each_schema
from portal.rewrite import METHODS, server_path

_INTEGER = re.compile(r"^-?[0-9]+$")
_NUMBER = re.compile(r"^-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$")


@dataclass(frozen=True, slots=True)
class Problem:
    """One way a request differs from the document: where, and what."""

    location: str  # path, query, header, cookie, body, method
    detail: str
    name: str = ""  # the parameter
    pointer: str = ""  # JSON pointer into the body

    def as_dict(self) -> dict[str, str]:
        out = {"in": self.location, "detail": self.detail}
        if self.name:
            out["name"] = self.name
        if self.location == "body":
            out["pointer"] = self.pointer
        return out


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str  # header names in lower case
    location: str
    required: bool
    kind: str  # scalar, array, json, unchecked
    types: frozenset[str]  # JSON types a raw value may be cast to (the items' for arrays)
    explode: bool
    validator: Any

    def problems(self, raw: Sequence[str]) -> list[Problem]:
        if not raw:
            return [Problem(self.location, "A required parameter is missing.", self.name)] if self.required else []
        if self.kind == "unchecked":
            return []
        try:
            value = self._value(raw)
        except ValueError:
            return [Problem(self.location, "The value is not valid JSON.", self.name)]
        if self.validator.is_valid(value):  # the common case, and much cheaper than listing errors
            return []
        return [Problem(self.location, _message(e), self.name) for e in self.validator.iter_errors(value)]

    def _value(self, raw: Sequence[str]) -> Any:
        if self.kind == "json":
            return json.loads(raw[-1])
        if self.kind == "array":
            items = list(raw) if self.location == "query" and self.explode else raw[-1].split(",")
            return [cast(item, self.types) for item in items]
        return cast(raw[-1], self.types)


@dataclass(frozen=True, slots=True)
class Operation:
    parameters: tuple[Parameter, ...]
    media_types: Mapping[str, Any]  # declared media type (lower case) -> JSON validator or None
    body_required: bool
    reads_query: bool
    reads_headers: bool
    reads_cookies: bool

    @property
    def has_body(self) -> bool:
        return bool(self.media_types)

    def media_type(self, content_type: str) -> str | None:
        """The declared media type a request's Content-Type falls under, or None."""
        base = content_type.split(";", 1)[0].strip().lower()
        for candidate in (base, base.split("/", 1)[0] + "/*", "*/*"):
            if candidate in self.media_types:
                return candidate
        return None


@dataclass(frozen=True, slots=True)
class Found:
    operations: Mapping[str, Operation]  # by upper-case method
    path_values: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class DocumentValidator:
    digest: str
    server_base: str  # the document's own server path, e.g. /api
    literal: Mapping[str, Mapping[str, Operation]]
    # Templated paths by their first segment when it is literal ("" for the others), most literal first.
    templated: Mapping[str, tuple[tuple[re.Pattern[str], tuple[str, ...], Mapping[str, Operation]], ...]]
    operation_count: int = field(default=0)

    def find(self, backend_path: str) -> Found | None:
        """The operations at ``backend_path`` (raw, as sent to the backend), or None."""
        path = backend_path
        if self.server_base:
            if path != self.server_base and not path.startswith(self.server_base + "/"):
                return None
            path = path[len(self.server_base) :] or "/"
        operations = self.literal.get(path)
        if operations is not None:
            return Found(operations, {})
        first = path[1:].split("/", 1)[0]
        for regex, names, operations in (*self.templated.get(first, ()), *self.templated.get("", ())):
            match = regex.fullmatch(path)
            if match is not None:
                return Found(
                    operations, {name: unquote(value) for name, value in zip(names, match.groups(), strict=True)}
                )
        return None


def check_parameters(
    operation: Operation, path_values: Mapping[str, str], query: bytes, headers: Sequence[tuple[bytes, bytes]]
) -> list[Problem]:
    queries: dict[str, list[str]] = {}
    if operation.reads_query and query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            queries.setdefault(name, []).append(value)
    header_values: dict[str, list[str]] = {}
    cookies: dict[str, list[str]] = {}
    if operation.reads_headers or operation.reads_cookies:
        for raw_name, raw_value in headers:
            header_values.setdefault(raw_name.decode("latin-1"), []).append(raw_value.decode("latin-1"))
        if operation.reads_cookies:
            for line in header_values.get("cookie", ()):
                for pair in line.split(";"):
                    key, _, value = pair.strip().partition("=")
                    if key:
                        cookies.setdefault(key, []).append(value)
    problems: list[Problem] = []
    for parameter in operation.parameters:
        if parameter.location == "path":
            raw: Sequence[str] = (path_values[parameter.name],) if parameter.name in path_values else ()
        elif parameter.location == "query":
            raw = queries.get(parameter.name, ())
        elif parameter.location == "header":
            raw = header_values.get(parameter.name, ())
        else:
            raw = cookies.get(parameter.name, ())
        problems.extend(parameter.problems(raw))
    return problems


def check_body(operation: Operation, content_type: str, body: bytes | None) -> list[Problem]:
    if not body:
        return [Problem("body", "The request needs a body.")] if operation.body_required else []
    media = operation.media_type(content_type)
    if media is None:
        accepted = ", ".join(sorted(operation.media_types))
        return [
            Problem("header", f"Content type {content_type or '(none)'!r} is not one of: {accepted}.", "content-type")
        ]
    validator = operation.media_types[media]
    if validator is None:
        return []
    try:
        value = json.loads(body)
    except ValueError:
        return [Problem("body", "The body is not valid JSON.")]
    if validator.is_valid(value):
        return []
    return [Problem("body", _message(e), pointer=_pointer(e.instance_path)) for e in validator.iter_errors(value)]


def cast(raw: str, types: frozenset[str]) -> Any:
    """A parameter's text as the JSON value its schema's types expect (left as text when it is not one)."""
    if "integer" in types and _INTEGER.match(raw):
        return int(raw)
    if "number" in types and _NUMBER.match(raw):
        return float(raw) if any(c in raw for c in ".eE") else int(raw)
    if "boolean" in types and raw in ("true", "false"):
        return raw == "true"
    if "null" in types and raw == "" and "string" not in types:
        return None
    return raw


# --- Compiling ----------------------------------------------------------------------------------


def compile_document(document: Mapping[str, Any], digest: str, read_only_optional: bool = False) -> DocumentValidator:
    """``document`` in 3.1's dialect (``read_only_optional`` for one that was 3.0). Runs in the table
    rebuild's thread, once per document version."""
    doc = copy.deepcopy(dict(document))
    if read_only_optional:
        for_each_schema(doc, _not_read_only)
    components = doc.get("components") or {}
    literal: dict[str, dict[str, Operation]] = {}
    templated: list[tuple[int, str, re.Pattern[str], tuple[str, ...], dict[str, Operation]]] = []
    count = 0
    for path, item in (doc.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        item = _resolved(item, doc)
        operations = {}
        for method in METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                operations[method.upper()] = _operation(item, operation, doc, components)
                count += 1
        if "{" in path:
            regex, names, literal_chars = _template(path)
            first = path[1:].split("/", 1)[0]
            templated.append((literal_chars, "" if "{" in first else first, regex, names, operations))
        else:
            literal[path] = operations
    # OpenAPI: concrete paths win over templated ones; among templates, the most literal first.
    by_segment: dict[str, list[tuple[re.Pattern[str], tuple[str, ...], dict[str, Operation]]]] = {}
    for _, first, regex, names, ops in sorted(templated, key=lambda t: -t[0]):
        by_segment.setdefault(first, []).append((regex, names, ops))
    indexed = {segment: tuple(entries) for segment, entries in by_segment.items()}
    return DocumentValidator(digest, server_path(doc), literal, indexed, count)


def _operation(item: dict[str, Any], operation: dict[str, Any], doc: dict[str, Any], components: Any) -> Operation:
    by_key: dict[tuple[str, str], Parameter] = {}
    for raw in [*(item.get("parameters") or ()), *(operation.get("parameters") or ())]:
        parameter = _resolved(raw, doc)
        if not isinstance(parameter, dict) or "name" not in parameter or "in" not in parameter:
            continue
        compiled = _parameter(parameter, doc, components)
        by_key[(compiled.location, compiled.name)] = compiled  # the operation's own wins over the path's
    body = _resolved(operation.get("requestBody"), doc) or {}
    media_types: dict[str, Any] = {}
    for media, content in (body.get("content") or {}).items():
        schema = (content or {}).get("schema") if isinstance(content, dict) else None
        is_json = media.split(";", 1)[0].strip().lower()
        json_like = is_json == "application/json" or is_json.endswith("+json")
        media_types[is_json] = _validator(schema, components) if json_like and schema is not None else None
    parameters = tuple(by_key.values())
    return Operation(
        parameters=parameters,
        media_types=media_types,
        body_required=bool(body.get("required")),
        reads_query=any(p.location == "query" for p in parameters),
        reads_headers=any(p.location == "header" for p in parameters),
        reads_cookies=any(p.location == "cookie" for p in parameters),
    )


def _parameter(parameter: dict[str, Any], doc: dict[str, Any], components: Any) -> Parameter:
    location = str(parameter["in"])
    name = str(parameter["name"]).lower() if location == "header" else str(parameter["name"])
    required = bool(parameter.get("required")) or location == "path"
    if "content" in parameter:
        media = next(iter(parameter["content"].values()), None) or {}
        schema = media.get("schema") if isinstance(media, dict) else None
        return Parameter(name, location, required, "json", frozenset(), False, _validator(schema or {}, components))
    schema = parameter.get("schema") or {}
    resolved = _resolved(schema, doc)
    types = _types(resolved)
    style = parameter.get("style") or ("form" if location in ("query", "cookie") else "simple")
    explode = bool(parameter.get("explode", style == "form"))
    cast_types: frozenset[str]
    if "object" in types or style not in ("form", "simple"):
        kind, cast_types = "unchecked", frozenset()
    elif "array" in types:
        kind, cast_types = "array", _types(_resolved(resolved.get("items") or {}, doc))
    else:
        kind, cast_types = "scalar", types
    return Parameter(name, location, required, kind, cast_types, explode, _validator(schema, components))


def _validator(schema: Any, components: Any) -> Any:
    if not isinstance(schema, dict):
        schema = {}
    rooted = {**schema, "components": components}  # the anchor of "#/components/..." references
    return jsonschema_rs.Draft202012Validator(rooted, validate_formats=True)


def _types(schema: Any) -> frozenset[str]:
    if not isinstance(schema, dict):
        return frozenset()
    kind = schema.get("type")
    if isinstance(kind, str):
        return frozenset({kind})
    if isinstance(kind, list):
        return frozenset(str(k) for k in kind)
    found: set[str] = set()
    for combined in ("anyOf", "oneOf", "allOf"):
        for item in schema.get(combined) or ():
            found |= _types(item)
    return frozenset(found)


def _resolved(node: Any, doc: dict[str, Any]) -> Any:
    """A ``{"$ref": "#/..."}`` object replaced by what it points to (a few levels deep)."""
    for _ in range(8):
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/")):
            return node
        target: Any = doc
        for part in node["$ref"][2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part) if isinstance(target, dict) else None
        node = target
    return node


def _template(path: str) -> tuple[re.Pattern[str], tuple[str, ...], int]:
    """``/pets/{id}`` as a regex with one group per parameter, their names, and how many literal
    characters it has (the more, the more specific)."""
    pattern, names, literal_chars = [], [], 0
    for part in re.split(r"(\{[^{}/]+\})", path):
        if part.startswith("{") and part.endswith("}"):
            names.append(part[1:-1])
            pattern.append("([^/]+)")
        else:
            pattern.append(re.escape(part))
            literal_chars += len(part)
    return re.compile("".join(pattern)), tuple(names), literal_chars


def _not_read_only(schema: dict[str, Any]) -> None:
    properties = schema.get("properties")
    required = schema.get("required")
    if isinstance(properties, dict) and isinstance(required, list):
        read_only = {n for n, p in properties.items() if isinstance(p, dict) and p.get("readOnly") is True}
        if read_only:
            schema["required"] = [n for n in required if n not in read_only]


def _message(error: Any) -> str:
    return str(getattr(error, "message", error))[:300]


def _pointer(path: Sequence[Any]) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)
