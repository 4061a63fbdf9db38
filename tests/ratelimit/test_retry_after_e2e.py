"""Retry-After through two gateway processes sharing Redis: never above the period, the same instant as
the refusing policy's ``t`` in ``RateLimit`` and as ``X-RateLimit-Reset``, and enough: a client that
waits as told is admitted. The admissions stay within what docs/rate-limiting.md says each algorithm
allows in a rolling period."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator

import pytest

from ratelimit.models import RatePolicy
from tests.ratelimit.conftest import make_policy
from tests.support.config import ConfigHelper
from tests.support.http import Reply, get
from tests.support.servers import BackendThread, GatewayProcess

pytestmark = [pytest.mark.needs_redis, pytest.mark.slow]

LIMIT, PERIOD = 5, 2


@pytest.fixture
def pair(transactional_db: None, gateway: GatewayProcess) -> Iterator[tuple[GatewayProcess, GatewayProcess]]:
    env = {"GATEWAY_RATELIMIT_REDIS_URL": os.environ["REDIS_URL"], "GATEWAY_RATELIMIT_REDIS_TIMEOUT": ""}
    one, two = GatewayProcess(env=env).start(), GatewayProcess(env=env).start()
    yield one, two
    one.stop()
    two.stop()


def t_of(reply: Reply, policy: str) -> int:
    found = re.search(rf'"{policy}";r=(\d+);t=(\d+)', reply.header("ratelimit") or "")
    assert found is not None, reply.headers
    return int(found[2])


@pytest.mark.parametrize("algorithm", ["sliding_window", "gcra"])
def test_retry_after_is_within_the_period_consistent_and_enough(
    pair: tuple[GatewayProcess, GatewayProcess], backend: BackendThread, algorithm: str
) -> None:
    config = ConfigHelper(gateways=list(pair))
    route = config.route(config.service("retry", targets=[backend]), "/retry")
    name = f"retry-{algorithm.replace('_', '-')}"
    make_policy(name, LIMIT, period=PERIOD, algorithm=algorithm, scope=RatePolicy.Scope.ROUTE, routes=[route])
    config.sync()

    admitted: list[float] = []
    refusals = 0
    started = time.monotonic()
    turn = 0
    while time.monotonic() - started < 3 * PERIOD:
        turn += 1
        reply = get(pair[turn % 2], "/retry/x")
        if reply.status == 200:
            admitted.append(time.monotonic())
            assert 0 <= t_of(reply, name) <= PERIOD
            continue
        assert reply.status == 429, reply
        refusals += 1
        retry = int(reply.header("retry-after") or 0)
        assert 1 <= retry <= PERIOD
        assert reply.header("x-ratelimit-reset") == str(retry)
        assert t_of(reply, name) == retry
        if refusals == 1:
            time.sleep(retry)  # waiting as told is enough
            assert get(pair[(turn + 1) % 2], "/retry/x").status == 200
            admitted.append(time.monotonic())
        else:
            time.sleep(0.05)

    assert refusals > 3
    # The docs' bound for both (GCRA with its default burst): 2 * limit - 1 in any rolling period, on
    # Redis's clock. Times taken here, when each answer arrives, can squeeze one more into a period.
    most = max(sum(1 for t in admitted if start <= t < start + PERIOD) for start in admitted)
    assert most <= 2 * LIMIT
