"""A gateway process stopped gracefully (SIGTERM) loses nothing its drainer had not shipped yet: with
a stream it ships them on the way out; without one they are in its sealed spool for the writer."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from compliance.spool_drain import owners
from tests.compliance.audit_support import AuditedGateway, wait_for_records
from tests.support.config import ConfigHelper
from tests.support.http import call
from tests.support.servers import BackendThread

pytestmark = pytest.mark.slow


@pytest.fixture
def lazy_gateway(transactional_db: None) -> Iterator[AuditedGateway]:
    # The drainer would wait a minute: only the shutdown can deliver these records.
    process = AuditedGateway({"GATEWAY_AUDIT_FLUSH_INTERVAL": "60"}).start()
    yield process
    process.stop()


def _stream_length(gateway: AuditedGateway) -> int:
    import redis

    with redis.Redis.from_url(gateway.env["REDIS_URL"]) as client:
        return int(client.xlen(gateway.stream))


def test_nothing_is_lost_on_graceful_shutdown(lazy_gateway: AuditedGateway, backend: BackendThread) -> None:
    config = ConfigHelper(gateways=[lazy_gateway])
    config.route(config.service("shop", targets=[backend]), "/ok")
    config.sync()
    sent = [f"bye-{uuid.uuid4().hex}" for _ in range(20)]
    for rid in sent:
        assert call(lazy_gateway, "GET", "/ok/x", {"X-Request-ID": rid}).status == 200
    spool = Path(lazy_gateway.env["GATEWAY_AUDIT_SPOOL_DIR"])
    with_stream = bool(lazy_gateway.env.get("REDIS_URL"))
    if with_stream:
        assert _stream_length(lazy_gateway) == 0  # nothing shipped yet
    assert len(owners(spool)) == 1

    spool_dir = lazy_gateway.spool_dir
    lazy_gateway.spool_dir = None  # SIGTERM, and keep the spool (and the stream) to look at them
    stream = lazy_gateway.stream
    super(AuditedGateway, lazy_gateway).stop()
    lazy_gateway.stream, lazy_gateway.spool_dir = stream, spool_dir
    if with_stream:
        assert _stream_length(lazy_gateway) >= 1  # shipped on the way out
        assert owners(spool) == {}  # and its spool files removed
    events = wait_for_records(lazy_gateway, sent)
    assert sorted(e.request_id for e in events) == sorted(sent)
    assert owners(spool) == {}
