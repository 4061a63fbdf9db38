"""The data plane: an ASGI callable in front of Django.

Paths Django owns go straight to Django. Every other request is checked (method, version, path,
headers), matched against the in-memory routing table, and handed to its route's policy chain.
No database access, no thread hop: everything here reads the table in ``proxy.serving``.

With an admin listener (``GATEWAY_ADMIN_PORT``, ``serve --admin-port``) the two ports split the
work: the public one serves proxied routes and the Django paths of ``GATEWAY_PUBLIC_PATHS`` (health,
the catalogue, the fan-out endpoints), the admin one serves Django's paths only (the admin, its API,
metrics). Each answers 404 ``no_route`` for what belongs to the other.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from django.conf import settings

from proxy import disconnects, observe, tracing
from proxy.body import ClientGone
from proxy.errors import (
    BadRequest,
    GatewayError,
    MethodNotAllowed,
    NoRoute,
    ShuttingDown,
    UpstreamBroken,
    UpstreamTimeout,
    problem,
)
from proxy.exchange import Exchange, Response, request_context
from proxy.headers import client_address, inspect_request, is_trusted, request_id_of
from proxy.paths import read_path
from proxy.reserved import is_reserved, reserved_prefixes
from proxy.serving import serving
from proxy.table import MethodMismatch

log = logging.getLogger("proxy")

ASGIApp = Any
REFUSED_METHODS = frozenset({"TRACE", "CONNECT"})
# Largest unknown-length response buffered for an HTTP/1.0 client.
HTTP10_BUFFER_LIMIT = 16 * 1024 * 1024


class GatewayApp:
    def __init__(self, django_app: ASGIApp) -> None:
        self.django = django_app
        self.trusted = settings.GATEWAY_TRUSTED_PROXIES
        self.version_headers = frozenset(h.encode() for h in settings.GATEWAY_VERSION_HEADERS)
        self.via_name = f"1.1 {settings.GATEWAY_VIA_NAME}"
        self.reserved_starts = reserved_prefixes()
        self.admin_port: int = settings.GATEWAY_ADMIN_PORT
        self.public_paths = tuple(settings.GATEWAY_PUBLIC_PATHS)
        self.in_flight: Any = None  # the in-flight gauge's bare increment (proxy.metrics.hot)
        if settings.GATEWAY_METRICS:
            from proxy.metrics.hot import incrementer
            from proxy.metrics.series import IN_FLIGHT

            self.in_flight = incrementer(IN_FLIGHT)
        # Decided once: with tracing off the proxy path has no tracing code at all.
        self.proxy = tracing.server(self._proxy) if tracing.enabled else self._proxy

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path: str = scope["path"]
        if path.startswith(self.reserved_starts) and is_reserved(path):
            # The server protocol refuses these first; this covers servers without it (runserver).
            if scope["method"] in REFUSED_METHODS:
                await self._refuse(scope, send, MethodNotAllowed(f"{scope['method']} is not served here."))
            elif self.admin_port and not self.serves(scope):
                await self._refuse(scope, send, NoRoute(f"{path} is not served on this port."))
            else:
                await self.django(scope, receive, send)
            return
        if self.admin_port and self._on_admin_listener(scope):
            await self._refuse(scope, send, NoRoute("The admin listener serves no proxied routes."))
            return
        await self.proxy(scope, receive, send)

    def serves(self, scope: dict[str, Any]) -> bool:
        """Whether the listener the request came in on serves it (always, without an admin
        listener): the admin listener serves Django's HTTP paths and nothing of the data plane (no
        proxied route, no WebSocket); the public one everything but the Django paths missing from
        GATEWAY_PUBLIC_PATHS. The WebSocket router asks too."""
        if not self.admin_port:
            return True
        path: str = scope["path"]
        if self._on_admin_listener(scope):
            return scope["type"] == "http" and is_reserved(path)
        return not is_reserved(path) or any(
            path == p or path.startswith(p.rstrip("/") + "/") for p in self.public_paths
        )

    def _on_admin_listener(self, scope: dict[str, Any]) -> bool:
        server = scope.get("server")
        return server is not None and server[1] == self.admin_port

    async def _refuse(self, scope: dict[str, Any], send: Any, error: GatewayError) -> None:
        """An answer before any route or Django view: problem+json, and the observers' record."""
        started = time.perf_counter()
        request_id = request_id_of(scope)
        await self._send_error(send, error, request_id, scope["path"])
        if observe.active():
            peer = scope["client"][0] if scope.get("client") else ""
            observe.notify(
                observe.finished_early(
                    scope, request_id, started, time.perf_counter(), error.status, error.reason, peer
                )
            )

    async def _proxy(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path: str = scope["path"]
        started = time.perf_counter()
        try:
            exchange = self._exchange(scope, receive, started)
        except GatewayError as error:
            request_id = request_id_of(scope)
            if not observe.active():
                await self._send_error(send, error, request_id, path)
                return
            peer = scope["client"][0] if scope.get("client") else ""
            record = observe.finished_early(
                scope, request_id, started, time.perf_counter(), error.status, error.reason, peer
            )
            await self._send_error(send, error, request_id, path, early=record)
            observe.notify(record, witnessed=True)
            return
        exchange.task = asyncio.current_task()
        disconnects.inflight.add(exchange)
        request_context.set((exchange.request_id, scope.get(tracing.TRACE_ID, "")))
        in_flight = self.in_flight
        if in_flight is not None:
            in_flight(1)
        try:
            try:
                response = await exchange.route.handle(exchange)
                if response.stream is not None and scope["http_version"] == "1.0":
                    response = await _buffer_for_http10(response)
            except GatewayError as error:
                exchange.finished = True
                await self._send_error(send, error, exchange.request_id, path, exchange)
                return
            await self._send(send, response, exchange)
        except ClientGone:
            return
        except asyncio.CancelledError:
            if exchange.shed:  # a graceful shutdown's deadline: answer now rather than be cut
                asyncio.current_task().uncancel()  # type: ignore[union-attr]
                retry = [(b"retry-after", b"1")]
                stopping = ShuttingDown("The gateway is restarting; retry the request.", headers=retry)
                stopping.close_connection = True
                await self._send_error(send, stopping, exchange.request_id, path, exchange)
                return
            if not exchange.client_left:
                raise
            # The client left: the upstream request was abandoned on purpose, nobody to answer.
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
        except Exception:
            log.exception("unexpected error while proxying %s %s", scope.get("method"), path)
            internal = GatewayError("The gateway failed while handling this request.")
            await self._send_error(send, internal, exchange.request_id, path, exchange)
        finally:
            disconnects.forget(exchange)
            if in_flight is not None:
                in_flight(-1)
            if observe.active():
                if exchange.record is None:
                    observe.notify(observe.finished_exchange(exchange, time.perf_counter()))
                else:
                    observe.notify(exchange.record, witnessed=True)

    def exchange_for(self, scope: dict[str, Any], receive: Any, started: float) -> Exchange:
        """Check and route a request head; the WebSocket proxy (``realtime``) uses it for upgrades."""
        return self._exchange(scope, receive, started)

    def _exchange(self, scope: dict[str, Any], receive: Any, started: float) -> Exchange:
        method: str = scope["method"]
        if method in REFUSED_METHODS:
            raise MethodNotAllowed(f"{method} is not proxied.")
        if scope["http_version"] not in ("1.1", "1.0"):
            raise BadRequest("Only HTTP/1.0 and HTTP/1.1 are accepted.", reason="unsupported_version")
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        request_path = read_path(raw_path.decode("latin-1"))  # 400 for a path with no single reading
        path = request_path.raw
        client = scope.get("client")
        client_ip = client[0] if client else ""
        trusted = is_trusted(client_ip, self.trusted) if self.trusted else False
        head = inspect_request(scope["headers"], trusted, self.version_headers)
        address = client_address(client_ip, head.forwarded_for, self.trusted) if trusted else client_ip
        host = head.host.decode("latin-1").lower()
        colon = host.rfind(":")
        if colon > 0 and "]" not in host[colon:]:
            host = host[:colon]
        table = serving.table
        if table is None:
            raise NoRoute("The gateway has not loaded its configuration yet.", reason="config_not_loaded")
        found = table.match(host, request_path, method, head.version)
        if found is None:
            raise NoRoute(f"No route matches {method} {path}.")
        if isinstance(found, MethodMismatch):
            allow = ", ".join(found.allowed).encode()
            raise MethodNotAllowed(f"{method} is not allowed here.", headers=[(b"allow", allow)])
        route, upstream_path = found
        scheme = head.forwarded_proto.decode("latin-1") if head.forwarded_proto else scope.get("scheme", "http")
        return Exchange(
            scope=scope,
            receive=receive,
            method=method,
            path=path,
            query=scope.get("query_string", b""),
            host=host,
            scheme=scheme,
            client_ip=client_ip,
            client_address=address,
            request_id=head.request_id,
            headers=head.headers,
            route=route,
            upstream_path=upstream_path,
            content_length=head.content_length,
            chunked=head.chunked,
            body_limit=route.spec.max_body_bytes,
            started=started,
            forwarded_for=head.forwarded_for,
            original_host=head.forwarded_host or head.host,
            via=f"{head.via.decode('latin-1')}, {self.via_name}" if head.via else self.via_name,
        )

    async def _send(self, send: Any, response: Response, exchange: Exchange) -> None:
        stream = response.stream
        exchange.status = response.status
        exchange.error_reason = response.error_reason
        if stream is None:
            exchange.finished = True
            exchange.bytes_out = len(response.body)
            await send({"type": "http.response.start", "status": response.status, "headers": response.headers})
            _witness(exchange)
            await send({"type": "http.response.body", "body": response.body})
            return
        await send({"type": "http.response.start", "status": response.status, "headers": response.headers})
        # The server drops writes to a closed connection silently; a long stream must notice the
        # client leaving, or it keeps reading from the backend for nobody.
        disconnects.watch(exchange)
        complete = False
        sent = 0
        try:
            async for chunk in stream:
                sent += len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            complete = True
        except (TimeoutError, UpstreamBroken, UpstreamTimeout) as exc:
            # Headers are out: the only honest answer left is to cut the connection short.
            log.warning(
                "upstream %s broke off a streamed response (request %s): %r",
                exchange.target.address if exchange.target else "?",
                exchange.request_id,
                exc,
            )
        finally:
            exchange.bytes_out = sent
            if response.close is not None:
                response.close()
        if complete:
            exchange.finished = True
            _witness(exchange)
            await send({"type": "http.response.body", "body": b""})

    async def _send_error(
        self,
        send: Any,
        error: GatewayError,
        request_id: str,
        path: str,
        exchange: Exchange | None = None,
        early: observe.Finished | None = None,
    ) -> None:
        headers, body = problem(error, request_id, path)
        if exchange is not None:
            exchange.status = error.status
            exchange.error_reason = error.reason
            exchange.bytes_out = len(body)
        await send({"type": "http.response.start", "status": error.status, "headers": headers})
        if exchange is not None:
            _witness(exchange)
        elif early is not None and observe.witnessing():
            observe.witness(early)
        await send({"type": "http.response.body", "body": body})


def _witness(exchange: Exchange) -> None:
    """Hand the record to the witnesses before the last part of the response goes out (once)."""
    if exchange.record is None and observe.witnessing():
        exchange.record = observe.finished_exchange(exchange, time.perf_counter())
        observe.witness(exchange.record)


async def _buffer_for_http10(response: Response) -> Response:
    """HTTP/1.0 clients cannot read chunked framing (RFC 9112 6.1): send them a Content-Length."""
    assert response.stream is not None
    parts = []
    size = 0
    try:
        async for chunk in response.stream:
            size += len(chunk)
            if size > HTTP10_BUFFER_LIMIT:
                raise UpstreamBroken(
                    f"The response is larger than {HTTP10_BUFFER_LIMIT} bytes and has no length; "
                    "retry with HTTP/1.1, which can receive it streamed."
                )
            parts.append(chunk)
    except (TimeoutError, UpstreamTimeout):
        raise UpstreamBroken("The upstream response broke off.") from None
    finally:
        if response.close is not None:
            response.close()
    body = b"".join(parts)
    headers = [(n, v) for n, v in response.headers if n != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    return Response(response.status, headers, body)
