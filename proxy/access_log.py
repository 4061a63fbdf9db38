"""One access line per answered request, written by an observer after the response went out.

Fields: request and trace ids, method, path (never the query string, which may carry keys or
personal data; an API key in the path is replaced by ``[REDACTED]``), service and route, status,
durations, bytes, error reason, upstream error kind, target, consumer name and client address. No
header, credential or body is ever logged.

Cheap on purpose: going through ``logging`` and structlog's formatter cost 55-120 µs a line, a
third of a proxied request. So the line is rendered here, field by field into one f-string (the
very text ``json.dumps`` would give, or a short console line in the embedded default; the date and
time of day are rendered once a second), kept in a small buffer and written to stderr in batches (at 64 lines
or every quarter second, and at shutdown), the stream every other log line goes to, in the same
format. ``GATEWAY_ACCESS_LOG=0`` unsubscribes it; raising the ``gateway.access`` logger's level
above INFO silences it too.
"""

from __future__ import annotations

import contextlib
import logging
import os
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii
from typing import TYPE_CHECKING

from proxy.auth.apikeys import KEY_IN_TEXT

if TYPE_CHECKING:
    from proxy.observe import Finished

log = logging.getLogger("gateway.access")
TRACE_ID = "gateway.trace_id"  # set in the ASGI scope by proxy.tracing when tracing is on
BATCH_LINES = 64
FLUSH_SECONDS = 0.25
_str = encode_basestring_ascii  # a JSON string as json.dumps writes it (ensure_ascii)


class AccessLog:
    def __init__(self, fmt: str = "json", fd: int = 2) -> None:
        self.json = fmt == "json"
        self.fd = fd
        self.lines: list[str] = []
        self._second = -1  # the whole second whose rendering is in _prefix
        self._prefix = ""

    def __call__(self, record: Finished) -> None:
        if not log.isEnabledFor(logging.INFO):
            return
        route = record.route
        target = record.target
        identity = record.identity
        path = KEY_IN_TEXT.sub("[REDACTED]", record.path) if "gw_" in record.path else record.path
        duration = record.duration
        upstream = record.upstream_seconds
        if not self.json:  # the embedded default: one f-string, no dictionary
            self.lines.append(
                _console(
                    self._time(record.at + duration),
                    record.method,
                    path,
                    record.status,
                    round(duration * 1000, 3),
                    f"{route.service.slug}/{route.name}" if route is not None else "-",
                    round(upstream * 1000, 3),
                    record.client_address,
                    record.request_id,
                    record.error_reason,
                    record.upstream_error,
                )
            )
        else:  # what json.dumps(fields, separators=(", ", ": ")) gives, rendered field by field
            self.lines.append(
                '{"event": "access", "level": "info", "time": "'
                f'{self._time(record.at + duration)}", "logger": "gateway.access", '
                f'"request_id": {_str(record.request_id)}, "trace_id": {_opt(record.scope.get(TRACE_ID))}, '
                f'"kind": {_str(record.kind)}, "method": {_str(record.method)}, "path": {_str(path)}, '
                f'"service": {_opt(route.service.slug if route is not None else None)}, '
                f'"route": {_opt(route.name if route is not None else None)}, "status": {record.status}, '
                f'"duration_ms": {round(duration * 1000, 3)!r}, "upstream_ms": {round(upstream * 1000, 3)!r}, '
                f'"gateway_ms": {round(max(duration - upstream, 0.0) * 1000, 3)!r}, '
                f'"bytes_in": {record.bytes_in}, "bytes_out": {record.bytes_out}, '
                f'"error_reason": {_opt(record.error_reason)}, "upstream_error": {_opt(record.upstream_error)}, '
                f'"target": {_opt(target.address if target is not None else None)}, '
                f'"consumer": {_opt(identity.name if identity is not None else None)}, '
                f'"client": {_str(record.client_address)}}}\n'
            )
        if len(self.lines) >= BATCH_LINES:
            self.flush()

    def _time(self, at: float) -> str:
        """``datetime.isoformat`` in UTC with a ``Z``, the date and time of day rendered once a second."""
        second = int(at)
        micro = round((at - second) * 1e6)
        if micro >= 1_000_000:
            second += 1
            micro -= 1_000_000
        if second != self._second:
            self._second = second
            self._prefix = datetime.fromtimestamp(second, UTC).isoformat()[:19]
        return f"{self._prefix}.{micro:06d}Z" if micro else f"{self._prefix}Z"

    def flush(self) -> None:
        if not self.lines:
            return
        data = "".join(self.lines).encode("utf-8", "replace")
        self.lines.clear()
        with contextlib.suppress(OSError):
            while data:
                written = os.write(self.fd, data)
                data = data[written:]


def _opt(value: str | None) -> str:
    return "null" if value is None else encode_basestring_ascii(value)


def _console(
    time: str,
    method: str,
    path: str,
    status: int,
    duration_ms: float,
    where: str,
    upstream_ms: float,
    client: str,
    request_id: str,
    error_reason: str | None,
    upstream_error: str | None,
) -> str:
    extra = f" error={error_reason}" if error_reason else ""
    if upstream_error:
        extra += f" upstream_error={upstream_error}"
    return (
        f"{time} [info     ] access {method} {path} {status} {duration_ms}ms "
        f"route={where} upstream={upstream_ms}ms client={client} request_id={request_id}{extra}\n"
    )
