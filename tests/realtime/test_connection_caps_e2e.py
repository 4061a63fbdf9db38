"""Per-consumer and per-route connection caps (per gateway process): the next upgrade is 429."""

from __future__ import annotations

from tests.realtime.conftest import open_ws, ws_route
from tests.realtime.test_handshake_refusals_e2e import refused
from tests.support.config import ConfigHelper
from tests.support.servers import GatewayProcess
from tests.support.ws_backend import WebSocketBackend


def test_a_consumer_over_its_cap_gets_429_and_a_slot_frees_on_close(
    config: ConfigHelper, gateway: GatewayProcess, ws_backend: WebSocketBackend
) -> None:
    ws_route(config, ws_backend, auth_mode="api_key", websocket_max_connections_per_consumer=1)
    _, first = config.api_key(config.consumer("frank"))
    _, other = config.api_key(config.consumer("gina"))
    config.sync()

    with open_ws(gateway, "/live/x", additional_headers={"Authorization": f"Bearer {first}"}) as ws:
        ws.send("a")
        assert ws.recv(timeout=5) == "a"
        refused(
            gateway, "/live/x", "too_many_connections", 429, additional_headers={"Authorization": f"Bearer {first}"}
        )
        with open_ws(gateway, "/live/x", additional_headers={"Authorization": f"Bearer {other}"}) as ws2:
            ws2.send("b")
            assert ws2.recv(timeout=5) == "b"
    ws_backend.wait_for_closes(2)

    with open_ws(gateway, "/live/x", additional_headers={"Authorization": f"Bearer {first}"}) as ws:
        ws.send("c")
        assert ws.recv(timeout=5) == "c"


def test_a_route_over_its_cap_gets_429(
    config: ConfigHelper, gateway: GatewayProcess, ws_backend: WebSocketBackend
) -> None:
    ws_route(config, ws_backend, websocket_max_connections=2)

    with open_ws(gateway, "/live/x"), open_ws(gateway, "/live/y"):
        refused(gateway, "/live/z", "too_many_connections", 429)
    assert ws_backend.connections == 2
