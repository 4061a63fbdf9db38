"""One access line per answered request, written by an observer after the response went out.

Fields: request and trace ids, method, path (never the query string, which may carry keys or
personal data; an API key in the path is replaced by ``[REDACTED]``), service and route, status,
durations, bytes, error reason, upstream error kind, target, consumer name and client address. No
header, credential or body is ever logged.

Cheap on purpose: going through ``logging`` and structlog's formatter cost 55-120 µs a line, a
third of a proxied request. So the line is rendered here (one ``json.dumps``, or a short console
line in the embedded default), kept in a small buffer and written to stderr in batches (at 64 lines
or every quarter second, and at shutdown), the stream every other log line goes to, in the same
format. ``GATEWAY_ACCESS_LOG=0`` unsubscribes it; raising the ``gateway.access`` logger's level
above INFO silences it too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from proxy.auth.apikeys import KEY_IN_TEXT

if TYPE_CHECKING:
    from proxy.observe import Finished

log = logging.getLogger("gateway.access")
TRACE_ID = "gateway.trace_id"  # set in the ASGI scope by proxy.tracing when tracing is on
BATCH_LINES = 64
FLUSH_SECONDS = 0.25


class AccessLog:
    def __init__(self, fmt: str = "json", fd: int = 2) -> None:
        self.json = fmt == "json"
        self.fd = fd
        self.lines: list[str] = []

    def __call__(self, record: Finished) -> None:
        if not log.isEnabledFor(logging.INFO):
            return
        route = record.route
        target = record.target
        identity = record.identity
        fields: dict[str, Any] = {
            "event": "access",
            "level": "info",
            "time": datetime.fromtimestamp(record.at + record.duration, UTC).isoformat().replace("+00:00", "Z"),
            "logger": "gateway.access",
            "request_id": record.request_id,
            "trace_id": record.scope.get(TRACE_ID),
            "kind": record.kind,
            "method": record.method,
            "path": KEY_IN_TEXT.sub("[REDACTED]", record.path) if "gw_" in record.path else record.path,
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
        if self.json:
            self.lines.append(json.dumps(fields, separators=(", ", ": ")) + "\n")
        else:
            self.lines.append(_console(fields))
        if len(self.lines) >= BATCH_LINES:
            self.flush()

    def flush(self) -> None:
        if not self.lines:
            return
        data = "".join(self.lines).encode("utf-8", "replace")
        self.lines.clear()
        with contextlib.suppress(OSError):
            while data:
                written = os.write(self.fd, data)
                data = data[written:]


def _console(f: dict[str, Any]) -> str:
    where = f"{f['service']}/{f['route']}" if f["route"] else "-"
    extra = f" error={f['error_reason']}" if f["error_reason"] else ""
    if f["upstream_error"]:
        extra += f" upstream_error={f['upstream_error']}"
    return (
        f"{f['time']} [info     ] access {f['method']} {f['path']} {f['status']} {f['duration_ms']}ms "
        f"route={where} upstream={f['upstream_ms']}ms client={f['client']} request_id={f['request_id']}{extra}\n"
    )
