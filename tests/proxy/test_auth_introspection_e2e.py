"""Token introspection through a gateway configured with a fake RFC 7662 service: answers, cache,
revocation within the TTL, and 503 (never a pass) when the service fails."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
import uuid
from collections.abc import Iterator

import pytest
from aiohttp import web

from registry.services import current_config_version
from tests.support.config import ConfigHelper
from tests.support.http import get
from tests.support.servers import BackendThread, GatewayProcess

TTL = 1.0


class FakeIntrospection:
    def __init__(self) -> None:
        self.active: dict[str, dict[str, object]] = {}
        self.calls = 0
        self.mode = "ok"  # "error" answers 500, "slow" answers after the gateway's timeout
        app = web.Application()
        app.router.add_post("/introspect", self.introspect)
        self.server = BackendThread("introspection", app)

    async def introspect(self, request: web.Request) -> web.Response:
        self.calls += 1
        assert request.headers.get("Authorization", "").startswith("Basic ")
        if self.mode == "error":
            return web.json_response({"error": "boom"}, status=500)
        if self.mode == "slow":
            await asyncio.sleep(0.8)  # past the gateway's 0.5 s timeout
        token = (await request.post()).get("token")
        answer = self.active.get(str(token))
        return web.json_response({"active": True, **answer} if answer else {"active": False})

    def token(self, **fields: object) -> str:
        token = uuid.uuid4().hex
        self.active[token] = {"sub": "svc-1", "scope": "orders:read", "exp": time.time() + 300, **fields}
        return token


@pytest.fixture(scope="module")
def introspection() -> Iterator[FakeIntrospection]:
    fake = FakeIntrospection()
    fake.server.start()
    yield fake
    fake.server.stop()


def introspection_env(introspection: FakeIntrospection) -> dict[str, str]:
    return {
        "GATEWAY_INTROSPECTION_URL": f"{introspection.server.url}/introspect",
        "GATEWAY_INTROSPECTION_CLIENT_ID": "gateway",
        "GATEWAY_INTROSPECTION_CLIENT_SECRET": "s3cret",
        "GATEWAY_INTROSPECTION_TTL": str(TTL),
        "GATEWAY_INTROSPECTION_NEGATIVE_TTL": str(TTL),
        "GATEWAY_INTROSPECTION_TIMEOUT": "0.5",
    }


@pytest.fixture(scope="module")
def introspecting_gateway(
    django_db_setup: None, django_db_blocker: object, introspection: FakeIntrospection
) -> Iterator[GatewayProcess]:
    process = GatewayProcess(env=introspection_env(introspection)).start()
    yield process
    process.stop()


@pytest.fixture
def routed(
    transactional_db: None,
    introspecting_gateway: GatewayProcess,
    introspection: FakeIntrospection,
    backend: BackendThread,
) -> FakeIntrospection:
    config = ConfigHelper(gateways=[introspecting_gateway])
    service = config.service("orders", targets=[backend])
    config.route(service, "/orders", auth_mode="introspection")
    config.route(service, "/writers", auth_mode="introspection", required_roles="orders:write")
    config.sync()
    introspection.mode = "ok"
    introspection.calls = 0
    return introspection


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_an_active_token_passes_with_its_identity(
    routed: FakeIntrospection, introspecting_gateway: GatewayProcess
) -> None:
    reply = get(introspecting_gateway, "/orders/1", bearer(routed.token()))

    assert reply.status == 200, reply
    seen = reply.echoed_headers()
    assert seen["x-consumer-subject"] == ["svc-1"]
    assert seen["x-consumer-roles"] == ["orders:read"]


def test_an_inactive_token_gets_401(routed: FakeIntrospection, introspecting_gateway: GatewayProcess) -> None:
    reply = get(introspecting_gateway, "/orders/1", bearer("unknown-token"))

    assert reply.status == 401
    assert "not active" in reply.problem("invalid_token")["detail"]
    assert reply.header("www-authenticate") == 'Bearer realm="gateway", error="invalid_token"'


def test_scopes_are_the_roles_checked(routed: FakeIntrospection, introspecting_gateway: GatewayProcess) -> None:
    assert get(introspecting_gateway, "/writers/1", bearer(routed.token())).status == 403
    writer = routed.token(scope="orders:read orders:write")
    assert get(introspecting_gateway, "/writers/1", bearer(writer)).status == 200


def test_answers_are_cached_and_a_revocation_is_honoured_within_the_ttl(
    routed: FakeIntrospection, introspecting_gateway: GatewayProcess
) -> None:
    token = routed.token()
    for _ in range(3):
        assert get(introspecting_gateway, "/orders/1", bearer(token)).status == 200
    assert routed.calls == 1

    del routed.active[token]  # revoked at the auth service
    assert get(introspecting_gateway, "/orders/1", bearer(token)).status == 200  # still cached
    time.sleep(TTL + 0.2)

    assert get(introspecting_gateway, "/orders/1", bearer(token)).status == 401
    assert routed.calls == 2


def test_negative_answers_are_cached_briefly(routed: FakeIntrospection, introspecting_gateway: GatewayProcess) -> None:
    token = uuid.uuid4().hex
    assert get(introspecting_gateway, "/orders/1", bearer(token)).status == 401
    assert get(introspecting_gateway, "/orders/1", bearer(token)).status == 401
    assert routed.calls == 1


@pytest.mark.parametrize("mode", ["error", "slow"])
def test_a_failing_service_means_503_never_a_pass(
    routed: FakeIntrospection, introspecting_gateway: GatewayProcess, backend: BackendThread, mode: str
) -> None:
    routed.mode = mode

    reply = get(introspecting_gateway, "/orders/1", bearer(routed.token()))

    assert reply.status == 503
    reply.problem("auth_unavailable")
    assert backend.count() == 0


def test_a_missing_token_is_refused_without_asking(
    routed: FakeIntrospection, introspecting_gateway: GatewayProcess
) -> None:
    reply = get(introspecting_gateway, "/orders/1")

    assert reply.status == 401
    reply.problem("missing_credentials")
    assert routed.calls == 0


@pytest.mark.needs_redis
def test_answers_are_cached_in_redis_for_the_ttl(
    routed: FakeIntrospection, introspecting_gateway: GatewayProcess
) -> None:
    import redis

    token = routed.token()
    assert get(introspecting_gateway, "/orders/1", bearer(token)).status == 200

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    key = "gateway:introspect:" + hashlib.sha256(token.encode()).hexdigest()
    ttl_ms = int(client.pttl(key))  # type: ignore[arg-type]
    assert 0 < ttl_ms <= TTL * 1000
    client.close()


@pytest.mark.needs_redis
def test_gateway_processes_share_the_cached_answers_through_redis(
    routed: FakeIntrospection, introspecting_gateway: GatewayProcess
) -> None:
    other = GatewayProcess(env=introspection_env(routed)).start()
    try:
        other.wait_for_version(current_config_version())
        token = routed.token()
        assert get(introspecting_gateway, "/orders/1", bearer(token)).status == 200
        assert get(other, "/orders/1", bearer(token)).status == 200
        assert routed.calls == 1
    finally:
        other.stop()
