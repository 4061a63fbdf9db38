"""The route's policies (GATEWAY_POLICIES: auth, rate limits, ...) run on a WebSocket upgrade, before
the backend is contacted, and their refusals reach the client as HTTP answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from websockets.exceptions import InvalidStatus

from tests.realtime.conftest import open_ws, ws_route
from tests.support.config import ConfigHelper
from tests.support.servers import GatewayProcess
from tests.support.ws_backend import WebSocketBackend

POLICIES = "proxy.policies.BodyLimitPolicy,proxy.auth.policy.AuthPolicy,tests.support.refusing_policy.RefuseOnHeader"


@pytest.fixture
def policed_gateway(transactional_db: None, gateway: GatewayProcess) -> Iterator[GatewayProcess]:
    process = GatewayProcess(env={"GATEWAY_POLICIES": POLICIES}).start()
    yield process
    process.stop()


def test_a_policy_refusal_on_connect_is_an_http_answer_and_the_backend_is_not_contacted(
    policed_gateway: GatewayProcess, ws_backend: WebSocketBackend
) -> None:
    config = ConfigHelper(gateways=[policed_gateway])
    ws_route(config, ws_backend)

    with pytest.raises(InvalidStatus) as caught:
        open_ws(policed_gateway, "/live/x", additional_headers={"X-Test-Refuse": "1"})
    response = caught.value.response
    assert response.status_code == 429
    assert response.headers["X-Gateway-Error"] == "test_refusal"
    assert response.headers["Retry-After"] == "1"
    assert b"upgrade" in response.body
    assert ws_backend.connections == 0

    with open_ws(policed_gateway, "/live/x") as ws:
        ws.send("fine")
        assert ws.recv(timeout=5) == "fine"
