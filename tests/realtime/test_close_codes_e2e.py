"""Close codes cross the gateway both ways; a vanished backend gives 1011; never a drop without a Close."""

from __future__ import annotations

import pytest
from websockets.exceptions import ConnectionClosed

from tests.realtime.conftest import open_ws, ws_route
from tests.support.config import ConfigHelper
from tests.support.servers import GatewayProcess
from tests.support.ws_backend import WebSocketBackend


def closed_with(ws: object) -> tuple[int | None, str]:
    rcvd = ws.protocol.close_rcvd  # type: ignore[attr-defined]
    assert rcvd is not None, "the gateway dropped the connection without a Close frame"
    return rcvd.code, rcvd.reason


def test_a_backend_close_code_reaches_the_client(
    config: ConfigHelper, gateway: GatewayProcess, ws_backend: WebSocketBackend
) -> None:
    ws_route(config, ws_backend)

    with open_ws(gateway, "/live/x") as ws:
        ws.send("close:4001")
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert closed_with(ws) == (4001, "backend closes")


def test_a_client_close_code_reaches_the_backend(
    config: ConfigHelper, gateway: GatewayProcess, ws_backend: WebSocketBackend
) -> None:
    ws_route(config, ws_backend)

    with open_ws(gateway, "/live/x") as ws:
        ws.send("ping")
        assert ws.recv(timeout=5) == "ping"
        ws.close(4002, "client leaves")

    assert ws_backend.wait_for_closes(1) == [(4002, "client leaves")]


def test_a_backend_that_crashes_gives_the_client_1011(
    config: ConfigHelper, gateway: GatewayProcess, ws_backend: WebSocketBackend
) -> None:
    ws_route(config, ws_backend)

    with open_ws(gateway, "/live/x") as ws:
        ws.send("crash")
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert closed_with(ws)[0] == 1011


def test_a_backend_that_stops_gives_open_clients_1011(
    config: ConfigHelper, gateway: GatewayProcess, ws_backend: WebSocketBackend
) -> None:
    ws_route(config, ws_backend)

    with open_ws(gateway, "/live/x") as ws:
        ws.send("hello")
        assert ws.recv(timeout=5) == "hello"
        ws_backend.loop.call_soon_threadsafe(_abort_all, ws_backend)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert closed_with(ws)[0] == 1011


def _abort_all(backend: WebSocketBackend) -> None:
    assert backend._server is not None
    for connection in backend._server.connections:
        assert connection.transport is not None
        connection.transport.abort()


def test_a_message_over_the_routes_limit_closes_with_1009(
    config: ConfigHelper, gateway: GatewayProcess, ws_backend: WebSocketBackend
) -> None:
    ws_route(config, ws_backend, websocket_max_message_bytes=1000)

    with open_ws(gateway, "/live/x") as ws:
        ws.send("x" * 1000)
        assert ws.recv(timeout=5) == "x" * 1000
        ws.send("x" * 1001)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert closed_with(ws)[0] == 1009
    assert ws_backend.wait_for_closes(1)[0][0] == 1001


def test_a_backend_message_over_the_limit_closes_the_client_with_1009(
    config: ConfigHelper, gateway: GatewayProcess, ws_backend: WebSocketBackend
) -> None:
    ws_route(config, ws_backend, websocket_max_message_bytes=1000)

    with open_ws(gateway, "/live/x") as ws:
        ws.send("big:5000")
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert closed_with(ws)[0] == 1009


def test_an_idle_connection_is_closed_with_1001_on_both_legs(
    config: ConfigHelper, gateway: GatewayProcess, ws_backend: WebSocketBackend
) -> None:
    ws_route(config, ws_backend, websocket_idle_timeout=0.5)

    with open_ws(gateway, "/live/x") as ws:
        ws.send("a")
        assert ws.recv(timeout=5) == "a"
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert closed_with(ws) == (1001, "idle timeout")
    assert ws_backend.wait_for_closes(1) == [(1001, "idle timeout")]
