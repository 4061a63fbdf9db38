"""A gateway that shuts down closes every WebSocket with 1001, on both legs."""

from __future__ import annotations

import pytest
from websockets.exceptions import ConnectionClosed

from tests.realtime.conftest import open_ws, ws_route
from tests.support.config import ConfigHelper
from tests.support.servers import GatewayProcess
from tests.support.ws_backend import WebSocketBackend


@pytest.mark.slow
def test_a_gateway_shutdown_closes_clients_and_backends_with_1001(
    transactional_db: None, gateway: GatewayProcess, ws_backend: WebSocketBackend
) -> None:
    own = GatewayProcess().start()
    try:
        config = ConfigHelper(gateways=[own])
        ws_route(config, ws_backend)
        with open_ws(own, "/live/x") as ws:
            ws.send("a")
            assert ws.recv(timeout=5) == "a"

            own.stop()

            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=10)
            rcvd = ws.protocol.close_rcvd
            assert rcvd is not None and rcvd.code == 1001
        assert ws_backend.wait_for_closes(1)[0][0] == 1001
    finally:
        own.stop()
