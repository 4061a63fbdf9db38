"""``manage.py runserver`` serves the whole gateway through daphne: proxied routes and WebSockets."""

from __future__ import annotations

import sys
import urllib.request
from collections.abc import Iterator

import pytest

from tests.realtime.conftest import open_ws
from tests.support.config import ConfigHelper
from tests.support.servers import BackendThread, GatewayProcess
from tests.support.ws_backend import WebSocketBackend

pytestmark = pytest.mark.django_db(transaction=True)


class DevelopmentServer(GatewayProcess):
    def argv(self) -> list[str]:
        return [sys.executable, "manage.py", "runserver", f"127.0.0.1:{self.port}", "--noreload"]


@pytest.fixture
def runserver() -> Iterator[GatewayProcess]:
    server = DevelopmentServer().start()
    yield server
    server.stop()


@pytest.fixture
def ws_backend() -> Iterator[WebSocketBackend]:
    server = WebSocketBackend().start()
    yield server
    server.stop()


def test_runserver_proxies_http_and_websockets_with_the_gateways_start_hooks(
    runserver: GatewayProcess, backend: BackendThread, ws_backend: WebSocketBackend
) -> None:
    config = ConfigHelper(gateways=[runserver])
    config.route(config.service("plain", targets=[backend]), "/plain")
    config.route(config.service("live", targets=[ws_backend]), "/live", websocket=True)
    config.sync()  # the config watcher runs: the start hooks ran although daphne sends no lifespan

    with urllib.request.urlopen(runserver.url + "/plain/hello", timeout=10) as response:
        assert response.status == 200 and response.headers["X-Request-ID"]
    with open_ws(runserver, "/live/echo") as ws:
        ws.send("hello")
        assert ws.recv(timeout=5) == "hello"
