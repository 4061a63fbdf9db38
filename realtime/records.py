"""The one ``proxy.observe.Finished`` record each WebSocket connection produces when it ends
(refused before the handshake, or closed after it), for the audit and metrics observers."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from proxy import observe

if TYPE_CHECKING:
    from proxy.auth.config import Identity
    from proxy.specs import RouteSpec, TargetSpec
    from realtime.bridge import End


class Counts:
    messages_in = messages_out = bytes_in = bytes_out = 0


def notify(
    scope: dict[str, Any],
    request_id: str,
    started: float,
    *,
    status: int,
    client_address: str,
    error_reason: str | None = None,
    end: End | None = None,
    counts: Counts | Any = None,
    route: RouteSpec | None = None,
    target: TargetSpec | None = None,
    identity: Identity | None = None,
    upstream_seconds: float = 0.0,
    upstream_error: str | None = None,
    endpoint: str | None = None,
) -> None:
    """``endpoint``: the metrics label of a gateway endpoint that is not a route (the fan-out's "ws")."""
    if not observe.active():
        return
    duration = time.perf_counter() - started
    raw_path: bytes = scope.get("raw_path") or scope.get("path", "").encode()
    counts = counts or Counts()
    observe.notify(
        observe.Finished(
            kind=observe.WEBSOCKET,
            request_id=request_id,
            at=time.time() - duration,
            duration=duration,
            method="GET",
            path=raw_path.decode("latin-1"),
            query=scope.get("query_string", b""),
            scope=scope,
            client_address=client_address,
            status=status,
            error_reason=error_reason,
            bytes_in=counts.bytes_in,
            bytes_out=counts.bytes_out,
            complete=end is not None or status != 101,
            route=route,
            target=target,
            identity=identity,
            upstream_seconds=upstream_seconds,
            upstream_error=upstream_error,
            details={
                "close_code": end.code if end is not None else None,
                "close_by": end.by if end is not None else "gateway",
                "messages_in": counts.messages_in,
                "messages_out": counts.messages_out,
                "bytes_in": counts.bytes_in,
                "bytes_out": counts.bytes_out,
                **({"endpoint": endpoint} if endpoint else {}),
            },
        )
    )
