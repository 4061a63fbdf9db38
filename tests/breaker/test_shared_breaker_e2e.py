"""Two gateway processes sharing breaker state through Redis."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.breaker.flaky import Flaky
from tests.support.config import ConfigHelper
from tests.support.http import Reply, get
from tests.support.servers import GatewayProcess

pytestmark = pytest.mark.needs_redis


@pytest.fixture
def pair(transactional_db: None, gateway: GatewayProcess) -> Iterator[tuple[GatewayProcess, GatewayProcess]]:
    env = {"REDIS_URL": os.environ.get("REDIS_URL", ""), "GATEWAY_BREAKER_REDIS_TIMEOUT": "0.5"}
    one = GatewayProcess(env=env).start()
    two = GatewayProcess(env=env).start()
    yield one, two
    one.stop()
    two.stop()


def breaker_state(gateway: GatewayProcess, slug: str) -> str:
    _, body = gateway.get_json("/health/services")
    (entry,) = [s for s in body["services"] if s["slug"] == slug]
    assert body["breaker_store"] == "redis" and not body["breaker_store_degraded"]
    return str(entry["targets"][0]["breaker"])


def test_both_processes_share_one_breaker_through_open_half_open_and_recovery(
    pair: tuple[GatewayProcess, GatewayProcess], flaky: Flaky
) -> None:
    one, two = pair
    config = ConfigHelper(gateways=[one, two])
    service = config.service(
        "shared",
        targets=[flaky],
        retries=0,
        read_timeout=1.0,
        breaker_enabled=True,
        breaker_failures=3,
        breaker_open_seconds=1.0,
        breaker_max_open_seconds=2.0,
        breaker_half_open_probes=2,
        breaker_half_open_successes=2,
    )
    config.route(service, "/shared")
    config.sync()

    # Opens after exactly three failures, whichever process saw them.
    flaky.mode = "fail"
    replies = [get(gw, "/shared/x") for gw in (one, two) * 4]
    assert flaky.requests == 3
    assert [r.header("x-gateway-error") for r in replies] == [None] * 3 + ["circuit_open"] * 5
    assert breaker_state(one, "shared") == breaker_state(two, "shared") == "open"

    # Half-open: exactly two probes across both processes; they hang, time out and re-open it.
    flaky.mode, flaky.hang_seconds = "hang", 3.0
    time.sleep(1.1)
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(get, gw, "/shared/x") for gw in (one, two) * 4]
        concurrent: list[Reply] = [f.result() for f in futures]
    reasons = sorted(r.header("x-gateway-error") or "" for r in concurrent)
    assert reasons == ["circuit_open"] * 6 + ["upstream_timeout"] * 2
    assert flaky.requests == 3 + 2
    assert breaker_state(one, "shared") == "open"
    assert get(two, "/shared/x").header("x-gateway-error") == "circuit_open"

    # Recovery: the re-opened period is doubled (2 s); then two successful probes close it.
    flaky.mode = "ok"
    time.sleep(2.1)
    assert get(one, "/shared/x").status == 200
    assert breaker_state(two, "shared") == "half_open"
    assert get(two, "/shared/x").status == 200
    assert breaker_state(one, "shared") == breaker_state(two, "shared") == "closed"
    assert [get(gw, "/shared/x").status for gw in (one, two)] == [200, 200]
