"""Nothing is dropped when the audit stream pauses: with a tiny memory bridge and small spool files,
1,500 requests answered while Redis is unreachable (a TCP proxy of the test's own cuts it) reach the
chain once it is back, each exactly once and in the order they were answered."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from compliance.models import AuditEvent
from tests.compliance.audit_support import AuditedGateway, wait_for_records
from tests.metrics.scrape import parse, scrape_text, value
from tests.support.config import ConfigHelper
from tests.support.fault_proxy import FaultProxy
from tests.support.http import call
from tests.support.servers import BackendThread

pytestmark = [pytest.mark.needs_redis, pytest.mark.slow]

REQUESTS = 1500


@pytest.fixture
def redis_proxy() -> Iterator[FaultProxy]:
    proxy = FaultProxy(int(urlsplit(os.environ["REDIS_URL"]).port or 6379)).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def paused_gateway(transactional_db: None, redis_proxy: FaultProxy) -> Iterator[AuditedGateway]:
    db = urlsplit(os.environ["REDIS_URL"]).path or "/0"
    env = {
        "GATEWAY_AUDIT_REDIS_URL": f"redis://127.0.0.1:{redis_proxy.port}{db}",
        "GATEWAY_AUDIT_BUFFER_SIZE": "100",
        "GATEWAY_AUDIT_SPOOL_SEGMENT_BYTES": str(64 * 1024),
    }
    process = AuditedGateway(env).start()
    yield process
    process.stop()


def test_records_answered_while_the_stream_is_paused_all_arrive_in_order(
    paused_gateway: AuditedGateway, redis_proxy: FaultProxy, backend: BackendThread
) -> None:
    config = ConfigHelper(gateways=[paused_gateway])
    config.route(config.service("shop", targets=[backend]), "/ok")
    config.sync()

    redis_proxy.pause()
    sent = [f"pause-{uuid.uuid4().hex[:12]}-{i}" for i in range(REQUESTS)]
    for rid in sent:
        assert call(paused_gateway, "GET", "/ok/x", {"X-Request-ID": rid}).status == 200
    samples = parse(scrape_text(paused_gateway.url))
    assert value(samples, "gateway_audit_spool_bytes") > 0  # waiting in the spool, not shipped
    assert not AuditEvent.objects.filter(request_id__in=sent[:10]).exists()

    redis_proxy.resume()
    events = wait_for_records(paused_gateway, sent, timeout=60)
    assert [e.request_id for e in events] == sent  # each once, in the order answered
    assert value(parse(scrape_text(paused_gateway.url)), "gateway_audit_records_dropped_total") == 0
