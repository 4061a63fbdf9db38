"""The admin listener (``serve --admin-port``): the public port serves proxied routes, health and the
catalogue only; the admin port serves the admin, its API and metrics, and no proxied route. Started
as production starts it (``python -m gateway_project.serve``), with one worker and with two."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator

import pytest

from tests.support.config import ConfigHelper
from tests.support.http import get, raw
from tests.support.servers import BackendThread, GatewayProcess, free_port

PUBLIC_ONLY_DJANGO = [
    "/admin/",
    "/admin/login/",
    "/admin/api/",
    "/metrics",
    "/api/v1/docs",
    "/static/admin/css/base.css",
]


@pytest.fixture(scope="module", params=[1, 2], ids=["one-worker", "two-workers"])
def split(request: pytest.FixtureRequest, django_db_setup: None, django_db_blocker: object) -> Iterator[GatewayProcess]:
    process = GatewayProcess(workers=request.param, admin_port=free_port()).start()
    yield process
    process.stop()


@pytest.fixture
def routed(config: ConfigHelper, split: GatewayProcess, backend: BackendThread) -> GatewayProcess:
    config.gateways.append(split)
    config.route(config.service("pub", targets=[backend]), "/pub")
    config.sync()
    return split


def test_the_public_port_serves_proxied_routes_health_and_the_catalogue(routed: GatewayProcess) -> None:
    assert get(routed, "/pub/hello").json()["path"] == "/hello"
    for path in ["/health", "/health/detailed", "/ready", "/api/v1/services"]:
        assert get(routed, path).status == 200, path


@pytest.mark.parametrize("path", PUBLIC_ONLY_DJANGO)
def test_the_public_port_does_not_serve_the_admin_its_api_or_metrics(routed: GatewayProcess, path: str) -> None:
    reply = get(routed, path)

    assert reply.status == 404
    reply.problem("no_route")


def test_the_admin_port_serves_the_admin_its_api_and_metrics(routed: GatewayProcess) -> None:
    admin = routed.admin_port
    assert get(admin, "/admin/login/").status == 200
    assert get(admin, "/admin/").status == 302  # to the sign-in page
    assert get(admin, "/admin/api/services/").status in (401, 403)  # there, and asking for credentials
    assert get(admin, "/metrics").status == 200  # loopback peer
    assert get(admin, "/health").status == 200


def test_the_admin_port_serves_no_proxied_route(routed: GatewayProcess) -> None:
    reply = get(routed.admin_port, "/pub/hello")

    assert reply.status == 404
    reply.problem("no_route")


def test_the_admin_port_accepts_no_websocket(routed: GatewayProcess) -> None:
    key = base64.b64encode(os.urandom(16)).decode()
    handshake = (
        "GET /ws/browser-1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n"
    )

    reply = raw(routed.admin_port, handshake.encode())

    assert reply.status == 404
    reply.problem("no_route")
