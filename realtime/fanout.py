"""``WS /ws/{client_id}``: subscribe to named channels and receive what backends publish.

The client id must be the authenticated consumer's id, or start with it and a dot
(``42`` or ``42.tab-1`` for consumer 42; for a JWT caller without a consumer, its subject). Credentials
come as on any route (Authorization header), or, for browsers, a ``bearer.<credential>`` subprotocol
or the ``access_token`` query parameter. The client sends small JSON messages:

    {"action": "subscribe", "channel": "orders.42"}     -> {"type": "subscribed", "channel": "orders.42"}
    {"action": "unsubscribe", "channel": "orders.42"}   -> {"type": "unsubscribed", "channel": "orders.42"}
    anything refused                                     -> {"type": "error", "error": "...", "channel": ...}

and receives ``{"type": "message", "channel": "orders.42", "data": ...}`` (``"channel": null`` for a
message sent to its client id). Delivery goes through the Channels layer: Redis with ``REDIS_URL``
(a publish on any process reaches subscribers on every process), in memory otherwise. A slow client
does not make the gateway buffer: the layer keeps a bounded number of messages per connection and
drops the rest (channels_redis ``capacity``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings

from proxy.auth.config import Identity
from proxy.auth.policy import AuthPolicy
from proxy.errors import DependencyDown, GatewayError, NoRoute
from proxy.headers import inspect_request, new_request_id
from proxy.serving import serving
from realtime import records
from realtime.bridge import GOING_AWAY, NO_STATUS, TOO_BIG, End
from realtime.compile import CHANNEL_RE, NAME, RealtimeSnapshot
from realtime.errors import ClientIdRefused
from realtime.handshake import check_origin, refuse, take_credentials
from realtime.live import live
from realtime.metrics import MESSAGES

log = logging.getLogger(__name__)

PREFIX = "/ws/"
ROUTE_LABEL = "ws"  # the metrics and live-count label of the fan-out endpoint
PROTOCOL = "realtime.v1"  # selected when offered (browsers that send a bearer.<token> subprotocol need one)
CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")
MAX_CLIENT_MESSAGE = 4096
MESSAGE_TYPE = "realtime.message"
# channels_redis forgets group members after a day (group_expiry): long connections re-join hourly.
GROUP_REFRESH_SECONDS = 3600.0

_policies: dict[int, tuple[RealtimeSnapshot, AuthPolicy]] = {}


@dataclass(slots=True)
class _Carrier:
    headers: list[tuple[bytes, bytes]]
    query: bytes


def channel_group(channel: str) -> str:
    return f"rt.c.{channel}"


def client_group(client_id: str) -> str:
    # Group names allow only ASCII letters, digits, '-', '_' and '.': client ids may hold more.
    return "rt.k." + hashlib.sha256(client_id.encode()).hexdigest()[:40]


def owns(identity: Identity, client_id: str) -> bool:
    owner = identity.consumer_id or identity.subject
    return bool(owner) and (client_id == owner or client_id.startswith(owner + "."))


def current_config() -> RealtimeSnapshot | None:
    table = serving.table
    return table.extensions.get(NAME) if table is not None else None


def auth_policy(config: RealtimeSnapshot) -> AuthPolicy:
    cached = _policies.get(id(config))
    if cached is None or cached[0] is not config:
        _policies.clear()  # one table at a time: a rebuild starts with fresh verified-token caches
        cached = (config, AuthPolicy(config.auth, settings.GATEWAY_API_KEY_PEPPER))
        _policies[id(config)] = cached
    return cached[1]


async def serve(scope: dict[str, Any], receive: Any, send: Any, started: float) -> None:
    client_id = scope["path"][len(PREFIX) :]
    peer = scope["client"][0] if scope.get("client") else ""
    request_id = ""
    identity: Identity | None = None
    try:
        head = inspect_request(scope["headers"], False, frozenset())
        request_id = head.request_id
        config = current_config()
        if config is None:
            raise DependencyDown("The gateway has not loaded its configuration yet.", reason="config_not_loaded")
        if not CLIENT_ID_RE.match(client_id):
            raise NoRoute("A client id is 1-128 of A-Z a-z 0-9 . _ : @ -.", reason="invalid_client_id")
        check_origin(head.headers, head.host, scope.get("scheme", "ws"), config.origins)
        headers, query, protocols = take_credentials(
            head.headers, scope.get("query_string", b""), scope.get("subprotocols") or (), True, True
        )
        identity = await auth_policy(config).authenticate(_Carrier(headers, query))
        if identity is None or not owns(identity, client_id):
            raise ClientIdRefused("This client id does not belong to the authenticated caller.")
        owner = identity.consumer_id or identity.subject
        live.admit(ROUTE_LABEL, owner, 0, settings.GATEWAY_WEBSOCKET_MAX_PER_CONSUMER)
    except GatewayError as error:
        request_id = request_id or new_request_id()
        await refuse(scope, send, error, request_id, scope["path"])
        records.notify(
            scope, request_id, started, status=error.status, error_reason=error.reason, client_address=peer,
            identity=identity, endpoint=ROUTE_LABEL,
        )  # fmt: skip
        return
    session = FanoutSession(receive, send, identity, client_id)
    live.sessions.add(session)
    end = None
    try:
        await send({"type": "websocket.accept", "subprotocol": PROTOCOL if PROTOCOL in protocols else None})
        end = await session.run()
    finally:
        live.sessions.discard(session)
        live.release(ROUTE_LABEL, owner)
        records.notify(
            scope, request_id, started, status=101, client_address=peer, end=end, counts=session, identity=identity,
            endpoint=ROUTE_LABEL,
        )  # fmt: skip


class FanoutSession:
    def __init__(self, receive: Any, send: Any, identity: Identity, client_id: str) -> None:
        self.receive = receive
        self.send = send
        self.identity = identity
        self.client_id = client_id
        self.layer = get_channel_layer()
        self.channel = ""
        self.subscriptions: set[str] = set()
        self.end: End | None = None
        self.ended = asyncio.Event()
        self.messages_in = self.messages_out = self.bytes_in = self.bytes_out = 0
        self.counted_in = MESSAGES.labels(ROUTE_LABEL, "in")
        self.counted_out = MESSAGES.labels(ROUTE_LABEL, "out")

    def finish(self, end: End) -> None:
        if self.end is None:
            self.end = end
            self.ended.set()

    async def shut(self, code: int, reason: str) -> None:
        self.finish(End(code, None, reason, "gateway", code))

    async def run(self) -> End:
        assert self.layer is not None
        self.channel = await self.layer.new_channel("realtime.")
        await self.layer.group_add(client_group(self.client_id), self.channel)
        tasks = [
            asyncio.create_task(self._from_client()),
            asyncio.create_task(self._from_layer_until_gone()),
            asyncio.create_task(self._refresh_groups()),
        ]
        try:
            await asyncio.wait([*tasks, asyncio.create_task(self.ended.wait())], return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    log.error("channel fan-out failed", exc_info=task.exception())
                    self.finish(End(1011, None, "gateway error", "gateway", 1011))
        finally:
            self.finish(End(GOING_AWAY, None, "gateway shutdown", "gateway", GOING_AWAY))
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._leave()
        assert self.end is not None
        if self.end.to_client is not None:
            with contextlib.suppress(Exception):
                await self.send({"type": "websocket.close", "code": self.end.to_client, "reason": self.end.reason})
        return self.end

    async def _refresh_groups(self) -> None:
        assert self.layer is not None
        while True:
            await asyncio.sleep(GROUP_REFRESH_SECONDS)
            await self.layer.group_add(client_group(self.client_id), self.channel)
            for channel in list(self.subscriptions):
                await self.layer.group_add(channel_group(channel), self.channel)

    async def _leave(self) -> None:
        assert self.layer is not None
        with contextlib.suppress(Exception):
            await self.layer.group_discard(client_group(self.client_id), self.channel)
            for channel in list(self.subscriptions):
                await self.layer.group_discard(channel_group(channel), self.channel)
        for channel in self.subscriptions:
            live.unsubscribed(channel)
        self.subscriptions.clear()

    async def _from_client(self) -> None:
        while True:
            message = await self.receive()
            if message["type"] == "websocket.disconnect":
                code = message.get("code", NO_STATUS)
                if live.shutting_down:
                    self.finish(End(None, None, "gateway shutdown", "gateway", GOING_AWAY))
                else:
                    self.finish(End(None, None, message.get("reason") or "", "client", code))
                return
            if message["type"] != "websocket.receive":
                continue
            text = message.get("text")
            raw = text.encode() if text is not None else message.get("bytes") or b""
            if len(raw) > MAX_CLIENT_MESSAGE:
                self.finish(End(TOO_BIG, None, "message too big", "gateway", TOO_BIG))
                return
            self.messages_in += 1
            self.counted_in.inc()
            self.bytes_in += len(raw)
            await self._handle(raw)

    async def _handle(self, raw: bytes) -> None:
        assert self.layer is not None
        try:
            request = json.loads(raw)
            action, channel = request["action"], request["channel"]
        except (ValueError, TypeError, KeyError):
            await self._reply({"type": "error", "error": "bad_message", "detail": 'Send {"action", "channel"}.'})
            return
        if action not in ("subscribe", "unsubscribe") or not isinstance(channel, str) or not CHANNEL_RE.match(channel):
            await self._reply({"type": "error", "error": "bad_message", "channel": str(channel)[:80]})
            return
        if action == "unsubscribe":
            if channel in self.subscriptions:
                self.subscriptions.discard(channel)
                live.unsubscribed(channel)
                await self.layer.group_discard(channel_group(channel), self.channel)
            await self._reply({"type": "unsubscribed", "channel": channel})
            return
        config = current_config()
        if config is None or not config.may_subscribe(channel, self.identity.roles):
            await self._reply({"type": "error", "error": "forbidden", "channel": channel})
            return
        if channel not in self.subscriptions:
            if len(self.subscriptions) >= settings.GATEWAY_REALTIME_MAX_SUBSCRIPTIONS:
                await self._reply({"type": "error", "error": "too_many_subscriptions", "channel": channel})
                return
            await self.layer.group_add(channel_group(channel), self.channel)
            self.subscriptions.add(channel)
            live.subscribed(channel)
        await self._reply({"type": "subscribed", "channel": channel})

    async def _from_layer_until_gone(self) -> None:
        try:
            await self._from_layer()
        except OSError:
            # The client is gone (uvicorn's ClientDisconnected); its disconnect message ends the session.
            await asyncio.Event().wait()

    async def _from_layer(self) -> None:
        assert self.layer is not None
        while True:
            message = await self.layer.receive(self.channel)
            if message.get("type") != MESSAGE_TYPE:
                continue
            channel = message.get("channel")
            if channel is not None and channel not in self.subscriptions:
                continue  # a message in flight when the client unsubscribed
            self.messages_out += 1
            self.counted_out.inc()
            await self._reply({"type": "message", "channel": channel, "data": message.get("data")})

    async def _reply(self, body: dict[str, Any]) -> None:
        text = json.dumps(body, separators=(",", ":"))
        self.bytes_out += len(text.encode())
        await self.send({"type": "websocket.send", "text": text})
