"""The portal's documents from the database: what ``/api/v1/openapi.json``,
``/api/v1/services/{slug}/openapi.json`` and ``/api/v1/docs`` serve (control plane).

Only enabled services that publish their docs and have a good document appear, through their
enabled routes. The result is kept per config version and server URL: every change of a route,
service or document bumps the version, so a removed route disappears at the next request.
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings

from portal import dialect
from portal.merge import merge
from portal.models import RoutePortal, ServiceDocument, ServicePortal
from portal.rewrite import Options, RouteView, ServiceView, service_document
from registry.models import Route, Service
from registry.services import current_config_version
from registry.validators import normalize_prefix, parse_methods

TITLE = "Gateway APIs"
_lock = threading.Lock()
_cache: dict[tuple[int, str], dict[str, Any]] = {}


def published(server_url: str) -> dict[str, Any]:
    """``{"merged": <document>, "services": {slug: <document>}}`` for this server URL."""
    key = (current_config_version(), server_url)
    with _lock:
        found = _cache.get(key)
    if found is not None:
        return found
    views, others = _load()
    options = Options(server_url=server_url, version_header=_version_header())
    services = {view.slug: service_document(view, others, options) for view in views}
    merged = merge([(view.slug, service_document(_as_31(view), others, options)) for view in views], server_url, TITLE)
    found = {"merged": merged, "services": services}
    with _lock:
        _cache.clear()  # one version at a time
        _cache[key] = found
    return found


def _as_31(view: ServiceView) -> ServiceView:
    return ServiceView(
        view.slug, view.name, view.description, view.base_path, dialect.as_31(view.document), view.routes
    )


def _load() -> tuple[list[ServiceView], list[RouteView]]:
    publishing = ServicePortal.objects.filter(publish_docs=True).exclude(openapi_url="").values_list("service_id")
    documents: dict[int, dict[str, Any]] = {
        row.service_id: row.document
        for row in ServiceDocument.objects.filter(service_id__in=publishing, document__isnull=False)
        if isinstance(row.document, dict)
    }
    routes = list(Route.objects.filter(enabled=True, service__enabled=True).order_by("pk"))
    validated = set(RoutePortal.objects.filter(validate_requests=True).values_list("route_id", flat=True))
    by_service: dict[int, list[RouteView]] = {}
    others = []
    for route in routes:
        view = route_view(route, route.pk in validated)
        others.append(view)
        by_service.setdefault(route.service_id, []).append(view)
    views = [
        ServiceView(s.slug, s.name, s.description, s.base_path, documents[s.pk], tuple(by_service.get(s.pk, ())))
        for s in Service.objects.filter(enabled=True, pk__in=documents).order_by("name")
    ]
    return views, others


def route_view(route: Route, validated: bool = False) -> RouteView:
    return RouteView(
        name=route.name,
        prefix=normalize_prefix(route.path_prefix),
        host=route.host.lower(),
        methods=parse_methods(route.methods),
        strip_prefix=route.strip_prefix,
        api_version=route.api_version,
        version_source=route.version_source,
        priority=route.priority,
        auth_mode=route.auth_mode,
        allow_anonymous=route.allow_anonymous,
        api_key_header=route.api_key_header,
        api_key_query_param=route.api_key_query_param,
        validated=validated,
    )


def _version_header() -> str:
    headers = settings.GATEWAY_VERSION_HEADERS
    return "-".join(part.capitalize() for part in headers[0].split("-")) if headers else "Accept-Version"
