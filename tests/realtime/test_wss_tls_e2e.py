"""The WebSocket leg to an https service (wss) uses the service's TLS settings, as HTTP requests do:
its CA bundle and server name; a backend it cannot verify is a 502 ``upstream_tls``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus

from tests.proxy.raw_backend import CertificateAuthority
from tests.realtime.conftest import open_ws
from tests.support.config import ConfigHelper
from tests.support.servers import GatewayProcess
from tests.support.tls_backend import server_context
from tests.support.ws_backend import WebSocketBackend


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority(tmp_path, "WebSocket CA")


@pytest.fixture
def wss_backend(ca: CertificateAuthority) -> Iterator[WebSocketBackend]:
    server = WebSocketBackend(tls=server_context(*ca.issue("live.internal", server=True))).start()
    yield server
    server.stop()


def wss_route(config: ConfigHelper, backend: WebSocketBackend, slug: str, **tls: str) -> None:
    service = config.service(slug, targets=[backend], protocol="https", retries=0, **tls)
    config.route(service, f"/{slug}", websocket=True)
    config.sync()


def test_it_relays_to_a_wss_backend_verified_with_the_services_ca_and_server_name(
    config: ConfigHelper, gateway: GatewayProcess, ca: CertificateAuthority, wss_backend: WebSocketBackend
) -> None:
    wss_route(config, wss_backend, "secure", tls_ca_bundle=ca.pem, tls_server_name="live.internal")

    with open_ws(gateway, "/secure/echo") as ws:
        ws.send("over tls")
        assert ws.recv(timeout=5) == "over tls"


def test_a_wss_backend_another_ca_signed_is_refused_with_502_upstream_tls(
    config: ConfigHelper, gateway: GatewayProcess, tmp_path: Path, wss_backend: WebSocketBackend
) -> None:
    other = CertificateAuthority(tmp_path, "Other CA")
    wss_route(config, wss_backend, "untrusted", tls_ca_bundle=other.pem, tls_server_name="live.internal")

    with pytest.raises(InvalidStatus) as refused:
        open_ws(gateway, "/untrusted/echo")

    assert refused.value.response.status_code == 502
    assert refused.value.response.headers["X-Gateway-Error"] == "upstream_tls"
    assert wss_backend.connections == 0
