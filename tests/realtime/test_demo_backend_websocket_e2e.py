"""The tour's WebSocket step: the demo backend's /websocket echo, through the gateway."""

from __future__ import annotations

from tests.realtime.conftest import open_ws
from tests.support.config import ConfigHelper
from tests.support.servers import BackendThread, GatewayProcess


def test_the_demo_backend_echoes_websocket_messages_through_the_gateway(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    service = config.service("demo-ws", targets=[backend])
    config.route(service, "/demo-ws", websocket=True)
    config.sync()
    with open_ws(gateway, "/demo-ws/websocket") as socket:
        socket.send("hello")
        assert socket.recv(timeout=5) == "hello"
        socket.send(b"\x00\x01")
        assert socket.recv(timeout=5) == b"\x00\x01"
