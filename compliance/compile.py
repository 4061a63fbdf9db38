"""The snapshot loader: redaction rules and each route's audit flags (``snapshot.extensions["compliance"]``).

A service with a PHI route has its dynamic ``/api/v1/{slug}`` route treated as PHI too: it reaches
the same backend paths.

They apply from the moment they are read (``records.set_current``): a stricter redaction rule should
not wait for the rest of the table to compile.
"""

from __future__ import annotations

from django.conf import settings

from compliance.models import RedactionRule, RouteAudit
from compliance.records import AuditSettings, set_current
from compliance.redaction import compile_rules
from proxy.specs import Snapshot

NAME = "compliance"


def load_audit(snapshot: Snapshot) -> AuditSettings:
    enabled = RedactionRule.objects.filter(enabled=True).values_list("kind", "name", "phi_only")
    rules = compile_rules(enabled, phi_defaults=settings.GATEWAY_AUDIT_PHI_DEFAULT_RULES)
    service_of = {route.id: route.service.id for route in snapshot.routes}
    rows = RouteAudit.objects.filter(route_id__in=service_of).values_list("route_id", "audit", "phi")
    phi = frozenset(route for route, _, is_phi in rows if is_phi)
    loaded = AuditSettings(
        rules=rules,
        unaudited=frozenset(route for route, audit, is_phi in rows if not audit and not is_phi),
        phi=phi,
        phi_services=frozenset(service_of[route] for route in phi),
    )
    set_current(loaded)
    return loaded
