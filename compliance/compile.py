"""The snapshot loader: redaction rules and each route's audit flags (``snapshot.extensions["compliance"]``).

They apply from the moment they are read (``records.set_current``): a stricter redaction rule should
not wait for the rest of the table to compile.
"""

from __future__ import annotations

from compliance.models import RedactionRule, RouteAudit
from compliance.records import AuditSettings, set_current
from compliance.redaction import compile_rules
from proxy.specs import Snapshot

NAME = "compliance"


def load_audit(snapshot: Snapshot) -> AuditSettings:
    rules = compile_rules(RedactionRule.objects.filter(enabled=True).values_list("kind", "name"))
    ids = [route.id for route in snapshot.routes]
    rows = RouteAudit.objects.filter(route_id__in=ids).values_list("route_id", "audit", "phi")
    loaded = AuditSettings(
        rules=rules,
        unaudited=frozenset(route for route, audit, phi in rows if not audit and not phi),
        phi=frozenset(route for route, _, phi in rows if phi),
    )
    set_current(loaded)
    return loaded
