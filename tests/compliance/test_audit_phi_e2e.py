"""PHI routes fail closed with 503 audit_unavailable when the durable audit path is down; other
routes keep serving and their records reach the chain once it is back."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from compliance.models import AuditEvent
from tests.compliance.audit_support import AuditedGateway, wait_for_records
from tests.support.config import ConfigHelper
from tests.support.http import Reply, call
from tests.support.redis_server import RedisServer
from tests.support.servers import BackendThread

pytestmark = [pytest.mark.needs_redis, pytest.mark.slow]


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.cleanup()


@pytest.fixture
def phi_gateway(transactional_db: None, own_redis: RedisServer) -> Iterator[AuditedGateway]:
    process = AuditedGateway({"REDIS_URL": own_redis.url, "GATEWAY_BREAKER_FALLBACK_SECONDS": "1"}).start()
    yield process
    process.stop()


def _get(gateway: AuditedGateway, path: str) -> tuple[str, Reply]:
    rid = f"phi-{uuid.uuid4().hex}"
    return rid, call(gateway, "GET", path, {"X-Request-ID": rid})


def _until(gateway: AuditedGateway, path: str, status: int, timeout: float = 10) -> list[str]:
    """Request ``path`` until it answers ``status``; return every request id sent."""
    sent, deadline = [], time.monotonic() + timeout
    while True:
        rid, reply = _get(gateway, path)
        sent.append(rid)
        if reply.status == status:
            return sent
        assert time.monotonic() < deadline, f"{path} still answers {reply.status}"
        time.sleep(0.1)


def test_a_phi_route_fails_closed_while_the_audit_stream_is_down(
    phi_gateway: AuditedGateway, own_redis: RedisServer, backend: BackendThread
) -> None:
    config = ConfigHelper(gateways=[phi_gateway])
    svc = config.service("clinic", targets=[backend])
    config.route(svc, "/phi", phi=True)
    config.route(svc, "/plain")
    config.sync()

    ok_rid, ok = _get(phi_gateway, "/phi/x")
    assert ok.status == 200
    # This Redis keeps nothing across a restart (no AOF here; production runs it with appendonly):
    # what it holds must reach the chain before it is stopped.
    assert [e.request_id for e in wait_for_records(phi_gateway, [ok_rid])] == [ok_rid]

    own_redis.stop()
    refused = _until(phi_gateway, "/phi/x", 503)
    rid, reply = _get(phi_gateway, "/phi/x")
    assert reply.status == 503
    reply.problem("audit_unavailable")
    refused.append(rid)
    plain_rid, plain = _get(phi_gateway, "/plain/x")
    assert plain.status == 200  # not PHI: served, its record waits in memory

    own_redis.start()
    back = _until(phi_gateway, "/phi/x", 200)
    wanted = [plain_rid, *refused, *back]
    events = wait_for_records(phi_gateway, wanted)
    assert sorted(e.request_id for e in events) == sorted(wanted)  # one each, none lost
    assert AuditEvent.objects.filter(request_id=ok_rid).count() == 1
    assert AuditEvent.objects.get(request_id=rid).error_reason == "audit_unavailable"
    assert AuditEvent.objects.get(request_id=ok_rid).phi
