"""The routing table: a ``Snapshot`` compiled into immutable routes, each with its policy chain.

``compile_table`` builds one ``ServiceUpstream`` per service and, per route, the chain of the
policies that route uses in front of ``forward``, plus one chain per registered **entry** (another
way into a route than a plain HTTP request, such as a WebSocket upgrade: the same policies in front
of the entry's own last step). ``RoutingTable.match`` is pure memory: host group, first path
segment, then longest prefix, version, priority and method.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from proxy.auth.policy import refuse_unprotected
from proxy.pipeline import Handler, Policy, PolicyFactory, build_chain, load_factories, policies_for
from proxy.specs import RouteSpec, ServiceSpec, Snapshot
from proxy.upstream import ServiceUpstream, forward, load_gate_factory

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
        self, snapshot: Snapshot, routes: Sequence[CompiledRoute], upstreams: dict[str, ServiceUpstream]
    ) -> None:
        self.version = snapshot.version
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


# --- Compiling ----------------------------------------------------------------------------------


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
            body_timeout=settings.GATEWAY_BODY_DEADLINE,
        )
        for svc in services
    ]


def compile_table(snapshot: Snapshot, factories: Sequence[PolicyFactory] | None = None) -> RoutingTable:
    if factories is None:
        factories = load_factories(settings.GATEWAY_POLICIES)
    gate_factory = load_gate_factory(settings.GATEWAY_TARGET_GATE)
    upstreams = {
        svc.slug: ServiceUpstream(svc, gate_factory.for_service(svc, snapshot) if gate_factory else None)
        for svc in snapshot.services
    }
    specs = list(snapshot.routes)
    if settings.GATEWAY_DYNAMIC_SERVICE_ROUTES:
        specs.extend(dynamic_routes(snapshot.services))
    compiled = []
    for spec in specs:
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
