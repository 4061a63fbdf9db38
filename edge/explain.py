"""What the edge policies would do with a request, for the route simulator (``registry.simulate``):
CORS (the preflight answer, or whether the origin is allowed), the route's and the consumer's IP
lists for the client address, the request transformations (applied to the simulator's request, so
the upstream URL shown is the rewritten one) and the response headers. Nothing here does I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edge.policies import admits
from proxy.errors import GatewayError

if TYPE_CHECKING:
    from edge.policies import (
        ConsumerIpListPolicy,
        CorsPolicy,
        IpListPolicy,
        RequestTransformPolicy,
        ResponseHeadersPolicy,
    )


def _names(names: Any) -> str:
    return ", ".join(sorted(n.decode("latin-1") if isinstance(n, bytes) else n for n in names))


def ip_lists(policy: IpListPolicy, carrier: Any) -> tuple[str, bool]:
    address = carrier.client_address
    lists = " and ".join(n for n, on in (("an allow list", policy.allow), ("a deny list", policy.deny)) if on)
    if admits(policy.allow, policy.deny, address):
        return f"client {address} may call this route ({lists})", False
    return f"403 ip_denied: client {address} may not call this route ({lists})", True


def consumer_ip_lists(policy: ConsumerIpListPolicy, carrier: Any) -> tuple[str, bool]:
    identity = carrier.identity
    lists = policy.consumers.get(identity.consumer_id) if identity is not None else None
    if lists is None:
        return "the caller has no IP lists of its own", False
    who = identity.name or identity.consumer_id
    if admits(lists[0], lists[1], carrier.client_address):
        return f"{who} may call from {carrier.client_address} (its own IP lists)", False
    return f"403 ip_denied: {who} may not call from {carrier.client_address} (its own IP lists)", True


def cors(policy: CorsPolicy, carrier: Any) -> tuple[str, bool]:
    found = {n: v for n, v in reversed(carrier.headers) if n in (b"origin", b"access-control-request-method")}
    origin = found.get(b"origin")
    if carrier.method == "OPTIONS":
        if origin is not None and b"access-control-request-method" in found:
            allowed = policy._allowed_origin(origin)
            if allowed is None:
                return f"204: a preflight answered by the gateway, origin {origin.decode('latin-1')} not allowed", True
            methods = policy.allow_methods.decode()
            return f"204: a preflight answered by the gateway, allowing {allowed.decode('latin-1')} ({methods})", True
        if policy.route_methods is not None and "OPTIONS" not in policy.route_methods:
            return "405 method_not_allowed: OPTIONS is not allowed here (and this is not a preflight)", True
    if policy.fixed_any:
        return "any origin allowed: Access-Control-Allow-Origin: *", False
    if origin is None:
        return "no Origin header: no CORS headers added", False
    shown = origin.decode("latin-1")
    if policy._allowed_origin(origin) is None:
        return f"origin {shown} not allowed: the answer carries no Access-Control-Allow-Origin", False
    return f"origin {shown} allowed: Access-Control-Allow-Origin: {shown}", False


def request_transform(policy: RequestTransformPolicy, carrier: Any) -> tuple[str, bool]:
    """Applies the transformations to the simulator's request, as the gateway would."""
    parts = []
    if policy.remove:
        parts.append(f"removes {_names(policy.remove)}")
    if policy.renames:
        parts.append("renames " + ", ".join(f"{o.decode()} to {n.decode()}" for o, n in policy.renames.items()))
    if policy.static or policy.dynamic:
        parts.append(f"sets {_names({n for n, _ in policy.static} | {n for n, _ in policy.dynamic})}")
    if policy.headers:
        carrier.headers = policy._headers(carrier)
    identity = carrier.identity
    if policy.consumers and identity is not None and identity.consumer_id in policy.consumers:
        policy._consumer(carrier, identity.consumer_id)
        parts.append(f"{identity.name or identity.consumer_id}'s own headers")
    if policy.query_remove or policy.query_add:
        carrier.query = policy._query(carrier)
        parts.append("changes the query string")
    if policy.rewrite is not None:
        before = carrier.upstream_path
        try:
            policy._rewrite(carrier, policy.rewrite)
        except GatewayError as exc:
            return f"{exc.status} {exc.reason}: {exc}", True
        if carrier.upstream_path != before:
            parts.append(f"rewrites the path {before} to {carrier.upstream_path}")
        else:
            parts.append("path rewrite does not apply to this path")
    return ("request: " + "; ".join(parts)) if parts else "request: nothing to change for this caller", False


def response_headers(policy: ResponseHeadersPolicy, carrier: Any) -> tuple[str, bool]:
    parts = []
    removed = policy.drop - {n for n, _ in (*policy.static, *policy.dynamic, *policy.https_only)}
    if removed:
        parts.append(f"removes {_names(removed)}")
    if policy.static:
        parts.append("sets " + ", ".join(f"{n.decode()}: {v.decode('latin-1')}" for n, v in policy.static))
    if policy.dynamic:
        parts.append(f"sets {_names(n for n, _ in policy.dynamic)} per request")
    if policy.https_only:
        parts.append(f"over HTTPS also {_names(n for n, _ in policy.https_only)}")
    if policy.location is not None:
        parts.append("rewrites Location")
    return "response: " + ("; ".join(parts) or "unchanged"), False
