"""Per-IP limits count the real client: a client's own X-Forwarded-For changes nothing, a trusted
proxy's entry is believed (the right-most untrusted one)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ratelimit.models import RatePolicy
from tests.ratelimit.conftest import make_policy
from tests.support.config import ConfigHelper
from tests.support.http import get
from tests.support.servers import BackendThread, GatewayProcess


@pytest.fixture
def behind_proxy(transactional_db: None, gateway: GatewayProcess) -> Iterator[GatewayProcess]:
    process = GatewayProcess(env={"GATEWAY_TRUSTED_PROXIES": "127.0.0.1/32"}).start()
    yield process
    process.stop()


def per_ip_route(gateways: list[GatewayProcess], backend: BackendThread, name: str) -> str:
    config = ConfigHelper(gateways=gateways)
    service = config.service(name, targets=[backend])
    route = config.route(service, f"/{name}")
    make_policy(name, 3, period=3600, scope=RatePolicy.Scope.CLIENT_IP, routes=[route])
    config.sync()
    return f"/{name}/x"


def test_rotating_a_spoofed_x_forwarded_for_does_not_evade_a_per_ip_limit(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    path = per_ip_route([gateway], backend, "spoofed")
    statuses = [get(gateway, path, headers={"X-Forwarded-For": f"198.51.100.{i}"}).status for i in range(10)]
    assert statuses == [200] * 3 + [429] * 7
    assert backend.count() == 3


def test_a_trusted_proxys_forwarded_address_is_the_client_that_is_counted(
    behind_proxy: GatewayProcess, backend: BackendThread
) -> None:
    path = per_ip_route([behind_proxy], backend, "proxied")

    def via_proxy(chain: str) -> int:
        return get(behind_proxy, path, headers={"X-Forwarded-For": chain}).status

    assert [via_proxy("203.0.113.5") for _ in range(4)] == [200, 200, 200, 429]
    assert [via_proxy("203.0.113.6") for _ in range(3)] == [200, 200, 200]  # another client, its own quota
    # Entries left of the right-most untrusted one were written by the client: rotating them evades nothing.
    assert [via_proxy(f"10.9.9.{i}, 203.0.113.6") for i in range(3)] == [429] * 3
    assert backend.count() == 6
