"""A route's WebSocket settings, compiled into an immutable ``WebSocketSpec`` (part of ``RouteSpec``).

Empty route fields take the ``GATEWAY_WEBSOCKET_*`` defaults here, at compile time, so the data
plane reads one frozen object per route and never consults settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from registry import validators as v
from registry.models import Route

PROTOCOL = "protocol"
QUERY = "query"
BOTH = "both"


@dataclass(frozen=True, slots=True)
class WebSocketSpec:
    origins: tuple[str, ...]  # lower-cased scheme://host[:port]; ("*",) any; () the gateway's own host
    token_in_protocol: bool  # a "bearer.<credential>" entry of Sec-WebSocket-Protocol
    token_in_query: bool  # the access_token query parameter
    max_message_bytes: int
    max_connections: int  # per process; 0: unlimited
    max_connections_per_consumer: int  # per process; 0: unlimited
    idle_timeout: float  # seconds; 0: never


def websocket_for(route: Route) -> WebSocketSpec | None:
    if not route.websocket:
        return None

    def pick(value: int | float | None, default: int | float) -> int | float:
        return value if value is not None else default

    return WebSocketSpec(
        origins=v.parse_origins(route.websocket_origins),
        token_in_protocol=route.websocket_token_in in (PROTOCOL, BOTH),
        token_in_query=route.websocket_token_in in (QUERY, BOTH),
        max_message_bytes=int(pick(route.websocket_max_message_bytes, settings.GATEWAY_WEBSOCKET_MAX_MESSAGE_BYTES)),
        max_connections=int(pick(route.websocket_max_connections, settings.GATEWAY_WEBSOCKET_MAX_CONNECTIONS)),
        max_connections_per_consumer=int(
            pick(route.websocket_max_connections_per_consumer, settings.GATEWAY_WEBSOCKET_MAX_PER_CONSUMER)
        ),
        idle_timeout=float(pick(route.websocket_idle_timeout, settings.GATEWAY_WEBSOCKET_IDLE_TIMEOUT)),
    )
