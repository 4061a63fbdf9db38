"""The WebSocket refusals the gateway makes before a handshake, in the tree of ``proxy.errors``.

    NoRoute ─ WebSocketNotAllowed (404 websocket_not_allowed)
    Forbidden ─ OriginRefused (403 origin_not_allowed), ClientIdRefused (403 client_id_not_yours)
    TooManyConnections (429 too_many_connections)

Each is sent as a problem+json HTTP response instead of the 101 (the ASGI
``websocket.http.response`` extension), or as a close 1008 where the server lacks it.
"""

from __future__ import annotations

from proxy.errors import Forbidden, GatewayError, NoRoute


class WebSocketNotAllowed(NoRoute):
    reason = "websocket_not_allowed"


class OriginRefused(Forbidden):
    reason = "origin_not_allowed"


class ClientIdRefused(Forbidden):
    reason = "client_id_not_yours"


class TooManyConnections(GatewayError):
    status = 429
    reason = "too_many_connections"
