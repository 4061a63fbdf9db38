"""What the realtime app compiles into each routing table (``snapshot.extensions["realtime"]``):
the WebSocket settings of each route that accepts upgrades, and the fan-out endpoint's channel rules.

``load_realtime`` runs in the config watcher's worker thread during every table rebuild (ORM
allowed there). Empty route fields take the ``GATEWAY_WEBSOCKET_*`` defaults here, so the data
plane reads one frozen object per route and never consults settings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings

from proxy.auth.config import EITHER, AuthConfig
from proxy.specs import RouteSpec, Snapshot
from realtime.models import Channel, RouteWebSocket
from registry import validators as v
from registry.auth_compile import gateway_user_key

NAME = "realtime"
CHANNEL_RE = re.compile(r"^[A-Za-z0-9._-]{1,80}$")
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


@dataclass(frozen=True, slots=True)
class ChannelRule:
    pattern: str
    regex: re.Pattern[str]
    roles: frozenset[str]  # empty: any authenticated caller


@dataclass(frozen=True, slots=True, eq=False)
class RealtimeSnapshot:
    rules: tuple[ChannelRule, ...]
    auth: AuthConfig  # API keys and JWTs of every enabled consumer and issuer, and gateway users
    origins: tuple[str, ...]  # allowed Origins of /ws/ connections (as a route's websocket_origins)
    websockets: Mapping[int, WebSocketSpec] = field(default_factory=dict)  # by route id

    def may_subscribe(self, channel: str, roles: frozenset[str]) -> bool:
        for rule in self.rules:
            if rule.regex.fullmatch(channel) and (not rule.roles or rule.roles & roles):
                return True
        return False


def accepts_upgrades(route: RouteSpec, snapshot: Snapshot) -> bool:
    """For ``proxy.table.register_entry``: routes that get a WebSocket chain."""
    found = snapshot.extensions.get(NAME)
    return isinstance(found, RealtimeSnapshot) and route.id in found.websockets


def compile_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def load_realtime(snapshot: Snapshot) -> RealtimeSnapshot:
    rules = tuple(
        ChannelRule(c.pattern, compile_pattern(c.pattern), frozenset(v.parse_roles(c.roles)))
        for c in Channel.objects.filter(enabled=True).order_by("pattern")
    )
    credentials = snapshot.credentials
    auth = AuthConfig(
        mode=EITHER,
        required_roles=frozenset(),
        allow_anonymous=False,
        key_header=b"",
        key_query_param="",
        identity_headers=(),
        jwt_keys=(*credentials.jwt_keys, gateway_user_key()),
        credentials=credentials,
    )
    ids = [route.id for route in snapshot.routes]
    rows = RouteWebSocket.objects.filter(route_id__in=ids, websocket=True)
    websockets = {row.route_id: websocket_spec(row) for row in rows}
    return RealtimeSnapshot(rules, auth, tuple(settings.GATEWAY_REALTIME_ORIGINS), websockets)


def websocket_spec(row: RouteWebSocket) -> WebSocketSpec:
    def pick(value: int | float | None, default: int | float) -> int | float:
        return value if value is not None else default

    return WebSocketSpec(
        origins=v.parse_origins(row.websocket_origins),
        token_in_protocol=row.websocket_token_in in (PROTOCOL, BOTH),
        token_in_query=row.websocket_token_in in (QUERY, BOTH),
        max_message_bytes=int(pick(row.websocket_max_message_bytes, settings.GATEWAY_WEBSOCKET_MAX_MESSAGE_BYTES)),
        max_connections=int(pick(row.websocket_max_connections, settings.GATEWAY_WEBSOCKET_MAX_CONNECTIONS)),
        max_connections_per_consumer=int(
            pick(row.websocket_max_connections_per_consumer, settings.GATEWAY_WEBSOCKET_MAX_PER_CONSUMER)
        ),
        idle_timeout=float(pick(row.websocket_idle_timeout, settings.GATEWAY_WEBSOCKET_IDLE_TIMEOUT)),
    )
