"""The snapshot loader (``snapshot.extensions["edge"]``) and how the levels of a route combine.

Three levels apply to a route: the defaults (all routes), its service, the route itself; a
consumer's settings apply after authentication on top of them. Per group:

    CORS, security headers, Location rewriting   the most specific level that does not inherit
    IP allow list                                the most specific level that has one
    IP deny lists                                every level's, together (deny wins over allow)
    headers and query: remove                    every level's, together
    headers: rename and set                      per header name, the most specific level's
    headers and query: add                       every level's, defaults first
    path rewrite                                 the most specific level that has one

The loader runs in the table rebuild's thread; everything it returns is frozen and parsed, so the
policies (``edge.policies``) only compile per route.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from edge import cors, environment, ip_lists, transform
from edge import headers as h
from edge.security_headers import INHERIT, SecuritySpec
from proxy.specs import RouteSpec, Snapshot

NAME = "edge"
Op = transform.Op


@dataclass(frozen=True, slots=True)
class TransformSpec:
    request_remove: tuple[str, ...] = ()
    request_rename: tuple[tuple[str, str], ...] = ()
    request_set: tuple[Op, ...] = ()
    request_add: tuple[Op, ...] = ()
    query_remove: tuple[str, ...] = ()
    query_add: tuple[Op, ...] = ()
    path_rewrite: transform.PathRewrite | None = None
    response_remove: tuple[str, ...] = ()
    response_set: tuple[Op, ...] = ()
    response_add: tuple[Op, ...] = ()
    rewrite_location: str = INHERIT


@dataclass(frozen=True, slots=True)
class Level:
    cors: cors.CorsSpec | None = None  # None: inherit
    security: SecuritySpec | None = None  # None: inherit
    ip: ip_lists.IpListSpec = field(default_factory=ip_lists.IpListSpec)
    transform: TransformSpec = field(default_factory=TransformSpec)


EMPTY = Level()


@dataclass(frozen=True, slots=True, eq=False)
class ConsumerSpec:
    allow: ip_lists.Networks | None  # compiled once per table, shared by every route's step
    deny: ip_lists.Networks | None
    request_remove: tuple[str, ...] = ()
    request_set: tuple[Op, ...] = ()
    request_add: tuple[Op, ...] = ()

    @property
    def has_lists(self) -> bool:
        return self.allow is not None or self.deny is not None

    @property
    def has_headers(self) -> bool:
        return bool(self.request_remove or self.request_set or self.request_add)


@dataclass(frozen=True, slots=True)
class EdgeConfig:
    defaults: Level = EMPTY
    services: Mapping[int, Level] = field(default_factory=dict)
    routes: Mapping[int, Level] = field(default_factory=dict)
    consumers: Mapping[str, ConsumerSpec] = field(default_factory=dict)  # by consumer id

    def levels(self, route: RouteSpec) -> tuple[Level, Level, Level]:
        """The defaults, the service's, the route's (least specific first)."""
        own = self.routes.get(route.id, EMPTY) if route.id else EMPTY
        return self.defaults, self.services.get(route.service.id, EMPTY), own


def config_of(snapshot: Snapshot) -> EdgeConfig:
    found = snapshot.extensions.get(NAME)
    return found if isinstance(found, EdgeConfig) else EdgeConfig()


# --- Combining the levels of one route ------------------------------------------------------------


def cors_for(levels: tuple[Level, ...]) -> cors.CorsSpec | None:
    chosen = next((level.cors for level in reversed(levels) if level.cors is not None), None)
    return chosen if chosen is not None and chosen.enabled else None


def security_for(levels: tuple[Level, ...]) -> SecuritySpec | None:
    return next((level.security for level in reversed(levels) if level.security is not None), None)


def ip_lists_for(levels: tuple[Level, ...]) -> ip_lists.IpListSpec:
    allow = next((level.ip.allow for level in reversed(levels) if level.ip.allow), ())
    deny = tuple(dict.fromkeys(net for level in levels for net in level.ip.deny))
    return ip_lists.IpListSpec(allow, deny)


def transform_for(levels: tuple[Level, ...]) -> TransformSpec:
    specs = [level.transform for level in levels]
    renames: dict[str, str] = {}
    request_set: dict[str, Op] = {}
    response_set: dict[str, Op] = {}
    for spec in specs:
        renames.update(spec.request_rename)
        request_set.update((op[0], op) for op in spec.request_set)
        response_set.update((op[0], op) for op in spec.response_set)
    location = next((s.rewrite_location for s in reversed(specs) if s.rewrite_location != INHERIT), "on")
    return TransformSpec(
        request_remove=_union(s.request_remove for s in specs),
        request_rename=tuple(renames.items()),
        request_set=tuple(request_set.values()),
        request_add=tuple(op for s in specs for op in s.request_add),
        query_remove=_union(s.query_remove for s in specs),
        query_add=tuple(op for s in specs for op in s.query_add),
        path_rewrite=next((s.path_rewrite for s in reversed(specs) if s.path_rewrite is not None), None),
        response_remove=_union(s.response_remove for s in specs),
        response_set=tuple(response_set.values()),
        response_add=tuple(op for s in specs for op in s.response_add),
        rewrite_location=location,
    )


def _union(groups: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for group in groups for name in group))


# --- Loading ---------------------------------------------------------------------------------------


def load_edge(snapshot: Snapshot) -> EdgeConfig:
    from edge import models as m

    service_ids = [s.id for s in snapshot.services]
    route_ids = [r.id for r in snapshot.routes]
    services: dict[int, dict[str, Any]] = {}
    routes: dict[int, dict[str, Any]] = {}
    model: Any
    for model, group in ((m.ServiceCors, "cors"), (m.ServiceSecurityHeaders, "security"),
                         (m.ServiceIpLists, "ip"), (m.ServiceTransform, "transform")):  # fmt: skip
        for row in model.objects.filter(service_id__in=service_ids):
            services.setdefault(row.pk, {})[group] = _PARSERS[group](row)
    for model, group in ((m.RouteCors, "cors"), (m.RouteSecurityHeaders, "security"),
                         (m.RouteIpLists, "ip"), (m.RouteTransform, "transform")):  # fmt: skip
        for row in model.objects.filter(route_id__in=route_ids):
            routes.setdefault(row.pk, {})[group] = _PARSERS[group](row)
    defaults = m.EdgeDefaults.load()
    consumers = {
        str(row.pk): ConsumerSpec(
            *_networks(_ip(row)),
            request_remove=h.names(row.request_headers_remove, h.REQUEST_RESERVED),
            request_set=h.header_values(row.request_headers_set, h.REQUEST_RESERVED),
            request_add=h.header_values(row.request_headers_add, h.REQUEST_RESERVED),
        )
        for row in m.ConsumerEdge.objects.filter(enabled=True, consumer__enabled=True)
    }
    levels = {group: parse(defaults) for group, parse in _PARSERS.items()}
    if environment.origins and defaults.cors == "off":
        # CORS_ORIGINS: the defaults' CORS, while an admin has not turned it on at that level.
        from_environment = m.EdgeDefaults(pk=defaults.pk, cors="on", cors_origins=",".join(environment.origins))
        for name in ("cors_methods", "cors_allow_headers", "cors_expose_headers", "cors_credentials", "cors_max_age"):
            setattr(from_environment, name, getattr(defaults, name))
        levels["cors"] = _cors(from_environment)
    return EdgeConfig(
        defaults=Level(**levels),  # type: ignore[arg-type]
        services={pk: Level(**groups) for pk, groups in services.items()},
        routes={pk: Level(**groups) for pk, groups in routes.items()},
        consumers=consumers,
    )


def _networks(spec: ip_lists.IpListSpec) -> tuple[ip_lists.Networks | None, ip_lists.Networks | None]:
    return (
        ip_lists.Networks(spec.allow) if spec.allow else None,
        ip_lists.Networks(spec.deny) if spec.deny else None,
    )


def _cors(row: Any) -> cors.CorsSpec | None:
    if row.cors == INHERIT:
        return None
    return cors.CorsSpec(
        enabled=row.cors == "on",
        origins=cors.parse_origins(row.cors_origins),
        methods=cors.parse_methods(row.cors_methods),
        allow_headers=cors.parse_header_list(row.cors_allow_headers),
        expose_headers=cors.parse_header_list(row.cors_expose_headers),
        credentials=row.cors_credentials,
        max_age=row.cors_max_age,
    )


def _security(row: Any) -> SecuritySpec | None:
    if row.security_headers == INHERIT:
        return None
    return SecuritySpec(
        mode=row.security_headers,
        hsts_max_age=row.hsts_max_age,
        hsts_include_subdomains=row.hsts_include_subdomains,
        hsts_preload=row.hsts_preload,
        content_type_options=row.content_type_options,
        frame_options=row.frame_options,
        referrer_policy=row.referrer_policy,
        content_security_policy=row.content_security_policy,
        permissions_policy=row.permissions_policy,
        hide_server_headers=row.hide_server_headers,
    )


def _ip(row: Any) -> ip_lists.IpListSpec:
    return ip_lists.IpListSpec(ip_lists.parse_networks(row.ip_allow), ip_lists.parse_networks(row.ip_deny))


def _transform(row: Any) -> TransformSpec:
    rewrite = None
    if row.path_rewrite:
        pattern = transform.parse_pattern(row.path_rewrite)
        rewrite = transform.PathRewrite(pattern, transform.parse_replacement(row.path_rewrite_to, pattern))
    return TransformSpec(
        request_remove=h.names(row.request_headers_remove, h.REQUEST_RESERVED),
        request_rename=h.renames(row.request_headers_rename, h.REQUEST_RESERVED),
        request_set=h.header_values(row.request_headers_set, h.REQUEST_RESERVED),
        request_add=h.header_values(row.request_headers_add, h.REQUEST_RESERVED),
        query_remove=transform.query_names(row.query_remove),
        query_add=transform.query_values(row.query_add),
        path_rewrite=rewrite,
        response_remove=h.names(row.response_headers_remove, h.RESPONSE_RESERVED),
        response_set=h.header_values(row.response_headers_set, h.RESPONSE_RESERVED, credentials=True),
        response_add=h.header_values(row.response_headers_add, h.RESPONSE_RESERVED, credentials=True),
        rewrite_location=row.rewrite_location,
    )


_PARSERS = {"cors": _cors, "security": _security, "ip": _ip, "transform": _transform}
