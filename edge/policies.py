"""The edge policies' data-plane steps, in the order ``GATEWAY_POLICIES`` lists them:

    AuditPolicy (compliance)
    ResponseHeadersPolicy      security headers, response transformations, Location; on every answer,
                               the gateway's own errors included
    IpListPolicy               403 ip_denied before anything else looks at the request
    CorsPolicy                 answers preflights (never forwarded); CORS headers on every answer
    BodyLimitPolicy, AuthPolicy
    ConsumerIpListPolicy       a consumer's own lists, once the caller is known
    RateLimitPolicy (ratelimit)
    RequestTransformPolicy     headers, query, path: last, so templates see the caller

Each ``for_route`` reads ``snapshot.extensions["edge"]`` once per route and returns None when the
route has nothing for it, so such a route has no step.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_from_bytes

from edge import compile as c
from edge.cors import DEFAULT_METHODS, CorsSpec, Origins
from edge.errors import IpDenied, PathTooLong
from edge.ip_lists import Networks, address_of
from edge.location import ORIGINAL_PATH, LocationRewrite
from edge.security_headers import compile_headers
from edge.templates import Template
from edge.transform import MAX_REWRITTEN_PATH, PathRewrite, drop_params, has_dot_segments
from proxy.errors import BadRequest, GatewayError, MethodNotAllowed
from proxy.exchange import Exchange, Headers, Response
from proxy.pipeline import Handler

if TYPE_CHECKING:
    from proxy.specs import RouteSpec, Snapshot
# Headers of the gateway's problem answers that no transformation may duplicate.
PROBLEM_HEADERS = frozenset({b"content-type", b"content-length", b"x-gateway-error", b"x-request-id", b"cache-control"})
VERDICTS = 10_000  # addresses remembered per IP list step
# A backend's own CORS answer, replaced by the gateway's on a route with CORS on.
BACKEND_CORS = frozenset(
    b"access-control-" + n
    for n in (b"allow-origin", b"allow-credentials", b"allow-methods", b"allow-headers", b"expose-headers", b"max-age")
)
_TOKENS_RE = re.compile(rb"[A-Za-z0-9!#$%&'*+.^_`|~-]+(?:[ \t]*,[ \t]*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*")

Values = tuple[tuple[bytes, Template], ...]


def _templates(ops: tuple[c.Op, ...], route: RouteSpec) -> Values:
    return tuple((name.encode(), Template.for_route(parts, route)) for name, parts in ops)


def _split(values: Values) -> tuple[Headers, Values]:
    """Values known at compile time, sent as they are, and those rendered per request."""
    static = [(name, t.static) for name, t in values if t.static is not None]
    return static, tuple((name, t) for name, t in values if t.static is None)


def _render(values: Values, exchange: Exchange) -> Headers:
    out = []
    for name, template in values:
        value = template.value(exchange)
        if value:
            out.append((name, value))
    return out


class ResponseHeadersPolicy:
    name = "edge_response"

    def __init__(
        self, drop: frozenset[bytes], values: Values, https_only: Headers, location: LocationRewrite | None
    ) -> None:
        self.drop = drop
        self.static, self.dynamic = _split(values)
        self.touches = bool(drop or values)
        self.https_only = https_only
        self.location = location
        self.error_static, self.error_dynamic = _split(tuple((n, t) for n, t in values if n not in PROBLEM_HEADERS))

    @classmethod
    def for_route(cls, route: RouteSpec, snapshot: Snapshot) -> ResponseHeadersPolicy | None:
        levels = c.config_of(snapshot).levels(route)
        security = c.security_for(levels)
        compiled = compile_headers(security) if security is not None else None
        transform = c.transform_for(levels)
        fixed: dict[bytes, Template] = {}
        drop = {name.encode() for name in transform.response_remove}
        https_only: Headers = []
        if compiled is not None:
            fixed.update((n, Template((v.decode(),), v)) for n, v in compiled.always)
            drop |= compiled.hidden | {n for n, _ in compiled.always}
            https_only = list(compiled.https_only)
            drop |= {n for n, _ in https_only}
        for name, template in _templates(transform.response_set, route):
            fixed[name] = template
            drop.add(name)
        values = (*fixed.items(), *_templates(transform.response_add, route))
        location = LocationRewrite.for_route(route) if transform.rewrite_location == "on" else None
        if not drop and not values and location is None:
            return None
        return cls(frozenset(drop), values, https_only, location)

    def explain(self, carrier: Any) -> tuple[str, bool]:
        """For the route simulator (``edge.explain``)."""
        from edge import explain

        return explain.response_headers(self, carrier)

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Response:
        try:
            response = await call_next(exchange)
        except GatewayError as error:
            # A new list: a policy may raise with a list it keeps (its WWW-Authenticate challenges).
            added = (
                self.error_static + _render(self.error_dynamic, exchange) if self.error_dynamic else self.error_static
            )
            error.headers = [*error.headers, *added, *self._https(exchange)]
            raise
        if self.touches:
            response.headers = self._transformed(response.headers, exchange)
        elif self.location is not None:
            response.headers = self.location.apply(response.headers, exchange)
        return response

    def _transformed(self, headers: Headers, exchange: Exchange) -> Headers:
        drop = self.drop
        out = [(n, v) for n, v in headers if n not in drop]
        if self.location is not None:
            out = self.location.apply(out, exchange)
        out += self.static
        if self.dynamic:
            out += _render(self.dynamic, exchange)
        if self.https_only and exchange.scheme == "https":
            out += self.https_only
        return out

    def _https(self, exchange: Exchange) -> Headers:
        return self.https_only if self.https_only and exchange.scheme == "https" else []


class IpListPolicy:
    name = "ip_lists"

    def __init__(self, allow: Networks | None, deny: Networks | None) -> None:
        self.allow = allow
        self.deny = deny
        self.verdicts: dict[str, bool] = {}

    @classmethod
    def for_route(cls, route: RouteSpec, snapshot: Snapshot) -> IpListPolicy | None:
        spec = c.ip_lists_for(c.config_of(snapshot).levels(route))
        if not spec.allow and not spec.deny:
            return None
        return cls(Networks(spec.allow) if spec.allow else None, Networks(spec.deny) if spec.deny else None)

    def explain(self, carrier: Any) -> tuple[str, bool]:
        """For the route simulator (``edge.explain``)."""
        from edge import explain

        return explain.ip_lists(self, carrier)

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Response:
        address = exchange.client_address or exchange.client_ip
        allowed = self.verdicts.get(address)
        if allowed is None:
            allowed = admits(self.allow, self.deny, address)
            if len(self.verdicts) >= VERDICTS:
                self.verdicts.clear()
            self.verdicts[address] = allowed
        if not allowed:
            raise IpDenied("This client address may not call this route.")
        return await call_next(exchange)


def admits(allow: Networks | None, deny: Networks | None, address: str) -> bool:
    """Deny wins over allow; an address that does not parse is refused by an allow list."""
    parsed = address_of(address)
    if parsed is None:
        return allow is None
    if deny is not None and parsed in deny:
        return False
    return allow is None or parsed in allow


class ConsumerIpListPolicy:
    """After authentication: a consumer with lists of its own may only call from them, on every route."""

    name = "consumer_ip_lists"

    def __init__(self, consumers: dict[str, tuple[Networks | None, Networks | None]]) -> None:
        self.consumers = consumers
        self.verdicts: dict[tuple[str, str], bool] = {}

    @classmethod
    def for_route(cls, route: RouteSpec, snapshot: Snapshot) -> ConsumerIpListPolicy | None:
        if route.auth is None:
            return None
        consumers = {cid: (s.allow, s.deny) for cid, s in c.config_of(snapshot).consumers.items() if s.has_lists}
        return cls(consumers) if consumers else None

    def explain(self, carrier: Any) -> tuple[str, bool]:
        """For the route simulator (``edge.explain``)."""
        from edge import explain

        return explain.consumer_ip_lists(self, carrier)

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Response:
        identity = exchange.identity
        lists = self.consumers.get(identity.consumer_id) if identity is not None else None
        if lists is not None:
            assert identity is not None
            key = (identity.consumer_id, exchange.client_address or exchange.client_ip)
            allowed = self.verdicts.get(key)
            if allowed is None:
                allowed = admits(lists[0], lists[1], key[1])
                if len(self.verdicts) >= VERDICTS:
                    self.verdicts.clear()
                self.verdicts[key] = allowed
            if not allowed:
                raise IpDenied("This consumer may not call from this address.")
        return await call_next(exchange)


class CorsPolicy:
    name = "cors"
    extra_methods = frozenset({"OPTIONS"})

    def __init__(self, spec: CorsSpec, route: RouteSpec) -> None:
        self.origins = Origins(spec.origins)
        self.credentials = spec.credentials
        # "*" is a fixed answer; anything else depends on the Origin, which caches must know.
        self.fixed_any = self.origins.any and not spec.credentials
        methods = spec.methods or (tuple(sorted(route.methods)) if route.methods else DEFAULT_METHODS)
        self.allow_methods = ", ".join(methods).encode()
        self.allow_headers = ", ".join(spec.allow_headers).encode() if spec.allow_headers else None
        self.route_methods = route.methods
        extra: Headers = []
        if spec.credentials:
            extra.append((b"access-control-allow-credentials", b"true"))
        if spec.expose_headers:
            extra.append((b"access-control-expose-headers", ", ".join(spec.expose_headers).encode()))
        self.extra = extra
        self.max_age = [(b"access-control-max-age", str(spec.max_age).encode())] if spec.max_age is not None else []

    @classmethod
    def for_route(cls, route: RouteSpec, snapshot: Snapshot) -> CorsPolicy | None:
        spec = c.cors_for(c.config_of(snapshot).levels(route))
        return cls(spec, route) if spec is not None else None

    def explain(self, carrier: Any) -> tuple[str, bool]:
        """For the route simulator (``edge.explain``)."""
        from edge import explain

        return explain.cors(self, carrier)

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Response:
        origin = None
        for name, value in exchange.headers:
            if name == b"origin":
                origin = value
                break
        if exchange.method == "OPTIONS":
            preflight = self._preflight(exchange, origin) if origin is not None else None
            if preflight is not None:
                return preflight
            if self.route_methods is not None and "OPTIONS" not in self.route_methods:
                allow = ", ".join(sorted(self.route_methods)).encode()
                raise MethodNotAllowed("OPTIONS is not allowed here.", headers=[(b"allow", allow)])
        added = self._actual(origin)
        try:
            response = await call_next(exchange)
        except GatewayError as error:
            error.headers = [*error.headers, *added]
            raise
        headers = response.headers
        if any(n in BACKEND_CORS for n, _ in headers):
            headers = [(n, v) for n, v in headers if n not in BACKEND_CORS]
        response.headers = headers + added
        return response

    def _allowed_origin(self, origin: bytes | None) -> bytes | None:
        if self.fixed_any:
            return b"*"
        if origin is None or not self.origins.allows(origin.lower()):
            return None
        return origin

    def _actual(self, origin: bytes | None) -> Headers:
        allowed = self._allowed_origin(origin)
        vary: Headers = [] if self.fixed_any else [(b"vary", b"origin")]
        if allowed is None:
            return vary
        return [(b"access-control-allow-origin", allowed), *self.extra, *vary]

    def _preflight(self, exchange: Exchange, origin: bytes) -> Response | None:
        """The answer to a preflight (None: not one, an OPTIONS request of its own)."""
        method = request_headers = None
        for name, value in exchange.headers:
            if name == b"access-control-request-method":
                method = value
            elif name == b"access-control-request-headers":
                request_headers = value
        if method is None:
            return None
        headers: Headers = [
            (b"vary", b"origin, access-control-request-method, access-control-request-headers"),
            (b"x-request-id", exchange.request_id.encode()),
        ]
        allowed = self._allowed_origin(origin)
        if allowed is not None:
            headers += [(b"access-control-allow-origin", allowed), *self.extra]
            headers.append((b"access-control-allow-methods", self.allow_methods))
            wanted = self.allow_headers
            if wanted is None and request_headers and _TOKENS_RE.fullmatch(request_headers.strip()):
                wanted = request_headers.strip().lower()
            if wanted:
                headers.append((b"access-control-allow-headers", wanted))
            headers += self.max_age
        return Response(204, headers)


class RequestTransformPolicy:
    name = "request_transform"

    def __init__(self, route: RouteSpec, spec: c.TransformSpec, consumers: dict[str, c.ConsumerSpec]) -> None:
        self.route = route
        self.remove = frozenset(n.encode() for n in spec.request_remove)
        self.renames = {old.encode(): new.encode() for old, new in spec.request_rename}
        self.replaced = frozenset(n.encode() for n, _ in spec.request_set)
        values = _templates(spec.request_set, route) + _templates(spec.request_add, route)
        self.static, self.dynamic = _split(values)
        self.headers = bool(self.remove or self.renames or values)
        self.dropped = self.remove | self.replaced  # without renames, one membership test per header
        self.query_remove = frozenset(n.encode() for n in spec.query_remove)
        self.query_add = _templates(spec.query_add, route)
        self.rewrite: PathRewrite | None = spec.path_rewrite
        self.consumers = consumers
        self._per_consumer: dict[str, tuple[frozenset[bytes], Values]] = {}

    @classmethod
    def for_route(cls, route: RouteSpec, snapshot: Snapshot) -> RequestTransformPolicy | None:
        config = c.config_of(snapshot)
        spec = c.transform_for(config.levels(route))
        consumers = {cid: s for cid, s in config.consumers.items() if s.has_headers} if route.auth else {}
        policy = cls(route, spec, consumers)
        if not (policy.headers or policy.query_remove or policy.query_add or policy.rewrite or consumers):
            return None
        return policy

    def explain(self, carrier: Any) -> tuple[str, bool]:
        """For the route simulator (``edge.explain``)."""
        from edge import explain

        return explain.request_transform(self, carrier)

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Response:
        if self.headers:
            exchange.headers = self._headers(exchange)
        if self.consumers and exchange.identity is not None and exchange.identity.consumer_id in self.consumers:
            self._consumer(exchange, exchange.identity.consumer_id)
        if self.query_remove or self.query_add:
            exchange.query = self._query(exchange)
        if self.rewrite is not None:
            self._rewrite(exchange, self.rewrite)
        return await call_next(exchange)

    def _headers(self, exchange: Exchange) -> Headers:
        if not self.renames:
            dropped = self.dropped
            out = [(n, v) for n, v in exchange.headers if n not in dropped]
        else:
            remove, renames, replaced = self.remove, self.renames, self.replaced
            out = []
            for name, value in exchange.headers:
                if name in remove:
                    continue
                name = renames.get(name, name)
                if name not in replaced:
                    out.append((name, value))
        out += self.static
        if self.dynamic:
            out += _render(self.dynamic, exchange)
        return out

    def _consumer(self, exchange: Exchange, consumer_id: str) -> None:
        compiled = self._per_consumer.get(consumer_id)
        if compiled is None:
            spec = self.consumers[consumer_id]
            replaced = frozenset(n.encode() for n in spec.request_remove) | {n.encode() for n, _ in spec.request_set}
            values = _templates(spec.request_set, self.route) + _templates(spec.request_add, self.route)
            compiled = self._per_consumer[consumer_id] = (replaced, values)
        drop, values = compiled
        exchange.headers = [(n, v) for n, v in exchange.headers if n not in drop] + _render(values, exchange)

    def _query(self, exchange: Exchange) -> bytes:
        query = drop_params(exchange.query, self.query_remove) if self.query_remove else exchange.query
        added = []
        for name, template in self.query_add:
            value = template.value(exchange)
            if value:
                added.append(name + b"=" + quote_from_bytes(value, safe="").encode())
        return b"&".join(part for part in (query, *added) if part)

    def _rewrite(self, exchange: Exchange, rewrite: PathRewrite) -> None:
        path = exchange.upstream_path
        if len(path) > MAX_REWRITTEN_PATH:
            raise PathTooLong(f"This route rewrites paths of up to {MAX_REWRITTEN_PATH} bytes.")
        rewritten = rewrite.apply(path)
        if rewritten is None or rewritten == path:
            return
        if has_dot_segments(rewritten):
            raise BadRequest("The rewritten path has '.' or '..' segments.", reason="invalid_path")
        exchange.extra[ORIGINAL_PATH] = path
        exchange.upstream_path = rewritten
