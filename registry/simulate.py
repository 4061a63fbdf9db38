"""The route simulator ("why did this request get a 401?"): what the gateway would do with a request,
without contacting any backend or consuming any quota.

``simulate`` compiles the table from the database as every gateway process does (``build_table``),
matches the request with the table's own matcher, says for every other route why it did not take
the request, then runs the route's policies in order on a stand-in for the request (``_Carrier``)
and shows what each would decide: authentication is checked for real against the table's keys and
issuers (no API key's "last used" is written, no token is sent to an introspection endpoint); every
other policy answers through its own ``explain(carrier) -> (decision, stops)``, the seam each feature
app implements on its own policy class (remaining rate-limit quota, cache status, CORS, IP lists and
transformations, read without changing anything). Last, the service's target gate (the breaker)
explains each target's state and which target the balancer would choose, skipping refused ones; the
upstream URL is built for that target from the path and query as the transformations left them.

Only ``send=True`` (``registry.simulate_send``) contacts a backend: the chosen target, directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from proxy.auth.apikeys import KeyRefused, verify_key
from proxy.auth.config import INTROSPECTION, Identity
from proxy.auth.credentials import find_credential, identify_token
from proxy.auth.jwt import TokenRefused
from proxy.auth.policy import AuthPolicy
from proxy.auth.revocation import denylist
from proxy.errors import GatewayError
from proxy.paths import RequestPath, key_of, read_path
from proxy.reserved import is_reserved
from proxy.specs import ServiceSpec
from proxy.table import CompiledRoute, MethodMismatch, RoutingTable
from registry.simulate_send import Real, send_for_real
from registry.snapshot import build_table

DEFAULT_CLIENT = "127.0.0.1"


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
    client_address: str = DEFAULT_CLIENT
    real: Real | None = None  # the backend's answer, when sent for real


@dataclass(slots=True)
class _Carrier:
    """What the policies' ``explain`` read of a request: the ``Exchange`` fields they use."""

    headers: list[tuple[bytes, bytes]]
    query: bytes
    method: str = "GET"
    path: str = "/"
    host: str = ""
    upstream_path: str = "/"
    client_address: str = DEFAULT_CLIENT
    client_ip: str = DEFAULT_CLIENT
    scheme: str = "http"
    request_id: str = "simulated"
    identity: Identity | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def simulate(
    method: str,
    host: str,
    path: str,
    headers: Sequence[tuple[str, str]] = (),
    table: RoutingTable | None = None,
    client_address: str = DEFAULT_CLIENT,
    body: bytes = b"",
    send: bool = False,
) -> Simulation:
    """What the gateway would do; with ``send``, also the chosen target's real answer (``real``)."""
    matched: list[tuple[_Carrier, ServiceSpec]] = []
    result = _simulate(method, host, path, headers, table, client_address or DEFAULT_CLIENT, matched)
    if send:
        carrier, service = matched[0] if matched else (None, None)
        result.real = send_for_real(result, service, carrier.headers if carrier else [], body)
    return result


def _simulate(
    method: str,
    host: str,
    path: str,
    headers: Sequence[tuple[str, str]],
    table: RoutingTable | None,
    client_address: str,
    seen: list[tuple[_Carrier, ServiceSpec]],
) -> Simulation:
    method = method.upper()
    host = host.strip().lower()
    colon = host.rfind(":")
    if colon > 0 and "]" not in host[colon:]:
        host = host[:colon]
    raw_path, _, query = path.partition("?")
    result = Simulation(method, host, path, outcome="", client_address=client_address)
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
    # As they would arrive: latin-1 on the wire (what cannot be sent becomes '?').
    carrier = _Carrier(
        [(_wire(k.lower()), _wire(v)) for k, v in headers],
        _wire(query),
        method=method,
        path=raw_path,
        host=host,
        upstream_path=upstream_path,
        client_address=client_address,
        client_ip=client_address,
    )
    stopped = None
    for policy in route.policies:
        step = _explain(policy, carrier)
        result.steps.append(step)
        if step.stops:
            stopped = step
            break
    _target(result, route, carrier, stopped is not None)
    seen.append((carrier, route.spec.service))
    if stopped is not None:
        result.status = _status(stopped.decision)
        result.outcome = stopped.decision
    elif result.status is None:
        url = result.upstream_url
        result.outcome = f"Forwarded to {url}" if url else "503: the service has no target."
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


def _target(result: Simulation, route: CompiledRoute, carrier: _Carrier, stopped: bool) -> None:
    """The target the balancer would choose (a fresh table's: no live state is touched), skipping
    those the service's target gate (the breaker) would refuse, and the upstream URL for it."""
    upstream = route.upstream
    if not upstream.targets:
        return
    explain = getattr(upstream.gate, "explain", None)
    if callable(explain):
        index, decision, refused = explain(upstream.balancer)
        result.steps.append(Step("breaker", str(decision), bool(refused) and not stopped))
        if refused and not stopped:
            result.status = _status(decision)
            result.outcome = decision
    else:
        index = upstream.balancer.pick()
    if index < 0:
        return
    result.target = f"{upstream.origins[index][0]}:{upstream.origins[index][1]}"
    result.upstream_url = str(upstream.url(index, carrier.upstream_path, carrier.query))


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
    step, identity = _identify(policy, carrier)
    carrier.identity = identity
    return step


def _identify(policy: AuthPolicy, carrier: _Carrier) -> tuple[Step, Identity | None]:
    config = policy.config
    found = find_credential(carrier, config, policy.accepts_keys)
    if found is None:
        if config.allow_anonymous:
            return Step("auth", "no credential: passes anonymously (allowed on this route)"), None
        return Step("auth", "401 missing_credentials: this route needs credentials", stops=True), None
    value, is_key = found
    if is_key:
        if not policy.accepts_keys:
            return Step("auth", "401 invalid_credentials: this route does not accept API keys", stops=True), None
        try:
            identity = verify_key(value, policy.keys, policy.hasher).identity
        except KeyRefused as exc:
            return Step("auth", f"401 invalid_credentials: {exc}", stops=True), None
    elif config.mode == INTROSPECTION:
        return Step("auth", "a token: would be sent to the introspection endpoint (not called by the simulator)"), None
    elif not policy.accepts_tokens:
        return Step("auth", "401 invalid_credentials: the API key is malformed", stops=True), None
    else:
        try:
            identity, _, mark = identify_token(value, config)
        except TokenRefused as exc:
            return Step("auth", f"401 invalid_token: {exc}", stops=True), None
        if denylist.revoked(mark):  # as the gateway checks it: this process's copy of the revocations
            return Step("auth", "401 token_revoked: the token was revoked", stops=True), None
    roles = ", ".join(sorted(identity.roles)) or "none"
    who = f"{identity.name or identity.subject} (roles: {roles})"
    if policy.required and not policy.required <= identity.roles:
        missing = ", ".join(sorted(policy.required - identity.roles))
        return Step("auth", f"403 insufficient_role: {who} lacks {missing}", stops=True), identity
    return Step("auth", f"authenticated as {who}"), identity


def _status(decision: str) -> int | None:
    head = decision.split(" ", 1)[0].rstrip(":.")
    return int(head) if head.isdigit() else None
