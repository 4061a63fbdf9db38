"""Concurrent misses for one key make one backend request: in a process (flights), and across processes
(the fill lock in Redis); the others wait, bounded, and get the same answer."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.cache.conftest import Origin, cached_route
from tests.support.config import ConfigHelper
from tests.support.http import Reply, get
from tests.support.servers import GatewayProcess

CONCURRENT = 100


def burst(gateways: list[GatewayProcess], path: str) -> list[Reply]:
    with ThreadPoolExecutor(CONCURRENT) as pool:
        return list(pool.map(lambda i: get(gateways[i % len(gateways)], path, timeout=30), range(CONCURRENT)))


def test_a_hundred_concurrent_misses_make_one_backend_request(
    config: ConfigHelper, gateway: GatewayProcess, origin: Origin
) -> None:
    cached_route(config, origin, "/co-one")
    replies = burst([gateway], "/co-one/slow?cc=max-age%3D60&sleep=0.5")
    assert {r.status for r in replies} == {200}
    assert len({r.body for r in replies}) == 1
    assert origin.count("/slow") == 1
    statuses = [r.header("x-cache-status") for r in replies]
    assert statuses.count("MISS") == 1 and statuses.count("HIT") == CONCURRENT - 1
    assert any("collapsed" in (r.header("cache-status") or "") for r in replies)


def test_concurrent_misses_of_an_answer_that_is_not_stored_are_not_queued(
    config: ConfigHelper, gateway: GatewayProcess, origin: Origin
) -> None:
    cached_route(config, origin, "/co-pass")
    replies = burst([gateway], "/co-pass/nostore?cc=no-store&sleep=0.3")
    assert {r.status for r in replies} == {200}
    assert len({r.body for r in replies}) > 1  # each one the backend's own answer, none shared
    assert {r.header("x-cache-status") for r in replies} == {"MISS"}


@pytest.fixture
def second_gateway(gateway: GatewayProcess) -> Iterator[GatewayProcess]:
    process = GatewayProcess().start()
    yield process
    process.stop()


@pytest.mark.needs_redis
def test_concurrent_misses_on_two_processes_make_one_backend_request(
    config: ConfigHelper, gateway: GatewayProcess, second_gateway: GatewayProcess, origin: Origin
) -> None:
    config.gateways.append(second_gateway)
    cached_route(config, origin, "/co-two")
    replies = burst([gateway, second_gateway], "/co-two/slow?cc=max-age%3D60&sleep=0.5")
    assert {r.status for r in replies} == {200}
    assert len({r.body for r in replies}) == 1
    assert origin.count("/slow") == 1
