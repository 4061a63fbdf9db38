"""Backends that refuse, hang or reset: the gateway answers within its timeouts, other services carry on,
and non-idempotent requests are never retried."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from tests.breaker.flaky import Flaky
from tests.support.config import ConfigHelper
from tests.support.http import Reply, call, get
from tests.support.servers import GatewayProcess, free_port


class Closed:
    """A target address where nothing listens."""

    def __init__(self) -> None:
        self.port = free_port()


def timed(gateway: GatewayProcess, method: str, path: str) -> tuple[Reply, float]:
    started = time.monotonic()
    reply = call(gateway, method, path, body=b"{}" if method == "POST" else None)
    return reply, time.monotonic() - started


def test_a_refusing_backend_is_answered_at_once_and_opens_the_breaker(
    config: ConfigHelper, gateway: GatewayProcess
) -> None:
    service = config.service(
        "refusing", targets=[Closed()], retries=0, connect_timeout=1.0, breaker_enabled=True, breaker_failures=2
    )
    config.route(service, "/refusing")
    config.sync()
    first, elapsed = timed(gateway, "GET", "/refusing/x")
    first.problem("upstream_unreachable")
    assert elapsed < 1.0
    get(gateway, "/refusing/x")
    get(gateway, "/refusing/x").problem("circuit_open")


def test_a_hanging_backend_times_out_while_other_services_answer(
    config: ConfigHelper, gateway: GatewayProcess, flaky: Flaky, flaky_b: Flaky
) -> None:
    slow = config.service("hanging", targets=[flaky], retries=0, read_timeout=1.0, breaker_enabled=True)
    fast = config.service("healthy", targets=[flaky_b])
    config.route(slow, "/hanging")
    config.route(fast, "/healthy")
    config.sync()
    flaky.mode, flaky.hang_seconds = "hang", 5.0

    with ThreadPoolExecutor(4) as pool:
        hung = [pool.submit(timed, gateway, "GET", "/hanging/x") for _ in range(3)]
        time.sleep(0.2)
        others = [timed(gateway, "GET", "/healthy/x") for _ in range(5)]
        results = [f.result() for f in hung]

    for reply, elapsed in results:
        reply.problem("upstream_timeout")
        assert 0.9 < elapsed < 2.5, elapsed
    for reply, elapsed in others:
        assert reply.status == 200 and elapsed < 0.5, elapsed


def test_a_backend_resetting_mid_response_is_a_502_and_counts_as_a_failure(
    config: ConfigHelper, gateway: GatewayProcess, flaky: Flaky
) -> None:
    service = config.service("resetting", targets=[flaky], retries=0, breaker_enabled=True, breaker_failures=5)
    config.route(service, "/resetting")
    config.sync()
    flaky.mode = "reset"
    reply, elapsed = timed(gateway, "GET", "/resetting/x")
    reply.problem("upstream_error")
    assert elapsed < 1.0


def test_post_is_never_retried_but_get_moves_to_the_next_target(
    config: ConfigHelper, gateway: GatewayProcess, flaky: Flaky
) -> None:
    # Targets are tried in id order by round-robin: the address where nothing listens comes first.
    service = config.service("mixed", targets=[Closed(), flaky], retries=1, breaker_enabled=True, breaker_failures=50)
    config.route(service, "/mixed")
    config.sync()

    post, _ = timed(gateway, "POST", "/mixed/x")
    post.problem("upstream_unreachable")
    assert flaky.requests == 0
    replies = [timed(gateway, "GET", "/mixed/x")[0].status for _ in range(4)]
    assert replies == [200] * 4  # those sent to the closed address first were retried on the other
