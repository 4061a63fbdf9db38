"""The backend leg: the last step of a route's chain on an upgrade opens the backend's WebSocket.

``open_backend`` is the chain's terminal instead of ``proxy.upstream.forward``, so every policy of
the route (auth, rate limits, audit, ...) runs on connect exactly as for an HTTP request; a policy
can tell an upgrade by ``exchange.extra["websocket"]``. The target comes from the service's balancer
(and target gate: open breakers are skipped); a target that cannot be reached is skipped for the
next one, up to the service's retries. A backend that answers the upgrade with an HTTP response
(401, 404, a redirect, ...) has that response passed to the client as it is.
"""

from __future__ import annotations

import logging
import ssl
import time
from dataclasses import dataclass
from typing import Any

import websockets
from django.conf import settings
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

from proxy.errors import GatewayError, NoUpstream, UpstreamBroken, UpstreamTimeout, UpstreamTLS, UpstreamUnreachable
from proxy.exchange import Exchange, Response
from proxy.headers import response_headers
from realtime.compile import WebSocketSpec
from realtime.live import live

log = logging.getLogger(__name__)

# Headers of the client's handshake that belong to the client leg only (the backend leg makes its own).
CLIENT_LEG_ONLY = frozenset(
    {b"host", b"sec-websocket-key", b"sec-websocket-version", b"sec-websocket-extensions", b"sec-websocket-protocol"}
)
VIA = b"1.1 gateway"


@dataclass(slots=True)
class Upgrade:
    """What the WebSocket router hands the chain's terminal, and what the terminal leaves for it."""

    spec: WebSocketSpec
    subprotocols: list[str]
    queue: int
    close_timeout: float
    connection: ClientConnection | None = None
    target_index: int = -1
    admitted: tuple[str, str] | None = None  # (route name, consumer key) counted by ``live``


class _NoRedirects(connect):
    """A backend's redirect goes to the client, never followed by the gateway."""

    def process_redirect(self, exc: Exception) -> Exception | str:
        return exc


def consumer_key(exchange: Exchange) -> str:
    identity = exchange.identity
    if identity is None:
        return ""
    return identity.consumer_id or f"sub:{identity.subject}"


async def open_backend(exchange: Exchange) -> Response:
    upgrade: Upgrade = exchange.extra["websocket"]
    spec = upgrade.spec
    route = exchange.route
    key = consumer_key(exchange)
    live.admit(route.spec.name, key, spec.max_connections, spec.max_connections_per_consumer)
    upgrade.admitted = (route.spec.name, key)
    try:
        return await _connect(exchange, upgrade)
    except BaseException:
        live.release(route.spec.name, key)
        upgrade.admitted = None
        raise


async def _connect(exchange: Exchange, upgrade: Upgrade) -> Response:
    upstream = exchange.route.upstream
    service = upstream.spec
    if not upstream.targets:
        raise NoUpstream(f"Service {service.name!r} has no enabled targets.")
    if upstream.tls_error:
        upstream.refuse_tls(exchange)
    headers = _backend_headers(exchange)
    # wss: the service's TLS context and server name, built with the routing table (proxy.upstream).
    tls: dict[str, Any] = {}
    if upstream.tls is not None:
        tls = {"ssl": upstream.tls, "server_hostname": service.tls_server_name or None}
    tried: list[int] = []
    failure: GatewayError | None = None
    ticket: Any = None
    for _ in range(1 + service.retries):
        if upstream.gate is None:
            index = upstream.balancer.pick(tried)
        else:
            index, ticket = await upstream.gate.pick(upstream.balancer, tried)
        if index < 0:
            break
        tried.append(index)
        exchange.target = upstream.targets[index]
        exchange.attempts += 1
        url = upstream.url(index, exchange.upstream_path, exchange.query)
        url = url.with_scheme("wss" if service.scheme == "https" else "ws")
        sent_at = time.perf_counter()
        try:
            connection = await _NoRedirects(
                str(url),
                subprotocols=[Subprotocol(p) for p in upgrade.subprotocols] or None,
                additional_headers=headers,
                user_agent_header=None,
                compression=None,
                proxy=None,
                open_timeout=service.connect_timeout + service.read_timeout,
                ping_interval=None,
                close_timeout=upgrade.close_timeout,
                max_size=upgrade.spec.max_message_bytes,
                max_queue=upgrade.queue,
                **tls,
            )
        except InvalidStatus as exc:
            exchange.upstream_seconds = time.perf_counter() - sent_at
            if upstream.gate is not None:
                await upstream.gate.report(index, ticket, exc.response.status_code)
            return _refusal(exchange, exc)
        except (OSError, TimeoutError, InvalidHandshake, websockets.exceptions.WebSocketException) as exc:
            exchange.upstream_seconds = time.perf_counter() - sent_at
            if upstream.gate is not None:
                await upstream.gate.report(index, ticket, None)
            timed_out = isinstance(exc, TimeoutError)
            refused_tls = isinstance(exc, ssl.SSLError)
            exchange.upstream_error = "timeout" if timed_out else "tls" if refused_tls else "connect"
            log.warning(
                "request %s: WebSocket to %s of service %r failed: %r",
                exchange.request_id,
                exchange.target.address,
                service.name,
                exc,
            )
            if refused_tls:
                failure = UpstreamTLS(f"Service {service.name!r} failed the TLS handshake or certificate check.")
            elif timed_out:
                failure = UpstreamTimeout(f"Service {service.name!r} did not complete the WebSocket handshake.")
            elif isinstance(exc, OSError):
                failure = UpstreamUnreachable(f"Service {service.name!r} could not be reached.")
            else:
                failure = UpstreamBroken(f"Service {service.name!r} sent a broken WebSocket handshake.")
            continue
        exchange.upstream_seconds = time.perf_counter() - sent_at
        if upstream.gate is not None:
            await upstream.gate.report(index, ticket, 101)
        upstream.balancer.started(index)
        upgrade.connection = connection
        upgrade.target_index = index
        return Response(101, [(b"x-request-id", exchange.request_id.encode())])
    raise failure or NoUpstream(f"Service {service.name!r} has no target left to try.")


def _backend_headers(exchange: Exchange) -> list[tuple[str, str]]:
    headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in exchange.headers if n not in CLIENT_LEG_ONLY]
    client = exchange.client_ip
    xff = f"{exchange.forwarded_for.decode('latin-1')}, {client}" if exchange.forwarded_for else client
    headers.append(("X-Forwarded-For", xff))
    headers.append(("X-Real-IP", exchange.client_address or client))
    headers.append(("X-Forwarded-Proto", "https" if exchange.scheme in ("https", "wss") else "http"))
    headers.append(("X-Forwarded-Host", exchange.original_host.decode("latin-1")))
    headers.append(("Via", exchange.via))
    headers.append(("X-Request-ID", exchange.request_id))
    return headers


def _refusal(exchange: Exchange, exc: InvalidStatus) -> Response:
    resp = exc.response
    raw = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in resp.headers.raw_items()]
    headers = response_headers(raw, exchange.request_id.encode(), VIA, settings.GATEWAY_BACKEND_SERVER_HEADER)
    headers = [(n, v) for n, v in headers if n not in (b"content-length", b"sec-websocket-accept")]
    body = bytes(resp.body or b"")
    headers.append((b"content-length", str(len(body)).encode()))
    return Response(resp.status_code, headers, body)
