from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from realtime.counts import KEY_PREFIX
from registry.models import Route
from tests.support.config import ConfigHelper
from tests.support.redis_server import forget_keys
from tests.support.servers import GatewayProcess
from tests.support.ws_backend import WebSocketBackend


@pytest.fixture
def ws_backend() -> Iterator[WebSocketBackend]:
    server = WebSocketBackend().start()
    yield server
    server.stop()


@pytest.fixture(scope="session", autouse=True)
def forget_live_counts_of_earlier_runs() -> None:
    forget_keys(KEY_PREFIX)


def ws_route(config: ConfigHelper, backend: WebSocketBackend, prefix: str = "/live", **fields: Any) -> Route:
    service = config.service(f"ws{abs(hash(prefix)) % 10_000}", targets=[backend])
    route = config.route(service, prefix, **{"websocket": True, **fields})
    config.sync()
    return route


def open_ws(gateway: GatewayProcess, path: str, **kwargs: Any) -> ClientConnection:
    kwargs.setdefault("open_timeout", 10)
    kwargs.setdefault("close_timeout", 5)
    kwargs.setdefault("max_size", 64 * 1024 * 1024)
    return connect(f"ws://127.0.0.1:{gateway.port}{path}", compression=None, **kwargs)
