"""One access line per answered request, written by an observer after the response went out.

Fields: request and trace ids, method, path (never the query string, which may carry keys or
personal data), service and route, status, durations, bytes, error reason, upstream error kind,
target, consumer name and client address. No header, credential or body is ever logged. The line
goes to the ``gateway.access`` logger at INFO, rendered like every other line (gateway_project/logs.py);
``GATEWAY_ACCESS_LOG=0`` unsubscribes it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from proxy.observe import Finished

log = logging.getLogger("gateway.access")
TRACE_ID = "gateway.trace_id"  # set in the ASGI scope by proxy.tracing when tracing is on


def access_log(record: Finished) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    route = record.route
    target = record.target
    identity = record.identity
    fields = {
        "request_id": record.request_id,
        "kind": record.kind,
        "method": record.method,
        "path": record.path,
        "service": route.service.slug if route is not None else None,
        "route": route.name if route is not None else None,
        "status": record.status,
        "duration_ms": round(record.duration * 1000, 3),
        "upstream_ms": round(record.upstream_seconds * 1000, 3),
        "gateway_ms": round(record.gateway_seconds * 1000, 3),
        "bytes_in": record.bytes_in,
        "bytes_out": record.bytes_out,
        "error_reason": record.error_reason,
        "upstream_error": record.upstream_error,
        "target": target.address if target is not None else None,
        "consumer": identity.name if identity is not None else None,
        "client": record.client_address,
    }
    trace_id = record.scope.get(TRACE_ID)
    if trace_id:
        fields["trace_id"] = trace_id
    log.info("access", extra={"fields": fields})
