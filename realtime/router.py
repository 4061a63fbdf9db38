"""The ASGI ``websocket`` application: ``/ws/{client_id}`` is the channel fan-out endpoint, every
other upgrade is matched like HTTP and proxied to the route's backend.

Before the handshake is accepted: the request head is checked and routed as an HTTP GET would be
(``GatewayApp.exchange_for``), the route must allow WebSocket, the Origin must be allowed, then the
route's whole policy chain runs with ``realtime.backend.open_backend`` as its last step: the route's
``websocket`` entry, compiled with the table (auth, rate limits and any other policy apply on
connect; the connection caps are counted there, after auth). Any refusal is an HTTP problem+json
answer instead of the 101.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings

from proxy.app import GatewayApp
from proxy.errors import GatewayError, NoRoute
from proxy.exchange import Exchange, Response
from proxy.headers import request_id_of
from proxy.reserved import is_reserved
from proxy.serving import serving
from realtime import fanout, records
from realtime.backend import Upgrade
from realtime.bridge import Bridge
from realtime.compile import NAME
from realtime.errors import WebSocketNotAllowed
from realtime.handshake import answer, check_origin, refuse, take_credentials
from realtime.live import live

log = logging.getLogger(__name__)

FANOUT_PREFIX = "/ws/"


class WebSocketRouter:
    def __init__(self, gateway: GatewayApp) -> None:
        self.gateway = gateway

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        started = time.perf_counter()
        first = await receive()
        if first["type"] != "websocket.connect":
            return
        if not self.gateway.serves(scope):  # the admin listener, or a Django path on the public one
            peer = scope["client"][0] if scope.get("client") else ""
            error = NoRoute(f"No WebSocket is served at {scope['path']} on this port.")
            await self._refused(scope, send, error, None, started, peer)
            return
        if scope["path"].startswith(FANOUT_PREFIX):
            await fanout.serve(scope, receive, send, started)
            return
        await self._proxy(scope, receive, send, started)

    async def _proxy(self, scope: dict[str, Any], receive: Any, send: Any, started: float) -> None:
        path: str = scope["path"]
        peer = scope["client"][0] if scope.get("client") else ""
        exchange: Exchange | None = None
        try:
            if is_reserved(path):
                raise NoRoute(f"No WebSocket is served at {path}.")
            # A WebSocket scope may leave out http_version (ASGI: "1.1" then); daphne does.
            head = {**scope, "method": "GET", "http_version": scope.get("http_version", "1.1")}
            exchange = self.gateway.exchange_for(head, receive, started)
            chain = exchange.route.entries.get("websocket")
            if chain is None:
                raise WebSocketNotAllowed("This route does not accept WebSocket upgrades.")
            # The table that matched: nothing awaited since, so no swap could come between.
            assert serving.table is not None
            spec = serving.table.extensions[NAME].websockets[exchange.route.spec.id]
            check_origin(exchange.headers, exchange.original_host, exchange.scheme, spec.origins)
            exchange.headers, exchange.query, protocols = take_credentials(
                exchange.headers,
                exchange.query,
                scope.get("subprotocols") or (),
                spec.token_in_protocol,
                spec.token_in_query,
            )
            upgrade = Upgrade(
                spec, protocols, settings.GATEWAY_WEBSOCKET_QUEUE, settings.GATEWAY_WEBSOCKET_CLOSE_TIMEOUT
            )
            exchange.extra["websocket"] = upgrade
            response = await chain(exchange)
        except GatewayError as error:
            await self._refused(scope, send, error, exchange, started, peer)
            return
        except Exception:
            log.exception("unexpected error before a WebSocket handshake on %s", path)
            internal = GatewayError("The gateway failed while opening this WebSocket.")
            await self._refused(scope, send, internal, exchange, started, peer)
            return
        if response.status != 101 or upgrade.connection is None:
            await self._passed_on(scope, send, exchange, upgrade, response, started)
            return
        await self._relay(scope, receive, send, exchange, upgrade, response, started)

    async def _relay(
        self,
        scope: dict[str, Any],
        receive: Any,
        send: Any,
        exchange: Exchange,
        upgrade: Upgrade,
        response: Response,
        started: float,
    ) -> None:
        backend = upgrade.connection
        assert backend is not None
        spec = upgrade.spec
        route = exchange.route
        bridge = Bridge(receive, send, backend, route.spec.name, spec.max_message_bytes, spec.idle_timeout)
        live.sessions.add(bridge)
        end = None
        try:
            await send({"type": "websocket.accept", "subprotocol": backend.subprotocol, "headers": response.headers})
            end = await bridge.run()
        finally:
            live.sessions.discard(bridge)
            if upgrade.admitted is not None:
                live.release(*upgrade.admitted)
            route.upstream.balancer.finished(upgrade.target_index)
            records.notify(
                scope,
                exchange.request_id,
                started,
                status=101,
                client_address=exchange.client_address or exchange.client_ip,
                end=end,
                counts=bridge,
                route=route.spec,
                target=exchange.target,
                identity=exchange.identity,
                upstream_seconds=exchange.upstream_seconds,
            )

    async def _refused(
        self,
        scope: dict[str, Any],
        send: Any,
        error: GatewayError,
        exchange: Exchange | None,
        started: float,
        peer: str,
    ) -> None:
        request_id = exchange.request_id if exchange is not None else request_id_of(scope)
        upgrade: Upgrade | None = exchange.extra.get("websocket") if exchange is not None else None
        if upgrade is not None and exchange is not None:  # an outer policy refused after the backend answered
            if upgrade.admitted is not None:
                live.release(*upgrade.admitted)
            if upgrade.connection is not None:
                await upgrade.connection.close(1001)
                exchange.route.upstream.balancer.finished(upgrade.target_index)
        await refuse(scope, send, error, request_id, scope["path"])
        records.notify(
            scope,
            request_id,
            started,
            status=error.status,
            error_reason=error.reason,
            client_address=(exchange.client_address if exchange is not None else "") or peer,
            route=exchange.route.spec if exchange is not None else None,
            target=exchange.target if exchange is not None else None,
            identity=exchange.identity if exchange is not None else None,
            upstream_error=exchange.upstream_error if exchange is not None else None,
        )

    async def _passed_on(
        self,
        scope: dict[str, Any],
        send: Any,
        exchange: Exchange,
        upgrade: Upgrade,
        response: Response,
        started: float,
    ) -> None:
        """The backend (or a policy) answered the upgrade with an HTTP response: the client gets it."""
        if upgrade.admitted is not None:
            live.release(*upgrade.admitted)
        if upgrade.connection is not None:
            await upgrade.connection.close()
            exchange.route.upstream.balancer.finished(upgrade.target_index)
        await answer(scope, send, response.status, response.headers, response.body)
        records.notify(
            scope,
            exchange.request_id,
            started,
            status=response.status,
            error_reason=response.error_reason,
            client_address=exchange.client_address or exchange.client_ip,
            route=exchange.route.spec,
            target=exchange.target,
            identity=exchange.identity,
            upstream_seconds=exchange.upstream_seconds,
        )
