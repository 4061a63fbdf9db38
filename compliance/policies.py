"""``AuditPolicy``: PHI routes fail closed when the audit trail cannot accept their record.

It is only attached to PHI routes, and to the dynamic route of a service that has one (every
other route is recorded by the observer with no policy step), and must come first in
``GATEWAY_POLICIES`` so the refusal happens before anything else. Before serving, it reserves room
for the request's record in this process's spool (``capture.reserve``), so the record of a served
PHI request is never dropped. Only a full spool refuses: with Redis or the database down, records
wait in the spool and PHI routes keep serving.
"""

from __future__ import annotations

from compliance import capture
from compliance.buffer import RESERVED
from compliance.compile import NAME
from compliance.records import AuditSettings
from proxy.errors import GatewayError
from proxy.exchange import Exchange, Response
from proxy.pipeline import Handler
from proxy.specs import RouteSpec, Snapshot


class AuditUnavailable(GatewayError):
    status = 503
    reason = "audit_unavailable"


class AuditPolicy:
    name = "audit"

    @classmethod
    def for_route(cls, route: RouteSpec, snapshot: Snapshot) -> AuditPolicy | None:
        return cls() if snapshot.extensions.get(NAME, AuditSettings()).is_phi(route) else None

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Response:
        if not capture.reserve():
            raise AuditUnavailable("The audit trail cannot accept a record; this route carries PHI and fails closed.")
        exchange.scope[RESERVED] = True
        return await call_next(exchange)
