"""The snapshot loader: enabled configuration rows as the data plane's frozen specs.

This is the only code that reads the database for the data plane. ``load_snapshot`` runs in the
config watcher's worker thread (never on the event loop): it reads services, targets, routes,
credentials and the dynamic routes of the services that opted in (``registry.dynamic``) into a
``proxy.specs.Snapshot``, then calls every feature app's loader.

A feature app keeps its models to itself and registers a loader from its ``AppConfig.ready``
(``register_loader(name, loader)``). The loader receives the snapshot read so far (it may query the
database) and returns immutable data, which the app's policy factory later finds in
``snapshot.extensions[name]``. A loader that raises fails the whole rebuild, so the old table keeps
serving. ``build_table`` compiles the result (``proxy.table.compile_table``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from django.conf import settings

from proxy.specs import RouteSpec, ServiceSpec, Snapshot, TargetSpec
from proxy.table import RoutingTable, compile_table, dynamic_route
from registry.auth_compile import config_for, load_credentials
from registry.auth_demand import Demand, of_route
from registry.dynamic import decide
from registry.models import Route, Service, ServiceDynamicRoute
from registry.services import current_config_version
from registry.validators import normalize_prefix, parse_methods

Loader = Callable[[Snapshot], Any]
_loaders: dict[str, Loader] = {}


def register_loader(name: str, loader: Loader) -> None:
    _loaders[name] = loader


def load_snapshot() -> Snapshot:
    """Read the enabled configuration. The version is read first, so the data read after it is at
    least as new as the version it is served under."""
    version = current_config_version()
    services: dict[int, ServiceSpec] = {}
    for svc in Service.objects.filter(enabled=True).prefetch_related("targets"):
        targets = tuple(
            TargetSpec(id=t.pk, host=t.host, port=t.port, weight=t.weight)
            for t in sorted(svc.targets.all(), key=lambda t: t.pk)
            if t.enabled
        )
        services[svc.pk] = ServiceSpec(
            id=svc.pk,
            slug=svc.slug,
            name=svc.name,
            scheme=svc.protocol,
            base_path=svc.base_path.rstrip("/"),
            connect_timeout=svc.connect_timeout,
            read_timeout=svc.read_timeout,
            retries=svc.retries,
            lb_algorithm=svc.lb_algorithm,
            preserve_host=svc.preserve_host,
            targets=targets,
            tls_ca_bundle=svc.tls_ca_bundle,
            tls_client_cert=svc.tls_client_cert,
            tls_client_key=svc.tls_client_key,
            tls_server_name=svc.tls_server_name,
        )
    credentials, by_issuer = load_credentials()
    routes = []
    demands: dict[int, dict[str, Demand]] = {}
    enabled_routes = Route.objects.filter(enabled=True, service__enabled=True).prefetch_related("jwt_issuers")
    for route in enabled_routes.order_by("pk"):
        demand = of_route(route)
        demands.setdefault(route.service_id, {})[route.name] = demand
        methods = parse_methods(route.methods)
        routes.append(
            RouteSpec(
                id=route.pk,
                name=route.name,
                service=services[route.service_id],
                prefix=normalize_prefix(route.path_prefix),
                host=route.host.lower(),
                methods=frozenset(methods) if methods else None,
                strip_prefix=route.strip_prefix,
                priority=route.priority,
                api_version=route.api_version,
                version_in_path=route.version_source in ("path", "either"),
                version_in_header=route.version_source in ("header", "either"),
                max_body_bytes=(
                    route.max_body_bytes if route.max_body_bytes is not None else settings.GATEWAY_MAX_BODY_BYTES
                ),
                body_timeout=(route.body_timeout if route.body_timeout is not None else settings.GATEWAY_BODY_DEADLINE),
                auth=config_for(
                    demand, credentials, by_issuer, route.api_key_header.lower().encode(), route.api_key_query_param
                ),
            )
        )
    dynamic, warnings = [], []
    opted_in = ServiceDynamicRoute.objects.filter(dynamic_route=True, service_id__in=services).order_by("pk")
    for row in opted_in if settings.GATEWAY_DYNAMIC_SERVICE_ROUTES else ():
        service = services[row.service_id]
        decision = decide(row, service.name, service.slug, demands.get(service.id, {}))
        if decision.warning:
            warnings.append(decision.warning)
        if decision.demand is not None:
            dynamic.append(dynamic_route(service, config_for(decision.demand, credentials, by_issuer)))
    snapshot = Snapshot(
        int(version),
        tuple(services.values()),
        tuple(routes),
        credentials,
        dynamic=tuple(dynamic),
        warnings=tuple(warnings),
    )
    if not _loaders:
        return snapshot
    return replace(snapshot, extensions={name: loader(snapshot) for name, loader in _loaders.items()})


def build_table() -> RoutingTable:
    return compile_table(load_snapshot())
