"""The route simulator ("why did this request get a 401?"): what the gateway would do with a request,
without contacting any backend or consuming any quota.

``simulate`` compiles the table from the database as every gateway process does (``build_table``),
matches the request with the table's own matcher, says for every other route why it did not take
the request, and shows the matched route's upstream URL (the target its balancer would choose on a
fresh table), then the route's policies in order with what each would decide: authentication is
checked for real against the table's keys and issuers (no API key's "last used" is written, no
token is sent to an introspection endpoint); the others are described from their compiled settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings

from proxy.auth.apikeys import KeyRefused, verify_key
from proxy.auth.config import INTROSPECTION
from proxy.auth.credentials import find_credential, identify_token
from proxy.auth.jwt import TokenRefused
from proxy.auth.policy import AuthPolicy
from proxy.auth.revocation import denylist
from proxy.errors import GatewayError
from proxy.paths import RequestPath, key_of, read_path
from proxy.reserved import is_reserved
from proxy.table import CompiledRoute, MethodMismatch, RoutingTable
from registry.snapshot import build_table


@dataclass(frozen=True, slots=True)
class Candidate:
    name: str
    service: str
    match: str  # host, prefix, version and methods, as configured
    verdict: str  # "matched", or why not


@dataclass(frozen=True, slots=True)
class Step:
    policy: str
    decision: str
    stops: bool = False  # the request would be answered here


@dataclass(slots=True)
class Simulation:
    method: str
    host: str
    path: str
    outcome: str  # what the client would get, in a sentence
    status: int | None = None  # the gateway's own answer, when it answers itself
    route: str | None = None
    service: str | None = None
    upstream_url: str | None = None
    target: str | None = None
    version: int = 0
    candidates: list[Candidate] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)


@dataclass(slots=True)
class _Carrier:
    headers: list[tuple[bytes, bytes]]
    query: bytes


def simulate(
    method: str, host: str, path: str, headers: Sequence[tuple[str, str]] = (), table: RoutingTable | None = None
) -> Simulation:
    method = method.upper()
    host = host.strip().lower()
    colon = host.rfind(":")
    if colon > 0 and "]" not in host[colon:]:
        host = host[:colon]
    raw_path, _, query = path.partition("?")
    result = Simulation(method, host, path, outcome="")
    table = table if table is not None else build_table()
    result.version = table.version
    if is_reserved(raw_path):
        result.outcome = "Served by the gateway itself (a reserved path): no route is consulted."
        return result
    try:
        request_path = read_path(raw_path)
    except GatewayError as exc:
        result.status, result.outcome = exc.status, f"{exc.status}: {exc}"
        return result
    version = _version(headers)
    found = table.match(host, request_path, method, version)
    matched = found[0] if isinstance(found, tuple) else None
    result.candidates = [_candidate(route, host, request_path, method, version, matched) for route in table.routes]
    if found is None:
        result.status, result.outcome = 404, f"404 no_route: no route matches {method} {raw_path}."
        return result
    if isinstance(found, MethodMismatch):
        result.status = 405
        result.outcome = f"405 method_not_allowed: allowed here: {', '.join(found.allowed)}."
        return result
    route, upstream_path = found
    result.route, result.service = route.spec.name, route.spec.service.slug
    _upstream(result, route, upstream_path, query)
    # As they would arrive: latin-1 on the wire (what cannot be sent becomes '?').
    carrier = _Carrier([(_wire(k.lower()), _wire(v)) for k, v in headers], _wire(query))
    for policy in route.policies:
        step = _explain(policy, carrier)
        result.steps.append(step)
        if step.stops:
            result.status = _status(step.decision)
            result.outcome = step.decision
            return result
    result.outcome = f"Forwarded to {result.upstream_url}" if result.upstream_url else "503: the service has no target."
    return result


def _wire(text: str) -> bytes:
    return text.encode("latin-1", "replace")


def _version(headers: Sequence[tuple[str, str]]) -> str | None:
    names = {h.lower() for h in settings.GATEWAY_VERSION_HEADERS}
    return next((value.strip() for name, value in headers if name.lower() in names), None)


def _candidate(
    route: CompiledRoute, host: str, path: RequestPath, method: str, version: str | None, matched: CompiledRoute | None
) -> Candidate:
    spec = route.spec
    shown = f"{spec.host or '*'} {spec.prefix}" + (f" {spec.api_version}" if spec.api_version else "")
    shown += f" [{', '.join(sorted(spec.methods))}]" if spec.methods is not None else " [any method]"
    return Candidate(spec.name, spec.service.slug, shown, _verdict(route, host, path, method, version, matched))


def _verdict(
    route: CompiledRoute, host: str, path: RequestPath, method: str, version: str | None, matched: CompiledRoute | None
) -> str:
    spec = route.spec
    if route is matched:
        return "matched"
    if spec.host and not (host == spec.host or (spec.host.startswith("*.") and host.endswith(spec.host[1:]))):
        return f"host {host!r} is not {spec.host!r}"
    key = path.key
    if not (key == route.key or key.startswith(route.prefix_slash)):
        return f"path is not {key_of(spec.prefix)} or below it"
    if spec.api_version:
        rest = key[len(route.key) if route.segments else 0 :]
        in_path = spec.version_in_path and (
            rest == route.version_segment or rest.startswith(route.version_segment + "/")
        )
        if not in_path and not (spec.version_in_header and version == spec.api_version):
            return f"not a request for version {spec.api_version}"
    if route.methods is not None and method not in route.methods:
        return f"{method} is not among {', '.join(sorted(route.methods))}"
    if matched is not None:
        return f"also matches, but {matched.spec.name!r} wins (longer prefix, versioned, higher priority, then name)"
    return "matches"


def _upstream(result: Simulation, route: CompiledRoute, upstream_path: str, query: str) -> None:
    upstream = route.upstream
    if not upstream.targets:
        return
    index = upstream.balancer.pick()  # a fresh table's balancer: no live state is touched
    result.target = f"{upstream.origins[index][0]}:{upstream.origins[index][1]}"
    result.upstream_url = str(upstream.url(index, upstream_path, _wire(query)))


def _explain(policy: object, carrier: _Carrier) -> Step:
    name = str(getattr(policy, "name", type(policy).__name__))
    if isinstance(policy, AuthPolicy):
        return _explain_auth(policy, carrier)
    explain = getattr(policy, "explain", None)
    if callable(explain):
        decision, stops = explain(carrier)
        return Step(name, str(decision), bool(stops))
    return Step(name, f"runs ({type(policy).__module__}.{type(policy).__name__}); not previewed")


def _explain_auth(policy: AuthPolicy, carrier: _Carrier) -> Step:
    config = policy.config
    found = find_credential(carrier, config, policy.accepts_keys)
    if found is None:
        if config.allow_anonymous:
            return Step("auth", "no credential: passes anonymously (allowed on this route)")
        return Step("auth", "401 missing_credentials: this route needs credentials", stops=True)
    value, is_key = found
    if is_key:
        if not policy.accepts_keys:
            return Step("auth", "401 invalid_credentials: this route does not accept API keys", stops=True)
        try:
            identity = verify_key(value, policy.keys, policy.hasher).identity
        except KeyRefused as exc:
            return Step("auth", f"401 invalid_credentials: {exc}", stops=True)
    elif config.mode == INTROSPECTION:
        return Step("auth", "a token: would be sent to the introspection endpoint (not called by the simulator)")
    elif not policy.accepts_tokens:
        return Step("auth", "401 invalid_credentials: the API key is malformed", stops=True)
    else:
        try:
            identity, _, mark = identify_token(value, config)
        except TokenRefused as exc:
            return Step("auth", f"401 invalid_token: {exc}", stops=True)
        if denylist.revoked(mark):  # as the gateway checks it: this process's copy of the revocations
            return Step("auth", "401 token_revoked: the token was revoked", stops=True)
    roles = ", ".join(sorted(identity.roles)) or "none"
    who = f"{identity.name or identity.subject} (roles: {roles})"
    if policy.required and not policy.required <= identity.roles:
        missing = ", ".join(sorted(policy.required - identity.roles))
        return Step("auth", f"403 insufficient_role: {who} lacks {missing}", stops=True)
    return Step("auth", f"authenticated as {who}")


def _status(decision: str) -> int | None:
    head = decision.split(" ", 1)[0]
    return int(head) if head.isdigit() else None
