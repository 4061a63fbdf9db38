"""The rate-limit step on its own, in this process: decisions, the metric, and the failure modes when
Redis is unreachable (a port where nothing listens)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prometheus_client import REGISTRY

from proxy.auth.config import Identity
from proxy.exchange import Exchange, Response
from proxy.specs import RouteSpec, ServiceSpec
from ratelimit.algorithms import Limit
from ratelimit.backends import MemoryBackend, RedisBackend
from ratelimit.compile import PolicySpec
from ratelimit.errors import RateLimitUnavailable, TooManyRequests
from ratelimit.fallback import Counters
from ratelimit.policies import RateLimitPolicy, rule_for
from tests.ratelimit.clock import MovableClock
from tests.support.servers import free_port

SERVICE = ServiceSpec(7, "svc", "Svc", "http", "", 1.0, 1.0, 0, "round_robin", False, ())
ROUTE = RouteSpec(11, "r", SERVICE, "/r", "", None, True, 0, "", False, False, 1024)


def spec(name: str, limit: int, *, shadow: bool = False, mode: str = "local", scope: str = "route") -> PolicySpec:
    return PolicySpec(
        id=abs(hash(name)) % 10**9,
        name=name,
        scope=scope,
        header=b"",
        limit=Limit("sliding_window", limit, 60_000_000),
        failure_mode=mode,
        shadow=shadow,
        all_routes=True,
        route_ids=frozenset(),
        service_ids=frozenset(),
        consumer_ids=None,
    )


def exchange(identity: Identity | None = None) -> Exchange:
    return Exchange(
        scope={},
        receive=None,  # type: ignore[arg-type]
        method="GET",
        path="/r/x",
        query=b"",
        host="gw",
        scheme="http",
        client_ip="192.0.2.1",
        client_address="192.0.2.1",
        request_id="rid",
        headers=[],
        route=None,  # type: ignore[arg-type]
        upstream_path="/x",
        content_length=None,
        chunked=False,
        body_limit=0,
        started=0.0,
        identity=identity,
    )


async def upstream(exchange: Exchange) -> Response:
    return Response(200, [(b"content-type", b"text/plain")], b"ok")


def step(specs: list[PolicySpec], counters: Counters, processes: int = 1) -> RateLimitPolicy:
    return RateLimitPolicy([rule_for(s, ROUTE, processes) for s in specs], counters)


def decisions(policy: str, decision: str) -> float:
    value = REGISTRY.get_sample_value("gateway_ratelimit_decisions_total", {"policy": policy, "decision": decision})
    return value or 0.0


async def outcome(policy: RateLimitPolicy, who: Identity | None = None) -> Any:
    try:
        return await policy(exchange(who), upstream)
    except (TooManyRequests, RateLimitUnavailable) as error:
        return error


async def test_the_metric_counts_allowed_limited_and_shadow_limited_per_policy() -> None:
    counters = Counters(MemoryBackend(MovableClock()), 1.0)
    policy = step([spec("m-enforced", 2), spec("m-shadow", 1, shadow=True)], counters)
    before = {d: decisions(n, d) for n in ("m-enforced", "m-shadow") for d in ("allowed", "limited", "shadow_limited")}
    results = [await outcome(policy, Identity("1", "shop", frozenset())) for _ in range(3)]
    assert [getattr(r, "status", None) for r in results] == [200, 200, 429]
    assert decisions("m-enforced", "allowed") - before["allowed"] == 2
    assert decisions("m-enforced", "limited") - before["limited"] == 1
    assert decisions("m-shadow", "shadow_limited") - before["shadow_limited"] == 1
    assert counters.local.shadow == {}  # memory primary: its own shadow table, not the fallback's
    shadow = counters.primary.shadow  # type: ignore[attr-defined]
    assert list(shadow.values()) == [{"shop": 1}]


async def test_shadow_policies_add_no_headers() -> None:
    counters = Counters(MemoryBackend(MovableClock()), 1.0)
    response = await outcome(step([spec("quiet-shadow", 1, shadow=True)], counters))
    assert response.status == 200 and response.headers == [(b"content-type", b"text/plain")]


@pytest.fixture
def dead_redis() -> Counters:
    return Counters(RedisBackend(f"redis://127.0.0.1:{free_port()}/0", timeout=0.05), retry_seconds=30.0)


async def test_with_redis_unreachable_open_lets_through_without_headers_and_counts_degraded(
    dead_redis: Counters,
) -> None:
    before = decisions("d-open", "degraded")
    responses = [await outcome(step([spec("d-open", 1, mode="open")], dead_redis)) for _ in range(3)]
    assert [r.status for r in responses] == [200] * 3
    assert all(r.headers == [(b"content-type", b"text/plain")] for r in responses)
    assert decisions("d-open", "degraded") - before == 3


async def test_with_redis_unreachable_closed_refuses_with_503_and_retry_after(dead_redis: Counters) -> None:
    error = await outcome(step([spec("d-closed", 100, mode="closed")], dead_redis))
    assert isinstance(error, RateLimitUnavailable) and error.status == 503
    assert (b"retry-after", b"30") in error.headers


async def test_with_redis_unreachable_local_limits_at_the_process_share(dead_redis: Counters) -> None:
    policy = step([spec("d-local", 9, mode="local")], dead_redis, processes=3)
    results = [await outcome(policy) for _ in range(4)]
    assert [r.status for r in results] == [200, 200, 200, 429]
    assert (b"x-ratelimit-limit", b"3") in results[0].headers


async def test_a_dead_redis_is_skipped_until_the_retry_period_ends(dead_redis: Counters) -> None:
    policy = step([spec("d-skip", 1, mode="open")], dead_redis)
    await outcome(policy)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(50):
        await outcome(policy)
    assert loop.time() - started < 0.05  # no connection attempt, no timeout, per request
    assert dead_redis.degraded
