"""A backend's OpenAPI document as callers of the gateway see it (pure: no database, no settings).

Each operation of the backend's document appears once per published route that reaches it, at the
path a caller sends to the gateway: the route's prefix (when the route strips it), the API version
segment (or a required version header), and the backend path without the service's ``base_path``
and without the document's own server path. Operations a route's methods exclude, or that a more
specific route would take, are left out. The gateway's public URL becomes the only server, each
operation gets the security of its route's auth mode and one tag, the service's.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from portal.documents import refs
from proxy.errors import problem_schema

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PROBLEM = "application/problem+json"
PROBLEM_REF = "#/components/schemas/GatewayProblem"


@dataclass(frozen=True, slots=True)
class RouteView:
    """What the rewrite needs of a route (an enabled route of an enabled service)."""

    name: str
    prefix: str  # normalized: "/" or without a trailing slash
    host: str
    methods: tuple[str, ...]  # upper case; empty: every method
    strip_prefix: bool
    api_version: str
    version_source: str  # path, header, either
    priority: int
    auth_mode: str  # none, api_key, jwt, either, introspection
    allow_anonymous: bool = False
    api_key_header: str = ""
    api_key_query_param: str = ""
    validated: bool = False

    def sort_key(self) -> tuple[int, int, int, str]:
        # The routing table's order: the route the gateway would pick comes first.
        return (-len(self.prefix), -bool(self.api_version), -self.priority, self.name)


@dataclass(frozen=True, slots=True)
class ServiceView:
    slug: str
    name: str
    description: str
    base_path: str
    document: dict[str, Any]
    routes: tuple[RouteView, ...]


@dataclass(frozen=True, slots=True)
class Options:
    server_url: str  # the gateway's public URL
    version_header: str = "Accept-Version"


def service_document(service: ServiceView, others: Sequence[RouteView], options: Options) -> dict[str, Any]:
    """The service's document through its routes; ``others`` are every enabled route of every
    service (to leave out operations another, more specific route takes)."""
    source = service.document
    out: dict[str, Any] = {k: copy.deepcopy(v) for k, v in source.items() if k not in ("paths", "servers", "security")}
    out["info"] = {
        **copy.deepcopy(source.get("info") or {}),
        "title": (source.get("info") or {}).get("title") or service.name,
    }
    out["servers"] = [{"url": options.server_url}]
    out["tags"] = [{"name": service.name, "description": service.description or f"Service {service.slug}"}]
    components = out.setdefault("components", {})
    components.pop("securitySchemes", None)
    schemes: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    ids: set[str] = set()
    server_base = server_path(source)
    # One operation per path and method: where a header-versioned route shares its path with
    # another route, the one callers reach without the header is shown.
    for route in sorted(
        service.routes, key=lambda r: (r.version_source == "header" and bool(r.api_version), r.sort_key())
    ):
        for backend_path, item in (source.get("paths") or {}).items():
            if not isinstance(item, dict):
                continue
            public = gateway_path(route, service.base_path, server_base + backend_path)
            if public is None:
                continue
            _add_operations(paths, ids, schemes, public, item, route, service, others, options)
    out["paths"] = paths
    if schemes:
        components["securitySchemes"] = schemes
    if any(ref == PROBLEM_REF for ref in refs(paths)):
        components.setdefault("schemas", {})["GatewayProblem"] = copy.deepcopy(GATEWAY_PROBLEM)
    if not components:
        del out["components"]
    return out


def gateway_path(route: RouteView, base_path: str, backend_path: str) -> str | None:
    """The path a caller sends to reach ``backend_path`` through ``route``, or None when the route
    cannot reach it."""
    base = base_path.rstrip("/")
    if base:
        if backend_path != base and not backend_path.startswith(base + "/"):
            return None
        backend_path = backend_path[len(base) :]
    forwarded = backend_path or "/"
    in_path = bool(route.api_version) and route.version_source in ("path", "either")
    prefix = "" if route.prefix == "/" else route.prefix
    if route.strip_prefix:
        return prefix + (f"/{route.api_version}" if in_path else "") + forwarded
    if prefix and forwarded != prefix and not forwarded.startswith(prefix + "/"):
        return None
    if route.api_version and route.version_source == "path":
        rest = forwarded[len(prefix) :]
        segment = f"/{route.api_version}"
        if rest != segment and not rest.startswith(segment + "/"):
            return None
    return forwarded


def needs_version_header(route: RouteView, public_path: str) -> bool:
    if not route.api_version:
        return False
    if route.version_source == "header":
        return True
    if route.version_source == "either" and not route.strip_prefix:
        rest = public_path[len("" if route.prefix == "/" else route.prefix) :]
        segment = f"/{route.api_version}"
        return rest != segment and not rest.startswith(segment + "/")
    return False


def _add_operations(
    paths: dict[str, dict[str, Any]],
    ids: set[str],
    schemes: dict[str, Any],
    public: str,
    item: dict[str, Any],
    route: RouteView,
    service: ServiceView,
    others: Sequence[RouteView],
    options: Options,
) -> None:
    for method in METHODS:
        operation = item.get(method)
        if not isinstance(operation, dict):
            continue
        if route.methods and method.upper() not in route.methods:
            continue
        target = paths.setdefault(public, {})
        if method in target or _shadowed(route, public, method.upper(), others):
            continue
        for key in ("summary", "description", "parameters"):
            if key in item and key not in target:
                target[key] = copy.deepcopy(item[key])
        if route.host and not route.host.startswith("*."):
            scheme = urlsplit(options.server_url).scheme or "https"
            target.setdefault("servers", [{"url": f"{scheme}://{route.host}"}])
        target[method] = _operation(operation, method, public, route, service, ids, schemes, options)
    if public in paths and not any(m in paths[public] for m in METHODS):
        del paths[public]


def _operation(
    source: dict[str, Any],
    method: str,
    public: str,
    route: RouteView,
    service: ServiceView,
    ids: set[str],
    schemes: dict[str, Any],
    options: Options,
) -> dict[str, Any]:
    operation = copy.deepcopy(source)
    operation.pop("servers", None)
    operation["tags"] = [service.name]
    operation["operationId"] = unique(str(source.get("operationId") or _generated_id(method, public)), ids, route.name)
    if needs_version_header(route, public):
        header = {
            "name": options.version_header,
            "in": "header",
            "required": True,
            "description": "The API version this route serves.",
            "schema": {"type": "string", "enum": [route.api_version]},
        }
        operation["parameters"] = [*operation.get("parameters", []), header]
    security = security_of(route, schemes)
    operation["security"] = security
    responses = operation.setdefault("responses", {})
    if security and {} not in security:
        responses.setdefault("401", _problem("Missing or invalid credentials (from the gateway)."))
    if security:
        responses.setdefault("403", _problem("The caller lacks a role this route needs (from the gateway)."))
    if route.validated:
        responses.setdefault("400", _problem("The request does not match this document (from the gateway)."))
    return operation


def security_of(route: RouteView, schemes: dict[str, Any]) -> list[dict[str, list[str]]]:
    """The route's auth mode as OpenAPI security requirements (alternatives), adding the schemes used."""
    mode = route.auth_mode
    options: list[dict[str, list[str]]] = []
    if mode in ("api_key", "either"):
        schemes["gatewayApiKey"] = {
            "type": "http",
            "scheme": "bearer",
            "description": "A gateway API key (gw_...) in 'Authorization: Bearer <key>'.",
        }
        options.append({"gatewayApiKey": []})
        if route.api_key_header:
            name = f"apiKeyHeader_{route.api_key_header}"
            schemes[name] = {"type": "apiKey", "in": "header", "name": route.api_key_header}
            options.append({name: []})
        if route.api_key_query_param:
            name = f"apiKeyQuery_{route.api_key_query_param}"
            schemes[name] = {"type": "apiKey", "in": "query", "name": route.api_key_query_param}
            options.append({name: []})
    if mode in ("jwt", "either"):
        schemes["gatewayJwt"] = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
        options.append({"gatewayJwt": []})
    if mode == "introspection":
        schemes["gatewayToken"] = {"type": "http", "scheme": "bearer", "description": "An OAuth 2.0 access token."}
        options.append({"gatewayToken": []})
    if options and route.allow_anonymous:
        options.append({})
    return options


def unique(wanted: str, taken: set[str], hint: str) -> str:
    """``wanted``, or ``wanted_<hint>``, or that with a counter: the first one not taken yet."""
    candidate = wanted
    if candidate in taken:
        candidate = f"{wanted}_{hint}"
    number = 2
    while candidate in taken:
        candidate = f"{wanted}_{hint}_{number}"
        number += 1
    taken.add(candidate)
    return candidate


def _shadowed(route: RouteView, public: str, method: str, others: Iterable[RouteView]) -> bool:
    """Another route with a longer prefix takes this path first (the part before any {parameter})."""
    literal = public.split("{", 1)[0]
    for other in others:
        if len(other.prefix) <= len(route.prefix) or other.host not in ("", route.host):
            continue
        if other.api_version and other.api_version != route.api_version:
            continue
        if other.methods and method not in other.methods:
            continue
        if literal == other.prefix or literal.startswith(other.prefix + "/") or public == other.prefix:
            return True
    return False


def server_path(document: dict[str, Any]) -> str:
    """The path part of the document's first server (``/api`` of ``https://x/api``), or ""."""
    servers = document.get("servers") or []
    if not servers or not isinstance(servers[0], dict):
        return ""
    url = str(servers[0].get("url") or "")
    for name, variable in (servers[0].get("variables") or {}).items():
        url = url.replace("{" + name + "}", str((variable or {}).get("default", "")))
    path = urlsplit(url).path if "://" in url else url.split("?", 1)[0]
    return path.rstrip("/")


def _generated_id(method: str, path: str) -> str:
    words = [part.strip("{}") for part in path.split("/") if part]
    return "_".join([method, *words]) or method


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM: {"schema": {"$ref": PROBLEM_REF}}}}


GATEWAY_PROBLEM = problem_schema(
    "An RFC 9457 problem the gateway itself answers with (X-Gateway-Error names the reason).",
    {"type": "array", "items": {"type": "object"}},
)
