"""Observers: what learns about every request the data plane answers, once, when it ends.

Metrics, the audit trail and the access log all need the same facts about each request, including
those refused before any route matched (400, 404, 405) where no policy chain runs. ``GatewayApp``
builds one ``Finished`` record per request (and the WebSocket proxy one per connection) and hands it
to every subscribed observer.

An observer is a plain synchronous callable ``(Finished) -> None`` subscribed from an
``AppConfig.ready``. It runs on the event loop after the response went out, so it must only record
or enqueue (a counter increment, an append to a bounded buffer), never wait. An observer that raises
is logged (once a minute at most) and the others still run; the client's response is not affected.

An observer subscribed with ``before_last_byte=True`` (a *witness*: the audit trail's write-ahead
spool) is called instead just before the last part of an HTTP response is handed to the server,
with ``status``, ``bytes_out`` and ``complete`` as they are once that part is out: a process killed
right after answering cannot have answered a request its witnesses never saw. It is still called
exactly once per request: at the end like the others when the request ended another way (the
client left mid-stream, a WebSocket closed). Its work delays the end of each response, so it must
be cheaper still: memory only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from proxy.auth.config import Identity
    from proxy.exchange import Exchange
    from proxy.specs import RouteSpec, TargetSpec

log = logging.getLogger(__name__)

Observer = Callable[["Finished"], None]

HTTP = "http"
WEBSOCKET = "websocket"
# Set in the ASGI scope by the server protocol (``proxy.server``) when it answered a request itself
# while the application was handling it (its body broke the framing): ``(status, reason, request id)``.
# The application's record then says what the client was actually sent.
REFUSED = "gateway.refused"


# Not frozen: a frozen dataclass of this size costs several times as much to build (each field set
# through object.__setattr__), once per request. Observers read it and never change it.
@dataclass(slots=True)
class Finished:
    kind: str  # HTTP or WEBSOCKET
    request_id: str
    at: float  # wall-clock time (epoch seconds) when the request arrived
    duration: float  # seconds from arrival to the end of the response (or of the connection)
    method: str
    path: str  # raw path, without the query string
    query: bytes  # as received: observers that keep it must apply their redaction rules
    scope: Mapping[str, Any]  # the ASGI scope: raw request headers for redaction-aware observers
    client_address: str  # see Exchange.client_address
    status: int  # 0 when no response was sent (the client left first)
    error_reason: str | None  # X-Gateway-Error of a gateway-made response
    bytes_in: int
    bytes_out: int
    complete: bool  # the whole response was sent
    route: RouteSpec | None = None
    target: TargetSpec | None = None
    identity: Identity | None = None
    upstream_seconds: float = 0.0
    upstream_error: str | None = None  # connect, tls, busy, timeout, reset or bad_response
    details: Mapping[str, Any] | None = None  # kind-specific facts (WebSocket close codes, counts)

    @property
    def gateway_seconds(self) -> float:
        """Time the gateway itself added: the whole duration less the wait for upstream headers."""
        return max(self.duration - self.upstream_seconds, 0.0)


_observers: list[Observer] = []
_witnesses: list[Observer] = []
_last_failure_log: dict[str, float] = {}
FAILURE_LOG_INTERVAL = 60.0


def subscribe(observer: Observer, *, before_last_byte: bool = False) -> None:
    chosen = _witnesses if before_last_byte else _observers
    if observer not in chosen:
        chosen.append(observer)


def unsubscribe(observer: Observer) -> None:
    for chosen in (_observers, _witnesses):
        if observer in chosen:
            chosen.remove(observer)


def active() -> bool:
    return bool(_observers or _witnesses)


def witnessing() -> bool:
    return bool(_witnesses)


def witness(record: Finished) -> None:
    """Before the last byte: the witnesses only (``notify(record, witnessed=True)`` follows)."""
    _call(_witnesses, record)


def notify(record: Finished, *, witnessed: bool = False) -> None:
    """When the request ended: every observer, and the witnesses unless ``witness`` had the record."""
    if not witnessed and _witnesses:
        _call(_witnesses, record)
    _call(_observers, record)


def _call(observers: list[Observer], record: Finished) -> None:
    for observer in observers:
        try:
            observer(record)
        except Exception:
            name = getattr(observer, "__qualname__", repr(observer))
            now = time.monotonic()
            if now - _last_failure_log.get(name, -FAILURE_LOG_INTERVAL) >= FAILURE_LOG_INTERVAL:
                _last_failure_log[name] = now
                log.exception("observer %s failed (further failures logged once a minute)", name)


def finished_exchange(exchange: Exchange, now: float) -> Finished:
    """The record of a request that reached a route (``now`` is ``time.perf_counter()``)."""
    duration = now - exchange.started
    refused = exchange.scope.get(REFUSED)
    if refused is not None:
        exchange.status, exchange.error_reason, exchange.request_id = refused
        exchange.finished = True
    return Finished(
        kind=HTTP,
        request_id=exchange.request_id,
        at=time.time() - duration,
        duration=duration,
        method=exchange.method,
        path=exchange.path,
        query=exchange.scope.get("query_string", b""),
        scope=exchange.scope,
        client_address=exchange.client_address or exchange.client_ip,
        status=exchange.status,
        error_reason=exchange.error_reason,
        bytes_in=exchange.bytes_in,
        bytes_out=exchange.bytes_out,
        complete=exchange.finished and exchange.status > 0,
        route=exchange.route.spec,
        target=exchange.target,
        identity=exchange.identity,
        upstream_seconds=exchange.upstream_seconds,
        upstream_error=exchange.upstream_error,
    )


def finished_early(
    scope: Mapping[str, Any],
    request_id: str,
    started: float,
    now: float,
    status: int,
    reason: str,
    client_address: str,
) -> Finished:
    """The record of a request refused before it matched a route (no Exchange exists)."""
    duration = now - started
    refused = scope.get(REFUSED)
    if refused is not None:
        status, reason, request_id = refused
    raw_path: bytes = scope.get("raw_path") or scope.get("path", "").encode()
    return Finished(
        kind=HTTP,
        request_id=request_id,
        at=time.time() - duration,
        duration=duration,
        method=scope.get("method", ""),
        path=raw_path.decode("latin-1"),
        query=scope.get("query_string", b""),
        scope=scope,
        client_address=client_address,
        status=status,
        error_reason=reason,
        bytes_in=0,
        bytes_out=0,
        complete=True,
    )
