"""Helpers for the channel fan-out tests: subscribe, publish over HTTP, read the next message."""

from __future__ import annotations

import json
from typing import Any

from websockets.sync.client import ClientConnection

from realtime.models import Channel
from registry.models import Consumer
from tests.realtime.conftest import open_ws
from tests.support.config import ConfigHelper
from tests.support.http import Reply, call
from tests.support.servers import GatewayProcess


def channel(pattern: str, roles: str = "") -> Channel:
    rule = Channel(pattern=pattern, roles=roles)
    rule.full_clean()
    rule.save()
    return rule


def connect_client(gateway: GatewayProcess, client_id: str, key: str, **kwargs: Any) -> ClientConnection:
    return open_ws(gateway, f"/ws/{client_id}", additional_headers={"Authorization": f"Bearer {key}"}, **kwargs)


def command(ws: ClientConnection, action: str, name: str) -> dict[str, Any]:
    ws.send(json.dumps({"action": action, "channel": name}))
    reply: dict[str, Any] = json.loads(ws.recv(timeout=5))
    return reply


def publish(gateway: GatewayProcess, key: str, **body: Any) -> Reply:
    return call(
        gateway,
        "POST",
        "/realtime/publish",
        {"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        json.dumps(body).encode(),
    )


def publisher(config: ConfigHelper) -> str:
    _, key = config.api_key(config.consumer("orders-service", roles="realtime:publish"))
    return key


def subscriber(config: ConfigHelper, name: str = "alice", roles: str = "orders:read") -> tuple[Consumer, str]:
    consumer = config.consumer(name, roles=roles)
    _, key = config.api_key(consumer)
    return consumer, key


def next_message(ws: ClientConnection, timeout: float = 5) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.recv(timeout=timeout))
    return message
