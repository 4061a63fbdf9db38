"""Frames both ways through the real gateway to a real WebSocket backend: text and binary, order,
subprotocols, the headers the backend sees."""

from __future__ import annotations

import json
import threading

from tests.realtime.conftest import open_ws, ws_route
from tests.support.config import ConfigHelper
from tests.support.servers import GatewayProcess
from tests.support.ws_backend import WebSocketBackend


def test_it_relays_text_and_binary_messages_both_ways(
    config: ConfigHelper, gateway: GatewayProcess, ws_backend: WebSocketBackend
) -> None:
    ws_route(config, ws_backend)

    with open_ws(gateway, "/live/echo") as ws:
        ws.send("hello")
        assert ws.recv(timeout=5) == "hello"
        ws.send(b"\x00\x01\xff")
        assert ws.recv(timeout=5) == b"\x00\x01\xff"
        ws.send("héllo ✓")
        assert ws.recv(timeout=5) == "héllo ✓"


def test_a_thousand_messages_each_way_arrive_complete_and_in_order(
    config: ConfigHelper, gateway: GatewayProcess, ws_backend: WebSocketBackend
) -> None:
    ws_route(config, ws_backend)
    received: list[str | bytes] = []

    with open_ws(gateway, "/live/echo") as ws:

        def read() -> None:
            for _ in range(2000):
                received.append(ws.recv(timeout=20))

        reader = threading.Thread(target=read)
        reader.start()
        for i in range(1000):
            ws.send(f"text-{i}")
            ws.send(i.to_bytes(4, "big") * 50)
        reader.join(30)

    expected: list[str | bytes] = []
    for i in range(1000):
        expected += [f"text-{i}", i.to_bytes(4, "big") * 50]
    assert received == expected


def test_the_backend_sees_the_path_forwarding_headers_and_request_id(
    config: ConfigHelper, gateway: GatewayProcess, ws_backend: WebSocketBackend
) -> None:
    ws_route(config, ws_backend)

    with open_ws(gateway, "/live/room/7?x=1", additional_headers={"X-Request-ID": "ws-req-1"}) as ws:
        ws.send("request")
        seen = json.loads(ws.recv(timeout=5))
        assert ws.response is not None and ws.response.headers["X-Request-ID"] == "ws-req-1"

    headers = {name.lower(): value for name, value in seen["headers"]}
    assert seen["path"] == "/room/7?x=1"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-request-id"] == "ws-req-1"
    assert "gateway" in headers["via"]


def test_the_backends_choice_of_subprotocol_reaches_the_client(
    config: ConfigHelper, gateway: GatewayProcess, ws_backend: WebSocketBackend
) -> None:
    ws_route(config, ws_backend)

    with open_ws(gateway, "/live/echo", subprotocols=["chat.v1", "other"]) as ws:
        assert ws.subprotocol == "chat.v1"
        ws.send("request")
        seen = json.loads(ws.recv(timeout=5))
    offered = {name.lower(): value for name, value in seen["headers"]}["sec-websocket-protocol"]
    assert [p.strip() for p in offered.split(",")] == ["chat.v1", "other"]

    with open_ws(gateway, "/live/echo") as ws:
        assert ws.subprotocol is None
