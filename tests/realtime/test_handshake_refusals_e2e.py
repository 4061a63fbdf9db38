"""Refusals before the handshake: problem+json HTTP answers instead of a 101, nothing reaches the backend."""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from tests.realtime.conftest import open_ws, ws_route
from tests.support.config import ConfigHelper
from tests.support.http import raw
from tests.support.servers import GatewayProcess
from tests.support.ws_backend import WebSocketBackend


def refused(gateway: GatewayProcess, path: str, reason: str, status: int, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(InvalidStatus) as caught:
        open_ws(gateway, path, **kwargs)
    response = caught.value.response
    assert response.status_code == status, response.body
    assert response.headers["X-Gateway-Error"] == reason
    assert response.headers["Content-Type"] == "application/problem+json"
    problem: dict[str, Any] = json.loads(response.body)
    assert problem["status"] == status
    assert problem["request_id"] == response.headers["X-Request-ID"]
    return problem


def test_an_unknown_path_is_404(config: ConfigHelper, gateway: GatewayProcess, ws_backend: WebSocketBackend) -> None:
    ws_route(config, ws_backend)

    refused(gateway, "/nowhere", "no_route", 404)


def test_a_route_without_websocket_refuses_the_upgrade(
    config: ConfigHelper, gateway: GatewayProcess, ws_backend: WebSocketBackend
) -> None:
    ws_route(config, ws_backend, websocket=False)

    refused(gateway, "/live/x", "websocket_not_allowed", 404)
    assert ws_backend.connections == 0


def test_missing_and_bad_credentials_are_401_before_the_handshake(
    config: ConfigHelper, gateway: GatewayProcess, ws_backend: WebSocketBackend
) -> None:
    ws_route(config, ws_backend, auth_mode="api_key")

    refused(gateway, "/live/x", "missing_credentials", 401)
    bad = {"Authorization": "Bearer gw_00000000_" + "A" * 32}
    refused(gateway, "/live/x", "invalid_credentials", 401, additional_headers=bad)
    assert ws_backend.connections == 0


def test_a_caller_without_the_required_role_is_403(
    config: ConfigHelper, gateway: GatewayProcess, ws_backend: WebSocketBackend
) -> None:
    ws_route(config, ws_backend, auth_mode="api_key", required_roles="live:read")
    _, key = config.api_key(config.consumer("bob", roles="other"))
    config.sync()

    refused(gateway, "/live/x", "insufficient_role", 403, additional_headers={"Authorization": f"Bearer {key}"})


def test_a_valid_key_in_the_header_opens_the_socket_and_identity_reaches_the_backend(
    config: ConfigHelper, gateway: GatewayProcess, ws_backend: WebSocketBackend
) -> None:
    ws_route(config, ws_backend, auth_mode="api_key")
    consumer = config.consumer("carol", roles="live:read")
    _, key = config.api_key(consumer)
    config.sync()

    with open_ws(gateway, "/live/x", additional_headers={"Authorization": f"Bearer {key}"}) as ws:
        ws.send("request")
        headers = {n.lower(): v for n, v in json.loads(ws.recv(timeout=5))["headers"]}
    assert headers["x-consumer-id"] == str(consumer.pk)
    assert headers["x-consumer-name"] == "carol"
    assert "authorization" not in headers  # API keys never reach the backend


def test_a_key_in_the_subprotocol_is_accepted_only_where_the_route_allows_it(
    config: ConfigHelper, gateway: GatewayProcess, ws_backend: WebSocketBackend
) -> None:
    ws_route(config, ws_backend, "/open", auth_mode="api_key", websocket_token_in="protocol")
    ws_route(config, ws_backend, "/strict", auth_mode="api_key")
    _, key = config.api_key(config.consumer("dave"))
    config.sync()
    protocols: Any = ["chat.v1", f"bearer.{key}"]

    refused(gateway, "/strict/x", "missing_credentials", 401, subprotocols=protocols)
    with open_ws(gateway, "/open/x", subprotocols=protocols) as ws:
        assert ws.subprotocol == "chat.v1"
        ws.send("request")
        seen = json.loads(ws.recv(timeout=5))
    offered = {n.lower(): v for n, v in seen["headers"]}["sec-websocket-protocol"]
    assert offered == "chat.v1"  # the credential never reaches the backend


def test_a_key_in_the_access_token_query_parameter_is_accepted_where_allowed(
    config: ConfigHelper, gateway: GatewayProcess, ws_backend: WebSocketBackend
) -> None:
    ws_route(config, ws_backend, auth_mode="api_key", websocket_token_in="query")
    _, key = config.api_key(config.consumer("erin"))
    config.sync()

    with open_ws(gateway, f"/live/x?room=1&access_token={key}") as ws:
        ws.send("request")
        assert json.loads(ws.recv(timeout=5))["path"] == "/x?room=1"


def test_a_foreign_origin_is_403_and_the_own_or_listed_origins_pass(
    config: ConfigHelper, gateway: GatewayProcess, ws_backend: WebSocketBackend
) -> None:
    ws_route(config, ws_backend, "/own")
    ws_route(config, ws_backend, "/listed", websocket_origins="https://app.example.com")

    refused(gateway, "/own/x", "origin_not_allowed", 403, origin="https://evil.example")
    refused(gateway, "/listed/x", "origin_not_allowed", 403, origin="https://evil.example")
    with open_ws(gateway, "/own/x", origin=f"http://127.0.0.1:{gateway.port}") as ws:
        ws.send("a")
        assert ws.recv(timeout=5) == "a"
    with open_ws(gateway, "/listed/x", origin="https://app.example.com") as ws:
        ws.send("b")
        assert ws.recv(timeout=5) == "b"
    assert ws_backend.connections == 2


def test_a_backend_that_refuses_the_upgrade_has_its_answer_passed_on(
    config: ConfigHelper, gateway: GatewayProcess, ws_backend: WebSocketBackend
) -> None:
    ws_route(config, ws_backend, strip_prefix=False, prefix="/refuse")

    with pytest.raises(InvalidStatus) as caught:
        open_ws(gateway, "/refuse/x")
    response = caught.value.response
    assert response.status_code == 403
    assert json.loads(response.body) == {"error": "backend says no"}
    assert "X-Gateway-Error" not in response.headers


def test_an_unreachable_backend_is_502(config: ConfigHelper, gateway: GatewayProcess) -> None:
    from tests.support.servers import free_port

    class Nowhere:
        port = free_port()

    ws_route(config, Nowhere(), "/gone")  # type: ignore[arg-type]

    refused(gateway, "/gone/x", "upstream_unreachable", 502)


def handshake(
    version: str | None = "13", key: str | None = "dGhlIHNhbXBsZSBub25jZQ==", upgrade: str = "websocket"
) -> bytes:
    lines = [
        "GET /live/x HTTP/1.1",
        "Host: 127.0.0.1",
        f"Upgrade: {upgrade}",
        "Connection: Upgrade",
        "X-Request-ID: hs-1",
    ]
    if version is not None:
        lines.append(f"Sec-WebSocket-Version: {version}")
    if key is not None:
        lines.append(f"Sec-WebSocket-Key: {key}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.mark.parametrize("version", ["8", "12", None], ids=["v8", "v12", "missing"])
def test_a_websocket_version_other_than_13_is_426_with_the_supported_version(
    config: ConfigHelper, gateway: GatewayProcess, ws_backend: WebSocketBackend, version: str | None
) -> None:
    ws_route(config, ws_backend)

    reply = raw(gateway, handshake(version=version))

    assert reply.status == 426
    assert reply.header("sec-websocket-version") == "13"
    assert reply.header("connection") == "close"
    problem = reply.problem("unsupported_websocket_version")
    assert problem["request_id"] == "hs-1"
    assert ws_backend.connections == 0


def test_a_handshake_without_a_valid_key_is_a_problem_json_400(
    config: ConfigHelper, gateway: GatewayProcess, ws_backend: WebSocketBackend
) -> None:
    ws_route(config, ws_backend)

    for key in (None, "not-a-key"):
        reply = raw(gateway, handshake(key=key))

        assert reply.status == 400
        reply.problem("invalid_websocket_handshake")
    assert ws_backend.connections == 0
