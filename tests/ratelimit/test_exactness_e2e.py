"""Exact across processes: two gateway processes, 1,000 concurrent requests, a limit of 100, exactly 100
reach the backend (its own count), with Redis on loopback and with artificial latency in front of it,
and with the production defaults (the Redis timeout, the failure mode), which once over-admitted."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from ratelimit.models import RatePolicy
from tests.ratelimit.conftest import make_policy
from tests.support.config import ConfigHelper
from tests.support.fault_proxy import FaultProxy
from tests.support.servers import BackendThread, GatewayProcess

pytestmark = [pytest.mark.needs_redis, pytest.mark.slow]

REQUESTS, LIMIT = 1000, 100


def redis_port_and_db() -> tuple[int, str]:
    url = os.environ["REDIS_URL"]
    rest = url.split("//", 1)[1].split("@")[-1]
    hostport, _, db = rest.partition("/")
    return int(hostport.rsplit(":", 1)[1]) if ":" in hostport else 6379, db or "0"


def pair(redis_url: str) -> tuple[GatewayProcess, GatewayProcess]:
    # Exactness, not latency, is under test here: a generous timeout, and "closed" so that any
    # decision taken without Redis shows up as a 503 instead of an admission.
    env = {"GATEWAY_RATELIMIT_REDIS_URL": redis_url, "GATEWAY_RATELIMIT_REDIS_TIMEOUT": "5"}
    return GatewayProcess(env=env).start(), GatewayProcess(env=env).start()


@pytest.fixture
def direct(transactional_db: None, gateway: GatewayProcess) -> Iterator[tuple[GatewayProcess, GatewayProcess]]:
    one, two = pair(os.environ["REDIS_URL"])
    yield one, two
    one.stop()
    two.stop()


@pytest.fixture
def delayed(transactional_db: None, gateway: GatewayProcess) -> Iterator[tuple[GatewayProcess, GatewayProcess]]:
    port, db = redis_port_and_db()
    proxy = FaultProxy(port, delay=0.005).start()  # +10 ms per round trip
    one, two = pair(f"redis://127.0.0.1:{proxy.port}/{db}")
    yield one, two
    one.stop()
    two.stop()
    proxy.stop()


async def fire(gateways: tuple[GatewayProcess, GatewayProcess], path: str) -> Counter[int]:
    connector = aiohttp.TCPConnector(limit=REQUESTS, force_close=True)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = asyncio.Event()

        async def one(i: int) -> int:
            await start.wait()
            async with session.get(gateways[i % 2].url + path) as resp:
                await resp.read()
                return resp.status

        tasks = [asyncio.create_task(one(i)) for i in range(REQUESTS)]
        await asyncio.sleep(0.05)
        start.set()
        return Counter(await asyncio.gather(*tasks))


@pytest.fixture
def defaults(transactional_db: None, gateway: GatewayProcess) -> Iterator[tuple[GatewayProcess, GatewayProcess]]:
    env = {"GATEWAY_RATELIMIT_REDIS_URL": os.environ["REDIS_URL"], "GATEWAY_RATELIMIT_REDIS_TIMEOUT": ""}  # 50 ms
    one, two = GatewayProcess(env=env).start(), GatewayProcess(env=env).start()
    yield one, two
    one.stop()
    two.stop()


def configure(
    gateways: tuple[GatewayProcess, GatewayProcess],
    backend: BackendThread,
    algorithm: str,
    failure_mode: str | None = RatePolicy.FailureMode.CLOSED,
) -> None:
    config = ConfigHelper(gateways=list(gateways))
    service = config.service("exact", targets=[backend])
    route = config.route(service, "/exact")
    fields: dict[str, Any] = {"failure_mode": failure_mode} if failure_mode else {}  # none: the model's default
    make_policy(
        f"exact-{algorithm.replace('_', '-')}",
        LIMIT,
        period=3600,
        algorithm=algorithm,
        scope=RatePolicy.Scope.ROUTE,
        routes=[route],
        **fields,
    )
    config.sync()


@pytest.mark.parametrize("algorithm", ["sliding_window", "gcra"])
def test_two_processes_admit_exactly_the_limit_of_1000_concurrent_requests(
    direct: tuple[GatewayProcess, GatewayProcess], backend: BackendThread, algorithm: str
) -> None:
    configure(direct, backend, algorithm)
    statuses = asyncio.run(fire(direct, "/exact/x"))
    assert statuses == Counter({200: LIMIT, 429: REQUESTS - LIMIT}), statuses
    assert backend.count() == LIMIT


def test_they_stay_exact_with_10_ms_of_latency_between_the_gateways_and_redis(
    delayed: tuple[GatewayProcess, GatewayProcess], backend: BackendThread
) -> None:
    configure(delayed, backend, "sliding_window")
    statuses = asyncio.run(fire(delayed, "/exact/x"))
    assert statuses == Counter({200: LIMIT, 429: REQUESTS - LIMIT}), statuses
    assert backend.count() == LIMIT


def test_with_the_production_defaults_a_burst_never_over_admits(
    defaults: tuple[GatewayProcess, GatewayProcess], backend: BackendThread
) -> None:
    # The policy takes the model's default failure mode (closed), the gateways the default Redis
    # timeout: a burst on two busy processes once timed out there and "local" admitted on top.
    configure(defaults, backend, "sliding_window", failure_mode=None)
    assert RatePolicy.objects.get().failure_mode == RatePolicy.FailureMode.CLOSED

    statuses = asyncio.run(fire(defaults, "/exact/x"))

    assert statuses == Counter({200: LIMIT, 429: REQUESTS - LIMIT}), statuses
    assert backend.count() == LIMIT
