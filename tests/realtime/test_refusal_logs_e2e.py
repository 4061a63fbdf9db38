"""Refusals log one line: a refused WebSocket handshake (401, 403 origin) is not an error of the
server, and a bad Host reaching Django is a warning without a traceback."""

from __future__ import annotations

import socket
import time

import pytest
from websockets.exceptions import InvalidStatus

from tests.realtime.conftest import open_ws
from tests.support.config import ConfigHelper
from tests.support.servers import BackendThread, GatewayProcess


def _raw(gateway: GatewayProcess, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as sock:
        sock.sendall(request)
        return sock.recv(200)


def _log_since(gateway: GatewayProcess, offset: int) -> str:
    with gateway.log_path.open("rb") as handle:  # gateway.log() is only the last 5,000 characters
        handle.seek(offset)
        return handle.read().decode(errors="replace")


def test_refused_handshakes_and_a_bad_host_log_one_line_each(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    service = config.service("quiet-ws", targets=[backend])
    config.route(service, "/quiet-ws", websocket=True, auth_mode="api_key")
    config.sync()
    start = gateway.log_path.stat().st_size

    with pytest.raises(InvalidStatus):
        open_ws(gateway, "/quiet-ws/websocket")
    with pytest.raises(InvalidStatus):
        open_ws(gateway, "/quiet-ws/websocket", origin="https://elsewhere.example")
    assert _raw(gateway, b"GET /admin/ HTTP/1.1\r\nHost: bad_host\r\n\r\n").startswith(b"HTTP/1.1 400")
    deadline = time.monotonic() + 5
    while "Invalid HTTP_HOST header" not in _log_since(gateway, start) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.3)

    log = _log_since(gateway, start)
    assert "without completing handshake" not in log
    assert "Traceback" not in log
    host_lines = [line for line in log.splitlines() if "Invalid HTTP_HOST header" in line]
    assert len(host_lines) == 1 and "warning" in host_lines[0].lower()
    assert log.count("missing_credentials") == 1 and log.count("origin_not_allowed") == 1  # the access lines
