"""Turn an observer's ``Finished`` into a plain audit record (a dict of ``AuditEvent`` fields).

Nothing from bodies; the path, the query string and the headers only after redaction
(``compliance.redaction``).
Each record gets an ``event_id`` unique across the gateway (a random per-process prefix and a
counter), so redelivery from the durable queue is recognised and never stored twice.
"""

from __future__ import annotations

import itertools
import os
import secrets
from dataclasses import dataclass, field, replace
from typing import Any

from compliance import pseudonyms
from compliance.redaction import DEFAULT, RedactionRules, redact_headers, redact_json, redact_path, redact_query
from proxy.observe import WEBSOCKET, Finished
from proxy.specs import RouteSpec

_state: dict[str, Any] = {"pid": None, "prefix": "", "counter": itertools.count(1)}


@dataclass(frozen=True, slots=True)
class AuditSettings:
    """What the compliance loader compiled (``compliance.compile``): redaction rules and route flags."""

    rules: RedactionRules = DEFAULT
    unaudited: frozenset[int] = field(default_factory=frozenset)  # route ids with audit off (never PHI)
    phi: frozenset[int] = field(default_factory=frozenset)  # route ids that carry PHI
    # Services with a PHI route: their dynamic /api/v1/{slug} route reaches the same backend paths.
    phi_services: frozenset[int] = field(default_factory=frozenset)

    def is_phi(self, route: RouteSpec) -> bool:
        return route.id in self.phi if route.id else route.service.id in self.phi_services


_current: list[AuditSettings] = [AuditSettings()]


def set_current(settings: AuditSettings) -> None:
    _current[0] = settings


def current() -> AuditSettings:
    return _current[0]


def set_rules(rules: RedactionRules) -> None:
    _current[0] = replace(_current[0], rules=rules)


def current_rules() -> RedactionRules:
    return _current[0].rules


def new_event_id() -> str:
    pid = os.getpid()
    if _state["pid"] != pid:  # a forked worker must not repeat its parent's ids
        _state.update(pid=pid, prefix=f"g{secrets.token_hex(6)}{pid:x}-", counter=itertools.count(1))
    return f"{_state['prefix']}{next(_state['counter'])}"


def record_of(finished: Finished, *, header_mode: str = "redacted", pseudonymize_ip: bool = False) -> dict[str, Any]:
    audit = _current[0]
    rules = audit.rules
    route = finished.route
    auth = route.auth if route is not None else None
    identity = finished.identity
    consumer = ""
    if identity is not None:
        consumer = identity.consumer_id or (f"sub:{identity.subject}" if identity.subject else "")
    websocket = finished.kind == WEBSOCKET
    if websocket:
        action = "websocket.closed"
    else:
        action = "request.refused" if finished.error_reason else "request.proxied"
    data: dict[str, Any] = {}
    if finished.upstream_error:
        data["upstream_error"] = finished.upstream_error
    if finished.upstream_seconds:
        data["upstream_ms"] = round(finished.upstream_seconds * 1000, 3)
    if not finished.complete:
        data["incomplete"] = True
    if finished.details:
        data.update(finished.details)
    if rules.json_paths and data:
        data = redact_json(data, rules)
    phi = route is not None and audit.is_phi(route)
    segments, values = rules.patterns(phi)
    return {
        "event_id": new_event_id(),
        "kind": "websocket" if websocket else "request",
        "at": finished.at,
        "action": action,
        "request_id": finished.request_id,
        "consumer": consumer,
        "consumer_name": identity.name if identity is not None else "",
        "client_ip": pseudonyms.pseudonym(finished.client_address) if pseudonymize_ip else finished.client_address,
        "method": finished.method,
        "path": redact_path(finished.path, segments),
        "query": redact_query(finished.query, rules, auth.key_query_param.lower() if auth is not None else "", values),
        "headers": redact_headers(
            finished.scope.get("headers", ()), rules, header_mode, auth.key_header.lower() if auth is not None else b""
        ),
        "route": route.name if route is not None else "",
        "service": route.service.slug if route is not None else "",
        "target": finished.target.address if finished.target is not None else "",
        "status": finished.status,
        "latency_ms": round(finished.duration * 1000, 3),
        "bytes_in": finished.bytes_in,
        "bytes_out": finished.bytes_out,
        "error_reason": finished.error_reason or "",
        "phi": phi,
        "source": "gateway",
        "data": data,
    }
