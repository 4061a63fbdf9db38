"""The simulator reads live state that real requests through a gateway process made, and changes none
of it: a rate limit's remaining quota (and a simulated request never costs one), and a cache entry
warmed by real requests (HIT), in the shared Redis."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from cache.keys import GONE_PREFIX, LOCK_PREFIX, PREFIX, TAG_PREFIX, URI_PREFIX
from ratelimit.backends import KEY_PREFIX
from ratelimit.models import RatePolicy
from registry.simulate import simulate
from tests.cache.conftest import Origin, cached_route, warm
from tests.support.config import ConfigHelper
from tests.support.http import get
from tests.support.redis_server import forget_keys
from tests.support.servers import BackendThread, GatewayProcess

# As in tests/ratelimit and tests/cache: a loaded machine may take longer than the production default
# (50 ms) to answer, which would turn exact counts into fallbacks and lookups into BYPASS.
os.environ.setdefault("GATEWAY_RATELIMIT_REDIS_TIMEOUT", "1")
os.environ.setdefault("GATEWAY_CACHE_REDIS_TIMEOUT", "1")


def decision(path: str, policy: str, client_address: str = "127.0.0.1") -> tuple[str, int | None]:
    result = simulate("GET", "127.0.0.1:8000", path, client_address=client_address)  # as tests.support.http sends it
    return next(s.decision for s in result.steps if s.policy == policy), result.status


def test_the_remaining_quota_is_what_real_requests_left_and_simulating_costs_none(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    forget_keys(KEY_PREFIX)
    service = config.service("quota", targets=[backend])
    route = config.route(service, "/quota")
    policy = RatePolicy(name="three-per-client", limit=3, period=60, scope=RatePolicy.Scope.CLIENT_IP)
    policy.full_clean()
    policy.save()
    policy.routes.set([route])
    config.sync()

    assert decision("/quota/x", "ratelimit")[0].startswith("three-per-client (client 127.0.0.1): 3 of 3 left")
    assert [get(gateway, "/quota/x").status for _ in range(2)] == [200, 200]
    after_two = [decision("/quota/x", "ratelimit") for _ in range(5)]
    other_client = decision("/quota/x", "ratelimit", client_address="192.0.2.1")
    last = get(gateway, "/quota/x")  # the simulations above took nothing: the third is still admitted
    exhausted, status = decision("/quota/x", "ratelimit")

    assert {d for d, _ in after_two} == {after_two[0][0]}
    assert after_two[0][0].startswith("three-per-client (client 127.0.0.1): 1 of 3 left, resets in ")
    assert other_client[0].startswith("three-per-client (client 192.0.2.1): 3 of 3 left")
    assert last.status == 200 and last.header("x-ratelimit-remaining") == "0"
    assert status == 429 and exhausted.startswith("429 rate_limited: 'three-per-client' allows 3 per 60 s.")
    assert "0 of 3 left, next admitted in " in exhausted
    assert get(gateway, "/quota/x").status == 429


@pytest.fixture
def origin() -> Iterator[Origin]:
    forget_keys(PREFIX, LOCK_PREFIX, TAG_PREFIX, URI_PREFIX, GONE_PREFIX)
    server = Origin()
    server.thread.start()
    yield server
    server.stop()


def test_a_cache_entry_warmed_by_real_requests_is_a_hit_and_simulating_fetches_nothing(
    config: ConfigHelper, gateway: GatewayProcess, origin: Origin
) -> None:
    cached_route(config, origin, "/cached")
    path = "/cached/page?cc=max-age%3D300"

    before = decision(path, "cache")
    warm([gateway], path)
    served = origin.count("/page")
    hit, status = decision(path, "cache")
    post = simulate("POST", "127.0.0.1", path)

    assert before == (
        "MISS: cacheable (a shared entry), nothing stored; the backend's answer is stored if it allows",
        None,
    )
    assert hit.startswith("HIT: answered from the cache (a shared entry, status 200, age ") and status is None
    assert origin.count("/page") == served  # the simulator asked no backend
    assert next(s.decision for s in post.steps if s.policy == "cache").startswith("BYPASS: POST is not cached")
