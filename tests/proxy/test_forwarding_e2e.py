"""Requests through the real gateway process to a real backend."""

from __future__ import annotations

import json
import urllib.request

from tests.support.config import ConfigHelper
from tests.support.servers import BackendThread, GatewayProcess


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


def test_it_forwards_a_request_to_the_backend_with_the_prefix_stripped(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    service = config.service("orders", targets=[backend])
    config.route(service, "/orders")
    config.sync()

    status, headers, body = _get(f"{gateway.url}/orders/42?x=1")

    assert status == 200
    echoed = json.loads(body)
    assert echoed["path"] == "/42"
    assert echoed["query"] == "x=1"
    assert headers["via"] == "1.1 gateway"
    assert "x-gateway-error" not in headers
