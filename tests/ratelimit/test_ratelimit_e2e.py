"""Through the real proxy to a real backend: 429s with their headers, scopes, attachments and config changes.

Runs on whatever the session's gateway uses: Redis with REDIS_URL, else the in-process counters.
"""

from __future__ import annotations

import re

from ratelimit.models import RatePolicy
from tests.ratelimit.conftest import make_policy
from tests.support.config import ConfigHelper
from tests.support.http import get
from tests.support.servers import BackendThread, GatewayProcess


def test_it_returns_429_with_retry_after_and_limit_headers_and_the_backend_never_sees_it(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    service = config.service("limited", targets=[backend])
    route = config.route(service, "/limited")
    make_policy("three-a-minute", 3, period=60, scope=RatePolicy.Scope.ROUTE, routes=[route])
    config.sync()

    replies = [get(gateway, "/limited/x") for _ in range(4)]
    assert [r.status for r in replies] == [200, 200, 200, 429]
    first = replies[0]
    assert first.header("ratelimit-policy") == '"three-a-minute";q=3;w=60'
    assert re.fullmatch(r'"three-a-minute";r=2;t=\d+', first.header("ratelimit") or "")
    assert first.header("x-ratelimit-limit") == "3"
    assert [r.header("x-ratelimit-remaining") for r in replies] == ["2", "1", "0", "0"]
    assert 0 < int(first.header("x-ratelimit-reset") or 0) <= 60
    assert not first.has("retry-after")

    refused = replies[3]
    problem = refused.problem("rate_limited")
    assert "three-a-minute" in problem["detail"]
    assert 1 <= int(refused.header("retry-after") or 0) <= 120
    assert refused.header("ratelimit-policy") == '"three-a-minute";q=3;w=60'
    assert backend.count() == 3


def test_the_most_restrictive_policy_fills_the_x_ratelimit_headers_and_every_policy_is_listed(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    service = config.service("layered", targets=[backend])
    route = config.route(service, "/layered")
    make_policy("layered-wide", 1000, period=60, scope=RatePolicy.Scope.GLOBAL, services=[service])
    make_policy("layered-narrow", 2, period=10, scope=RatePolicy.Scope.CLIENT_IP, algorithm="gcra", routes=[route])
    config.sync()

    ok = get(gateway, "/layered/x")
    assert ok.status == 200
    assert ok.header("ratelimit-policy") == '"layered-wide";q=1000;w=60, "layered-narrow";q=2;w=10'
    assert (ok.header("x-ratelimit-limit"), ok.header("x-ratelimit-remaining")) == ("2", "1")
    assert get(gateway, "/layered/x").status == 200
    refused = get(gateway, "/layered/x")
    assert "layered-narrow" in refused.problem("rate_limited")["detail"]
    assert refused.header("retry-after") == "5"  # GCRA: one request per 5 s
    assert backend.count() == 2


def test_a_consumer_policy_counts_each_consumer_on_its_own(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    service = config.service("keyed", targets=[backend])
    route = config.route(service, "/keyed", auth_mode="api_key")
    open_route = config.route(service, "/unauthenticated")
    alice, bob = config.consumer("alice"), config.consumer("bob")
    _, alice_key = config.api_key(alice)
    _, bob_key = config.api_key(bob)
    make_policy("per-consumer", 2, scope=RatePolicy.Scope.CONSUMER, routes=[route, open_route])
    config.sync()

    def as_(key: str) -> int:
        return get(gateway, "/keyed/x", headers={"Authorization": f"Bearer {key}"}).status

    assert [as_(alice_key) for _ in range(3)] == [200, 200, 429]
    assert [as_(bob_key) for _ in range(3)] == [200, 200, 429]
    # No identity on a route without auth: the consumer scope does not count there.
    unauthenticated = [get(gateway, "/unauthenticated/x") for _ in range(4)]
    assert [r.status for r in unauthenticated] == [200] * 4
    assert not unauthenticated[0].has("ratelimit")


def test_a_policy_attached_to_consumers_limits_only_them(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    service = config.service("vip", targets=[backend])
    config.route(service, "/vip", auth_mode="api_key")
    noisy, quiet = config.consumer("noisy"), config.consumer("quiet")
    _, noisy_key = config.api_key(noisy)
    _, quiet_key = config.api_key(quiet)
    make_policy("noisy-only", 1, scope=RatePolicy.Scope.API_KEY, consumers=[noisy])
    config.sync()

    def as_(key: str) -> int:
        return get(gateway, "/vip/x", headers={"Authorization": f"Bearer {key}"}).status

    assert [as_(noisy_key) for _ in range(2)] == [200, 429]
    assert [as_(quiet_key) for _ in range(3)] == [200, 200, 200]


def test_a_header_policy_counts_per_header_value_and_a_missing_header_shares_one_counter(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    service = config.service("tenants", targets=[backend])
    route = config.route(service, "/tenants")
    make_policy("per-tenant", 1, scope=RatePolicy.Scope.HEADER, header_name="X-Tenant", routes=[route])
    config.sync()

    def as_(tenant: str | None) -> int:
        return get(gateway, "/tenants/x", headers={"X-Tenant": tenant} if tenant else {}).status

    assert [as_("a"), as_("a"), as_("b"), as_(None), as_(None)] == [200, 429, 200, 200, 429]


def test_disabling_a_policy_stops_limiting_after_the_next_table_rebuild(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    service = config.service("toggled", targets=[backend])
    route = config.route(service, "/toggled")
    policy = make_policy("toggled", 1, routes=[route])
    config.sync()
    assert [get(gateway, "/toggled/x").status for _ in range(2)] == [200, 429]

    policy.enabled = False
    policy.save()
    config.sync()
    reply = get(gateway, "/toggled/x")
    assert reply.status == 200 and not reply.has("ratelimit-policy")


def test_a_route_without_an_applicable_policy_gets_no_limit_headers(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    service = config.service("elsewhere", targets=[backend])
    config.route(service, "/elsewhere")
    other = config.route(service, "/other")
    make_policy("only-other", 1, routes=[other])
    config.sync()
    replies = [get(gateway, "/elsewhere/x") for _ in range(3)]
    assert [r.status for r in replies] == [200] * 3
    assert not any(r.has("ratelimit") or r.has("x-ratelimit-limit") for r in replies)


def test_the_policies_of_a_service_and_of_its_routes_apply_to_its_dynamic_route(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    service = config.service("dyn", targets=[backend], dynamic_route=True)
    route = config.route(service, "/dyn")
    other = config.service("dyn-other", targets=[backend], dynamic_route=True)
    make_policy("dyn-per-ip", 2, scope=RatePolicy.Scope.CLIENT_IP, routes=[route])
    make_policy("dyn-other-service", 1, scope=RatePolicy.Scope.SERVICE, services=[other])
    config.sync()

    # One client, one counter: the dynamic route is no way around the route's limit.
    assert [get(gateway, p).status for p in ("/dyn/x", "/api/v1/dyn/x", "/api/v1/dyn/y")] == [200, 200, 429]
    assert get(gateway, "/api/v1/dyn/z").problem("rate_limited")
    assert [get(gateway, "/api/v1/dyn-other/x").status for _ in range(2)] == [200, 429]
    assert backend.count() == 3
