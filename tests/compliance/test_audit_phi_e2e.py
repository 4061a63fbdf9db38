"""PHI routes keep serving while the audit stream is down (their records wait in the spool) and fail
closed with 503 audit_unavailable only when the spool is full; every record, refusals included,
reaches the chain once the stream is back."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from compliance.models import AuditEvent
from tests.compliance.audit_support import AuditedGateway, wait_for_records
from tests.metrics.scrape import parse, scrape_text, value
from tests.support.config import ConfigHelper
from tests.support.http import Reply, call
from tests.support.redis_server import RedisServer
from tests.support.servers import BackendThread

pytestmark = [pytest.mark.needs_redis, pytest.mark.slow]

# The smallest spool the settings allow: four 64 KiB files, so a few hundred records fill it.
SMALL_SPOOL = {"GATEWAY_AUDIT_SPOOL_SEGMENT_BYTES": str(64 * 1024), "GATEWAY_AUDIT_SPOOL_MAX_BYTES": str(256 * 1024)}


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.cleanup()


@pytest.fixture
def phi_gateway(transactional_db: None, own_redis: RedisServer) -> Iterator[AuditedGateway]:
    env = {"REDIS_URL": own_redis.url, "GATEWAY_BREAKER_FALLBACK_SECONDS": "1", **SMALL_SPOOL}
    process = AuditedGateway(env).start()
    yield process
    process.stop()


def _get(gateway: AuditedGateway, path: str) -> tuple[str, Reply]:
    rid = f"phi-{uuid.uuid4().hex}"
    return rid, call(gateway, "GET", path, {"X-Request-ID": rid})


def _until(gateway: AuditedGateway, path: str, status: int, sent: dict[str, int], timeout: float = 30) -> None:
    """Request ``path`` until it answers ``status``; every request id sent and its status go in ``sent``."""
    deadline = time.monotonic() + timeout
    while True:
        rid, reply = _get(gateway, path)
        sent[rid] = reply.status
        if reply.status == status:
            return
        assert time.monotonic() < deadline, f"{path} still answers {reply.status}"


def test_a_phi_route_serves_while_the_stream_is_down_and_refuses_only_when_the_spool_is_full(
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
    sent: dict[str, int] = {}
    for _ in range(20):
        rid, reply = _get(phi_gateway, "/phi/x")
        sent[rid] = reply.status
    assert set(sent.values()) == {200}  # the stream is down, the spool takes the records
    _until(phi_gateway, "/phi/x", 503, sent)
    refused = [rid for rid, status in sent.items() if status == 503]
    # The gauges are reported by the drain every moment, the refusal is decided at once: wait for them.
    deadline = time.monotonic() + 5.0
    while value(samples := parse(scrape_text(phi_gateway.url)), "gateway_audit_spool_full") != 1.0:
        assert time.monotonic() < deadline, (len(sent), samples)
        time.sleep(0.1)
    # It took a full spool, not the outage, to refuse: most of its 256 KiB hold records.
    assert value(samples, "gateway_audit_spool_bytes") > 128 * 1024, (len(sent), samples)

    own_redis.start()
    _until(phi_gateway, "/phi/x", 200, sent)
    events = wait_for_records(phi_gateway, list(sent), timeout=30)
    assert sorted(e.request_id for e in events) == sorted(sent)  # one each, refusals included
    assert AuditEvent.objects.filter(request_id=ok_rid).count() == 1
    assert AuditEvent.objects.get(request_id=refused[0]).error_reason == "audit_unavailable"
    assert AuditEvent.objects.get(request_id=ok_rid).phi
    assert value(parse(scrape_text(phi_gateway.url)), "gateway_audit_records_dropped_total") == 0
