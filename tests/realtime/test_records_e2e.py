"""Every connection, refused or closed, reaches the observers as one Finished record of kind "websocket".

The gateway runs in this test's process (uvicorn in a thread, the real ASGI application and protocol
classes) so the test can subscribe an observer of its own.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import uvicorn
from django.db import connections
from websockets.exceptions import InvalidStatus

from gateway_project.serve import UVICORN_OPTIONS
from proxy import observe
from tests.realtime.conftest import open_ws
from tests.support.config import ConfigHelper
from tests.support.http import raw
from tests.support.servers import free_port
from tests.support.ws_backend import WebSocketBackend


class InProcessGateway:
    def __init__(self) -> None:
        from gateway_project.asgi import application

        self.port = free_port()
        options = {k: v for k, v in UVICORN_OPTIONS.items() if k != "loop"}
        config = uvicorn.Config(application, host="127.0.0.1", port=self.port, log_level="warning", **options)  # type: ignore[arg-type]
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, daemon=True)
        # One thread for the loop's blocking work, so its database connection can be closed at the end
        # (pytest-django cannot drop a test database that still has sessions).
        self.executor = ThreadPoolExecutor(max_workers=1)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        loop.set_default_executor(self.executor)
        try:
            loop.run_until_complete(self.server.serve())
        finally:
            from breaker.board import board
            from registry.watch import watcher

            for executor in (self.executor, watcher._executor, board._executor):
                executor.submit(connections.close_all).result()
            loop.close()

    def start(self) -> InProcessGateway:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the in-process gateway did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)

    def wait_for_version(self, version: int, timeout: float = 10) -> None:
        from registry.watch import watcher

        deadline = time.monotonic() + timeout
        while watcher.served_version != version:
            if time.monotonic() > deadline:
                raise AssertionError(f"still not serving {version}")
            time.sleep(0.05)


@pytest.fixture
def records(transactional_db: None) -> Iterator[tuple[InProcessGateway, list[observe.Finished]]]:
    seen: list[observe.Finished] = []
    observe.subscribe(seen.append)
    gateway = InProcessGateway().start()
    try:
        yield gateway, seen
    finally:
        gateway.stop()
        observe.unsubscribe(seen.append)


def wait_for(seen: list[observe.Finished], count: int) -> list[observe.Finished]:
    deadline = time.monotonic() + 5
    while len([r for r in seen if r.kind == "websocket"]) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return [r for r in seen if r.kind == "websocket"]


def test_a_closed_and_a_refused_connection_are_each_recorded_once(
    records: tuple[InProcessGateway, list[observe.Finished]], ws_backend: WebSocketBackend
) -> None:
    gateway, seen = records
    config = ConfigHelper(gateways=[gateway])  # type: ignore[list-item]
    service = config.service("rec", targets=[ws_backend])
    config.route(service, "/rec", websocket=True)
    config.route(service, "/locked", websocket=True, auth_mode="api_key")
    config.sync()

    with open_ws(gateway, "/rec/x") as ws:  # type: ignore[arg-type]
        ws.send("hello")
        assert ws.recv(timeout=5) == "hello"
        ws.send(b"12345")
        assert ws.recv(timeout=5) == b"12345"
        ws.close(4005, "done")
    with pytest.raises(InvalidStatus):
        open_ws(gateway, "/locked/x")  # type: ignore[arg-type]

    # The closed connection's record is made when its closing handshake ends, which can come after
    # the refusal's on a loaded machine: pick them by status, not by order.
    found = wait_for(seen, 2)
    assert len(found) == 2, found
    [closed] = [r for r in found if r.status == 101]
    [refused] = [r for r in found if r.status != 101]
    assert closed.status == 101 and closed.route is not None and closed.route.name == "rec-rec"
    assert closed.target is not None and closed.target.port == ws_backend.port
    assert closed.details == {
        "close_code": 4005,
        "close_by": "client",
        "messages_in": 2,
        "messages_out": 2,
        "bytes_in": 10,
        "bytes_out": 10,
    }
    assert refused.status == 401 and refused.error_reason == "missing_credentials"
    assert refused.details is not None and refused.details["close_code"] is None
    assert len(wait_for(seen, 3)) == 2  # nothing recorded twice


def test_a_handshake_the_server_refuses_is_recorded_too(
    records: tuple[InProcessGateway, list[observe.Finished]], ws_backend: WebSocketBackend
) -> None:
    gateway, seen = records
    config = ConfigHelper(gateways=[gateway])  # type: ignore[list-item]
    config.route(config.service("old", targets=[ws_backend]), "/old", websocket=True)
    config.sync()
    handshake = (
        "GET /old/x?page=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Request-ID: old-client\r\n\r\n"
    )

    assert raw(gateway.port, handshake.encode()).status == 426

    [record] = wait_for(seen, 1)
    assert (record.status, record.error_reason) == (426, "unsupported_websocket_version")
    assert (record.request_id, record.path, record.query) == ("old-client", "/old/x", b"page=1")
    assert record.client_address == "127.0.0.1"
    assert len(wait_for(seen, 2)) == 1
