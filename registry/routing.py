"""Compile the registry into a frozen, in-memory ``RoutingTable``.

This is the only code that reads the database for the data plane. ``load_snapshot`` reads the
models (in a thread, off the event loop); ``compile_table`` turns the snapshot into immutable specs,
one ``ServiceUpstream`` per service and one policy chain per route. ``RoutingTable.match`` is pure
memory: host group, first path segment, then longest prefix, version, priority and method.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from proxy.auth.config import AuthConfig, Credentials
from proxy.auth.policy import refuse_unprotected
from proxy.pipeline import Handler, Policy, PolicyFactory, build_chain, load_factories, policies_for
from proxy.upstream import ServiceUpstream, forward, load_gate_factory
from registry.auth_compile import auth_for, load_credentials
from registry.models import ConfigVersion, Route, Service, Target
from registry.validators import normalize_prefix, parse_methods, parse_statuses
from registry.websocket_compile import WebSocketSpec, websocket_for

DYNAMIC_PREFIX = "/api/v1/"
DYNAMIC_PRIORITY = -1_000_000


@dataclass(frozen=True, slots=True)
class BreakerSpec:
    """A target's circuit breaker settings (the service's, with the target's overrides applied)."""

    failures: int
    failure_ratio: float
    min_calls: int
    window: float
    failure_statuses: frozenset[int]
    open_seconds: float
    max_open_seconds: float
    half_open_probes: int
    half_open_successes: int
    probe_timeout: float  # connect + read timeout: a probe still out after this counts as failed


@dataclass(frozen=True, slots=True)
class HealthCheckSpec:
    path: str
    statuses: frozenset[int]
    timeout: float
    interval: float
    healthy_successes: int
    unhealthy_failures: int


@dataclass(frozen=True, slots=True)
class TargetSpec:
    id: int
    host: str
    port: int
    weight: int
    breaker: BreakerSpec | None = None

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    id: int
    slug: str
    name: str
    scheme: str
    base_path: str
    connect_timeout: float
    read_timeout: float
    retries: int
    lb_algorithm: str
    preserve_host: bool
    targets: tuple[TargetSpec, ...]
    health_check: HealthCheckSpec | None = None


@dataclass(frozen=True, slots=True)
class RouteSpec:
    id: int  # 0 for the dynamic /api/v1/{service} routes
    name: str
    service: ServiceSpec
    prefix: str
    host: str  # "" any, "api.example.com" exact, "*.example.com" wildcard
    methods: frozenset[str] | None
    strip_prefix: bool
    priority: int
    api_version: str
    version_in_path: bool
    version_in_header: bool
    max_body_bytes: int
    auth: AuthConfig | None = None  # None: no authentication step on this route
    websocket: WebSocketSpec | None = None  # None: WebSocket upgrades are refused on this route
    audit: bool = True  # recorded in the audit trail (always when phi)
    phi: bool = False  # fails closed (503) when the audit trail cannot accept a record


@dataclass(frozen=True, slots=True)
class Snapshot:
    version: int
    services: tuple[ServiceSpec, ...]
    routes: tuple[RouteSpec, ...]
    credentials: Credentials = field(default_factory=Credentials)
    # What feature apps loaded for their own policies (register_loader), by loader name.
    extensions: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class CompiledRoute:
    spec: RouteSpec
    upstream: ServiceUpstream
    policies: tuple[Policy, ...]
    handle: Handler
    prefix_slash: str = field(init=False)
    version_segment: str = field(init=False)

    def __post_init__(self) -> None:
        self.prefix_slash = "/" if self.spec.prefix == "/" else self.spec.prefix + "/"
        self.version_segment = f"/{self.spec.api_version}" if self.spec.api_version else ""

    def sort_key(self) -> tuple[int, int, int, str]:
        spec = self.spec
        return (-len(spec.prefix), -bool(spec.api_version), -spec.priority, spec.name)


class MethodMismatch:
    """Returned by ``match`` when a route took the path but not the method (405)."""

    def __init__(self, allowed: Iterable[str]) -> None:
        self.allowed = sorted(set(allowed))


class RoutingTable:
    def __init__(
        self,
        version: int,
        routes: Sequence[CompiledRoute],
        upstreams: dict[str, ServiceUpstream],
        credentials: Credentials | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        self.version = version
        # For data-plane code outside a route's chain (the WebSocket fan-out endpoint).
        self.credentials = credentials if credentials is not None else Credentials()
        self.extensions: Mapping[str, Any] = extensions or {}
        self.built_at = time.time()
        self.routes = tuple(routes)
        self.upstreams = upstreams
        exact: dict[str, list[CompiledRoute]] = {}
        wildcard: dict[str, list[CompiledRoute]] = {}
        anyhost: list[CompiledRoute] = []
        for route in self.routes:
            host = route.spec.host
            if not host:
                anyhost.append(route)
            elif host.startswith("*."):
                wildcard.setdefault(host[1:], []).append(route)
            else:
                exact.setdefault(host, []).append(route)
        self._exact = {h: _SegmentIndex(rs) for h, rs in exact.items()}
        self._wildcard = tuple(
            (suffix, _SegmentIndex(rs)) for suffix, rs in sorted(wildcard.items(), key=lambda i: -len(i[0]))
        )
        self._any = _SegmentIndex(anyhost)

    def match(
        self, host: str, path: str, method: str, version: str | None
    ) -> tuple[CompiledRoute, str] | MethodMismatch | None:
        """Return the route and the path to send upstream, a ``MethodMismatch``, or None."""
        first = _first_segment(path)
        mismatch: list[str] = []
        index = self._exact.get(host)
        if index is not None:
            found = index.find(first, path, method, version, mismatch)
            if found is not None:
                return found
        for suffix, index in self._wildcard:
            if host.endswith(suffix):
                found = index.find(first, path, method, version, mismatch)
                if found is not None:
                    return found
        found = self._any.find(first, path, method, version, mismatch)
        if found is not None:
            return found
        return MethodMismatch(mismatch) if mismatch else None


class _SegmentIndex:
    """Routes of one host group, indexed by the first path segment of their prefix."""

    def __init__(self, routes: Iterable[CompiledRoute]) -> None:
        routes = list(routes)
        roots = [r for r in routes if r.spec.prefix == "/"]
        by_segment: dict[str, list[CompiledRoute]] = {}
        for route in routes:
            if route.spec.prefix != "/":
                by_segment.setdefault(_first_segment(route.spec.prefix), []).append(route)
        self.by_segment = {seg: tuple(sorted(rs + roots, key=CompiledRoute.sort_key)) for seg, rs in by_segment.items()}
        self.roots = tuple(sorted(roots, key=CompiledRoute.sort_key))

    def find(
        self, first: str, path: str, method: str, version: str | None, mismatch: list[str]
    ) -> tuple[CompiledRoute, str] | None:
        for route in self.by_segment.get(first, self.roots):
            spec = route.spec
            if not (path == spec.prefix or path.startswith(route.prefix_slash)):
                continue
            rest = path[len(spec.prefix) :] if spec.prefix != "/" else path
            if spec.api_version:
                versioned = _match_version(route, rest, version)
                if versioned is None:
                    continue
                rest = versioned
            if spec.methods is not None and method not in spec.methods:
                mismatch.extend(spec.methods)
                continue
            return route, _upstream_path(spec, path, rest)
        return None


def _match_version(route: CompiledRoute, rest: str, version: str | None) -> str | None:
    """The path after the prefix (minus the version segment when it came from the path), or None."""
    spec = route.spec
    if spec.version_in_path:
        seg = route.version_segment
        if rest == seg or rest.startswith(seg + "/"):
            return rest[len(seg) :]
    if spec.version_in_header and version == spec.api_version:
        return rest
    return None


def _upstream_path(spec: RouteSpec, path: str, rest: str) -> str:
    forwarded = rest if spec.strip_prefix else path
    base = spec.service.base_path
    if base:
        return base + forwarded if forwarded.startswith("/") or not forwarded else base + "/" + forwarded
    return forwarded or "/"


def _first_segment(path: str) -> str:
    end = path.find("/", 1)
    return path[1:end] if end > 0 else path[1:]


# --- Reading and compiling ----------------------------------------------------------------------

# Feature apps (rate limits, audit, WebSockets) keep their models to themselves: each registers a
# loader from its AppConfig.ready. A loader runs inside load_snapshot (a worker thread, so it may
# query the database), receives the snapshot read so far and returns immutable data that its policy
# factory later finds in ``snapshot.extensions[name]``. A loader that raises fails the whole rebuild,
# so the old table keeps serving.
Loader = Callable[["Snapshot"], Any]
_loaders: dict[str, Loader] = {}


def register_loader(name: str, loader: Loader) -> None:
    _loaders[name] = loader


def _load_extensions(base: Snapshot) -> Snapshot:
    if not _loaders:
        return base
    extensions = {name: loader(base) for name, loader in _loaders.items()}
    return Snapshot(base.version, base.services, base.routes, base.credentials, extensions)


def load_snapshot() -> Snapshot:
    """Read the enabled configuration. Runs in a thread; the version is read first, so the data
    read after it is at least as new as the version it is served under."""
    version = ConfigVersion.objects.filter(pk=1).values_list("version", flat=True).first() or 0
    services: dict[int, ServiceSpec] = {}
    for svc in Service.objects.filter(enabled=True).prefetch_related("targets"):
        targets = tuple(
            TargetSpec(id=t.pk, host=t.host, port=t.port, weight=t.weight, breaker=_breaker(svc, t))
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
            health_check=_health_check(svc),
        )
    credentials, by_issuer = load_credentials()
    routes = []
    enabled_routes = Route.objects.filter(enabled=True, service__enabled=True).prefetch_related("jwt_issuers")
    for route in enabled_routes.order_by("pk"):
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
                auth=auth_for(route, credentials, by_issuer),
                websocket=websocket_for(route),
                audit=route.audit or route.phi,
                phi=route.phi,
            )
        )
    base = Snapshot(
        version=int(version), services=tuple(services.values()), routes=tuple(routes), credentials=credentials
    )
    return _load_extensions(base)


def _breaker(svc: Service, target: Target) -> BreakerSpec | None:
    if not svc.breaker_enabled:
        return None
    failures = target.breaker_failures if target.breaker_failures is not None else svc.breaker_failures
    open_seconds = target.breaker_open_seconds if target.breaker_open_seconds is not None else svc.breaker_open_seconds
    return BreakerSpec(
        failures=failures,
        failure_ratio=svc.breaker_failure_ratio,
        min_calls=svc.breaker_min_calls,
        window=svc.breaker_window,
        failure_statuses=parse_statuses(svc.breaker_failure_statuses),
        open_seconds=open_seconds,
        max_open_seconds=max(svc.breaker_max_open_seconds, open_seconds),
        half_open_probes=svc.breaker_half_open_probes,
        half_open_successes=svc.breaker_half_open_successes,
        probe_timeout=svc.connect_timeout + svc.read_timeout + 1.0,
    )


def _health_check(svc: Service) -> HealthCheckSpec | None:
    if not svc.health_check_path:
        return None
    return HealthCheckSpec(
        path=svc.health_check_path,
        statuses=parse_statuses(svc.health_check_statuses),
        timeout=svc.health_check_timeout,
        interval=svc.health_check_interval,
        healthy_successes=svc.health_check_healthy_successes,
        unhealthy_failures=svc.health_check_unhealthy_failures,
    )


def dynamic_routes(services: Iterable[ServiceSpec]) -> list[RouteSpec]:
    """``ALL /api/v1/{service}/{path}``: one synthetic route per enabled service."""
    return [
        RouteSpec(
            id=0,
            name=f"dynamic:{svc.slug}",
            service=svc,
            prefix=DYNAMIC_PREFIX + svc.slug,
            host="",
            methods=None,
            strip_prefix=True,
            priority=DYNAMIC_PRIORITY,
            api_version="",
            version_in_path=False,
            version_in_header=False,
            max_body_bytes=settings.GATEWAY_MAX_BODY_BYTES,
        )
        for svc in services
    ]


def compile_table(snapshot: Snapshot, factories: Sequence[PolicyFactory] | None = None) -> RoutingTable:
    if factories is None:
        factories = load_factories(settings.GATEWAY_POLICIES)
    gate_factory = load_gate_factory(settings.GATEWAY_TARGET_GATE)
    upstreams = {
        svc.slug: ServiceUpstream(svc, gate_factory.for_service(svc) if gate_factory else None)
        for svc in snapshot.services
    }
    specs = list(snapshot.routes)
    if settings.GATEWAY_DYNAMIC_SERVICE_ROUTES:
        specs.extend(dynamic_routes(snapshot.services))
    compiled = []
    for spec in specs:
        upstream = upstreams[spec.service.slug]
        policies = policies_for(spec, snapshot, factories)
        handle = build_chain(policies, forward)
        if spec.auth is not None and not any(p.name == "auth" for p in policies):
            handle = refuse_unprotected  # GATEWAY_POLICIES lost the auth policy: fail closed
        compiled.append(CompiledRoute(spec, upstream, policies, handle))
    return RoutingTable(snapshot.version, compiled, upstreams, snapshot.credentials, snapshot.extensions)


def build_table() -> RoutingTable:
    return compile_table(load_snapshot())
