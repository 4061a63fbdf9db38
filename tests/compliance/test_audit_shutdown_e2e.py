"""A gateway process stopped gracefully (SIGTERM) writes what its buffer still holds."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.compliance.audit_support import AuditedGateway, wait_for_records
from tests.support.config import ConfigHelper
from tests.support.http import call
from tests.support.servers import BackendThread

pytestmark = pytest.mark.slow


@pytest.fixture
def lazy_gateway(transactional_db: None) -> Iterator[AuditedGateway]:
    # The drainer would wait a minute: only the shutdown flush can deliver these records.
    process = AuditedGateway({"GATEWAY_AUDIT_FLUSH_INTERVAL": "60"}).start()
    yield process
    process.stop()


def test_the_buffer_is_flushed_on_graceful_shutdown(lazy_gateway: AuditedGateway, backend: BackendThread) -> None:
    config = ConfigHelper(gateways=[lazy_gateway])
    config.route(config.service("shop", targets=[backend]), "/ok")
    config.sync()
    sent = [f"bye-{uuid.uuid4().hex}" for _ in range(20)]
    for rid in sent:
        assert call(lazy_gateway, "GET", "/ok/x", {"X-Request-ID": rid}).status == 200
    assert not wait_for_records(lazy_gateway, sent, timeout=0.5)  # nothing written yet
    stream = lazy_gateway.stream
    super(AuditedGateway, lazy_gateway).stop()  # SIGTERM, without forgetting the stream
    lazy_gateway.stream = stream
    events = wait_for_records(lazy_gateway, sent)
    assert sorted(e.request_id for e in events) == sorted(sent)
