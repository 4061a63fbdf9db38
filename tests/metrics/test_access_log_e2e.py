"""One JSON access line per request: route, status, durations, error reason, client; never the
query string, credentials or bodies."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.config import ConfigHelper
from tests.support.http import call, get
from tests.support.servers import BackendThread, GatewayProcess


@pytest.fixture
def json_gateway(transactional_db: None) -> Iterator[GatewayProcess]:
    process = GatewayProcess(env={"GATEWAY_LOG_FORMAT": "json"}).start()
    yield process
    process.stop()


def _access_line(gateway: GatewayProcess, request_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for line in gateway.log().splitlines():
            if request_id in line and line.startswith("{"):
                entry = json.loads(line)
                if entry.get("logger") == "gateway.access":
                    return dict(entry)
        time.sleep(0.05)
    raise AssertionError(f"no access line for {request_id}:\n{gateway.log()}")


def test_a_proxied_request_gets_one_access_line_without_query_or_credentials(
    json_gateway: GatewayProcess, backend: BackendThread
) -> None:
    config = ConfigHelper(gateways=[json_gateway])
    config.route(config.service("logs", targets=[backend]), "/logs", name="logs-route")
    config.sync()
    reply = call(
        json_gateway,
        "POST",
        "/logs/orders?api_key=query-secret",
        headers={"Authorization": "Bearer header-secret", "X-Request-ID": "access-line-1"},
        body=b'{"card": "body-secret"}',
    )
    assert reply.status == 200
    entry = _access_line(json_gateway, "access-line-1")
    assert entry["event"] == "access" and entry["level"] == "info"
    assert entry["request_id"] == "access-line-1"
    assert (entry["method"], entry["path"], entry["status"]) == ("POST", "/logs/orders", 200)
    assert (entry["service"], entry["route"]) == ("logs", "logs-route")
    assert entry["duration_ms"] >= entry["upstream_ms"] > 0 and entry["gateway_ms"] >= 0
    assert entry["bytes_in"] == len(b'{"card": "body-secret"}')
    assert entry["client"] == "127.0.0.1" and entry["error_reason"] is None
    log = json_gateway.log()
    for secret in ("query-secret", "header-secret", "body-secret"):
        assert secret not in log
    assert sum(1 for line in log.splitlines() if "access-line-1" in line) == 1


def test_a_refused_request_logs_its_error_reason(json_gateway: GatewayProcess) -> None:
    reply = get(json_gateway, "/nowhere-at-all", headers={"X-Request-ID": "access-line-2"})
    assert reply.status == 404
    entry = _access_line(json_gateway, "access-line-2")
    assert (entry["status"], entry["error_reason"], entry["route"]) == (404, "no_route", None)


def test_access_lines_can_be_turned_off(transactional_db: None) -> None:
    quiet = GatewayProcess(env={"GATEWAY_LOG_FORMAT": "json", "GATEWAY_ACCESS_LOG": "0"}).start()
    try:
        assert get(quiet, "/nowhere-at-all", headers={"X-Request-ID": "access-line-3"}).status == 404
        time.sleep(0.3)
        assert "access-line-3" not in quiet.log()
    finally:
        quiet.stop()
