"""A configuration database that stops answering (packets dropped, no reset, through a TCP proxy of
the test's own; the shared Postgres is never touched): health, admin and admin API answer within
bounds, with 503, and proxied traffic keeps flowing from the table in memory."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.contrib.auth.models import User

from tests.support.config import ConfigHelper
from tests.support.fault_proxy import FaultProxy
from tests.support.servers import BackendThread, GatewayProcess, database_url_for_gateways

pytestmark = [pytest.mark.needs_postgres, pytest.mark.slow]


def through(proxy: FaultProxy) -> str:
    parts = urlsplit(database_url_for_gateways())
    credentials, _, _ = parts.netloc.rpartition("@")
    host = f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=f"{credentials}@{host}" if credentials else host))


@pytest.fixture
def pg_proxy() -> Iterator[FaultProxy]:
    proxy = FaultProxy(int(urlsplit(database_url_for_gateways()).port or 5432)).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def outage_gateway(transactional_db: None, pg_proxy: FaultProxy) -> Iterator[GatewayProcess]:
    gateway = GatewayProcess({"DATABASE_URL": through(pg_proxy)}).start()
    yield gateway
    pg_proxy.resume()
    gateway.stop()


def call(url: str, data: bytes | None = None, **headers: str) -> tuple[int, dict[str, str], bytes, float]:
    started = time.monotonic()
    request = urllib.request.Request(url, data=data, headers={"Host": "localhost", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, found, body = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, found, body = error.code, dict(error.headers), error.read()
    return status, {k.lower(): v for k, v in found.items()}, body, time.monotonic() - started


def token(gateway: GatewayProcess) -> str:
    body = json.dumps({"username": "ops", "password": "s3cret-pass-123"}).encode()
    status, _, answer, _ = call(gateway.url + "/admin/api/token/", body, **{"Content-Type": "application/json"})
    assert status == 200, answer
    return str(json.loads(answer)["access"])


def test_a_silent_database_gives_503_within_bounds_while_proxied_traffic_flows(
    outage_gateway: GatewayProcess, pg_proxy: FaultProxy, backend: BackendThread
) -> None:
    User.objects.create_superuser("ops", "ops@example.com", "s3cret-pass-123")
    config = ConfigHelper(gateways=[outage_gateway])
    config.route(config.service("shop", targets=[backend]), "/shop")
    config.sync()
    access = token(outage_gateway)
    assert call(outage_gateway.url + "/ready")[0] == 200

    pg_proxy.blackhole()

    status, _, body, took = call(outage_gateway.url + "/ready")
    assert status == 503 and took < 2.5, (status, took)
    assert json.loads(body)["checks"]["database"]["status"] == "fail"
    status, headers, body, took = call(outage_gateway.url + "/admin/api/services/", Authorization=f"Bearer {access}")
    assert status == 503 and took < 10, (status, took, body[:300])
    assert headers["content-type"] == "application/problem+json"
    assert headers["x-gateway-error"] == "database_unavailable" and headers["retry-after"] == "5"
    status, _, _, took = call(outage_gateway.url + "/shop/orders")
    assert status == 200 and took < 1, took  # the data plane never waits on the database

    pg_proxy.resume()
    deadline = time.monotonic() + 15
    while call(outage_gateway.url + "/ready")[0] != 200:
        assert time.monotonic() < deadline, "never ready again"
        time.sleep(0.5)
    assert token(outage_gateway)  # correct credentials work right after recovery
