"""The routing table: a ``Snapshot`` compiled into immutable routes, each with its policy chain.

``compile_table`` builds one ``ServiceUpstream`` per service and, per route, the chain of the
policies that route uses in front of ``forward``, plus one chain per registered **entry** (another
way into a route than a plain HTTP request, such as a WebSocket upgrade: the same policies in front
of the entry's own last step). ``RoutingTable.match`` is pure memory: host group, first path
segment, then longest prefix, version, priority and method.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from proxy.auth.config import AuthConfig
from proxy.auth.policy import refuse_unprotected
from proxy.paths import RequestPath, key_of, read_path
from proxy.pipeline import Handler, Policy, PolicyFactory, build_chain, load_factories, policies_for
from proxy.specs import RouteSpec, ServiceSpec, Snapshot
from proxy.upstream import ServiceUpstream, forward, load_gate_factory, tls_contexts

log = logging.getLogger(__name__)

DYNAMIC_PREFIX = "/api/v1/"
DYNAMIC_PRIORITY = -1_000_000


@dataclass(frozen=True, slots=True)
class Entry:
    """Another way into a route: ``terminal`` replaces ``forward`` at the end of the route's policies,
    for the routes ``accepts(route, snapshot)`` names."""

    terminal: Handler
    accepts: Callable[[RouteSpec, Snapshot], bool]


_entries: dict[str, Entry] = {}


def register_entry(name: str, terminal: Handler, accepts: Callable[[RouteSpec, Snapshot], bool]) -> None:
    """From an ``AppConfig.ready``: every table compiled afterwards has ``route.entries[name]``."""
    _entries[name] = Entry(terminal, accepts)


@dataclass(slots=True)
class CompiledRoute:
    spec: RouteSpec
    upstream: ServiceUpstream
    policies: tuple[Policy, ...]
    handle: Handler
    entries: Mapping[str, Handler] = field(default_factory=dict)
    # The methods the route matches: its own, plus those its policies answer themselves (a CORS
    # policy answers OPTIONS preflights on a GET-only route); None: any method.
    methods: frozenset[str] | None = field(init=False)
    key: str = field(init=False)  # the prefix as a path key (proxy.paths): what requests are matched on
    segments: int = field(init=False)
    prefix_slash: str = field(init=False)
    version_segment: str = field(init=False)

    def __post_init__(self) -> None:
        extra = frozenset(m for p in self.policies for m in getattr(p, "extra_methods", ()))
        own = self.spec.methods
        self.methods = own | extra if own is not None and extra else own
        self.key = key_of(self.spec.prefix)
        self.segments = 0 if self.key == "/" else self.key.count("/")
        self.prefix_slash = "/" if self.key == "/" else self.key + "/"
        self.version_segment = f"/{self.spec.api_version.lower()}" if self.spec.api_version else ""

    def sort_key(self) -> tuple[int, int, int, str]:
        spec = self.spec
        return (-len(self.key), -bool(spec.api_version), -spec.priority, spec.name)


class MethodMismatch:
    """Returned by ``match`` when a route took the path but not the method (405)."""

    def __init__(self, allowed: Iterable[str]) -> None:
        self.allowed = sorted(set(allowed))


class RoutingTable:
    def __init__(
        self, snapshot: Snapshot, routes: Sequence[CompiledRoute], upstreams: dict[str, ServiceUpstream]
    ) -> None:
        self.version = snapshot.version
        # What the control plane wants operators to know about this table (/health/detailed).
        self.warnings = snapshot.warnings + tuple(
            f"Service {u.spec.name!r}: its TLS settings cannot be loaded ({u.tls_error}); its requests answer 502."
            for u in upstreams.values()
            if u.tls_error
        )
        # For data-plane code outside a route's chain (the WebSocket fan-out endpoint).
        self.credentials = snapshot.credentials
        self.extensions: Mapping[str, Any] = snapshot.extensions
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
        self, host: str, path: str | RequestPath, method: str, version: str | None
    ) -> tuple[CompiledRoute, str] | MethodMismatch | None:
        """Return the route and the path to send upstream, a ``MethodMismatch``, or None. A path
        that cannot be read one way only raises ``BadRequest`` (``proxy.paths``)."""
        if isinstance(path, str):
            path = read_path(path)
        first = _first_segment(path.key)
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
        roots = [r for r in routes if r.key == "/"]
        by_segment: dict[str, list[CompiledRoute]] = {}
        for route in routes:
            if route.key != "/":
                by_segment.setdefault(_first_segment(route.key), []).append(route)
        self.by_segment = {seg: tuple(sorted(rs + roots, key=CompiledRoute.sort_key)) for seg, rs in by_segment.items()}
        self.roots = tuple(sorted(roots, key=CompiledRoute.sort_key))

    def find(
        self, first: str, path: RequestPath, method: str, version: str | None, mismatch: list[str]
    ) -> tuple[CompiledRoute, str] | None:
        key = path.key
        for route in self.by_segment.get(first, self.roots):
            spec = route.spec
            if not (key == route.key or key.startswith(route.prefix_slash)):
                continue
            segments, length = route.segments, (len(route.key) if route.segments else 0)
            if spec.api_version:
                in_path = _match_version(route, key[length:], version)
                if in_path is None:
                    continue
                if in_path:
                    segments, length = segments + 1, length + len(route.version_segment)
            methods = route.methods
            if methods is not None and method not in methods:
                mismatch.extend(methods)
                continue
            return route, _upstream_path(spec, path.raw, path.raw_after(segments, length))
        return None


def _match_version(route: CompiledRoute, rest: str, version: str | None) -> bool | None:
    """True when the version is the path segment after the prefix, False when it came from the
    header, None when the request is not for this route's version."""
    spec = route.spec
    if spec.version_in_path:
        seg = route.version_segment
        if rest == seg or rest.startswith(seg + "/"):
            return True
    if spec.version_in_header and version == spec.api_version:
        return False
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


# --- Compiling ----------------------------------------------------------------------------------


def dynamic_route(service: ServiceSpec, auth: AuthConfig | None) -> RouteSpec:
    """``ANY /api/v1/{service}/{path}`` for a service that opted in, with the authentication the
    control plane chose for it (``registry.dynamic``); the registry puts it in ``Snapshot.dynamic``."""
    return RouteSpec(
        id=0,
        name=f"dynamic:{service.slug}",
        service=service,
        prefix=DYNAMIC_PREFIX + service.slug,
        host="",
        methods=None,
        strip_prefix=True,
        priority=DYNAMIC_PRIORITY,
        api_version="",
        version_in_path=False,
        version_in_header=False,
        max_body_bytes=settings.GATEWAY_MAX_BODY_BYTES,
        body_timeout=settings.GATEWAY_BODY_DEADLINE,
        auth=auth,
    )


def compile_table(snapshot: Snapshot, factories: Sequence[PolicyFactory] | None = None) -> RoutingTable:
    if factories is None:
        factories = load_factories(settings.GATEWAY_POLICIES)
    gate_factory = load_gate_factory(settings.GATEWAY_TARGET_GATE)
    upstreams = {
        svc.slug: ServiceUpstream(svc, gate_factory.for_service(svc, snapshot) if gate_factory else None)
        for svc in snapshot.services
    }
    # TLS contexts were built with the upstreams; those no service uses any more are let go.
    tls_contexts.keep({u.tls_key for u in upstreams.values() if u.tls_key is not None})
    specs = list(snapshot.routes)
    if settings.GATEWAY_DYNAMIC_SERVICE_ROUTES:
        specs.extend(snapshot.dynamic)
    compiled = []
    for spec in specs:
        try:
            key_of(spec.prefix)
        except ValueError as exc:
            # Written past the validators (straight into the database): no request could match it.
            log.error("route %r is left out of the table: its prefix %r cannot match (%s)", spec.name, spec.prefix, exc)
            continue
        policies = policies_for(spec, snapshot, factories)
        # A route with auth settings whose chain lost the auth policy (GATEWAY_POLICIES) fails closed.
        unprotected = spec.auth is not None and not any(p.name == "auth" for p in policies)

        def chain(
            terminal: Handler, policies: tuple[Policy, ...] = policies, unprotected: bool = unprotected
        ) -> Handler:
            return refuse_unprotected if unprotected else build_chain(policies, terminal)

        entries = {name: chain(e.terminal) for name, e in _entries.items() if e.accepts(spec, snapshot)}
        compiled.append(CompiledRoute(spec, upstreams[spec.service.slug], policies, chain(forward), entries))
    return RoutingTable(snapshot, compiled, upstreams)
