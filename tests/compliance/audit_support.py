"""Helpers of the audit tests: plain records, and waiting for a gateway's records to reach the chain."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from compliance.models import AuditEvent
from compliance.records import new_event_id
from compliance.spool_drain import chain_writer, ship_spools
from compliance.stream import StreamConsumer, counter_key
from tests.support.servers import GatewayProcess


def record(**fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "event_id": new_event_id(),
        "kind": "request",
        "at": time.time(),
        "action": "request.proxied",
        "request_id": uuid.uuid4().hex,
        "client_ip": "192.0.2.7",
        "consumer": "42",
        "method": "GET",
        "path": "/orders/1",
        "status": 200,
        "latency_ms": 1.25,
    }
    values.update(fields)
    return values


class AuditedGateway(GatewayProcess):
    """A gateway process with its own audit stream (with Redis), drained into the test database."""

    def __init__(self, env: dict[str, str] | None = None, workers: int = 1) -> None:
        self.stream = f"test:audit:{uuid.uuid4().hex[:12]}"
        super().__init__(
            {"GATEWAY_AUDIT_STREAM": self.stream, "GATEWAY_AUDIT_FLUSH_INTERVAL": "0.02", **(env or {})}, workers
        )

    def start(self) -> AuditedGateway:
        super().start()
        return self

    def collect(self) -> None:
        """Move the gateway's records into the chain with the audit worker's code: the stream it ships
        to, or (embedded default) its spool."""
        redis_url = self.env.get("GATEWAY_AUDIT_REDIS_URL") or self.env.get("REDIS_URL") or ""
        if not redis_url:
            ship_spools(Path(self.env["GATEWAY_AUDIT_SPOOL_DIR"]), chain_writer())
            return
        import redis

        with redis.Redis.from_url(redis_url) as client:
            StreamConsumer(client, self.stream, consumer="test").drain(10)

    def forget_stream(self) -> None:
        redis_url = self.env.get("GATEWAY_AUDIT_REDIS_URL") or self.env.get("REDIS_URL") or ""
        if redis_url:
            import redis

            with contextlib.suppress(redis.RedisError), redis.Redis.from_url(redis_url) as client:
                client.delete(self.stream, counter_key(self.stream))

    def stop(self) -> None:
        super().stop()
        self.forget_stream()


def wait_for_records(gateway: AuditedGateway, request_ids: Iterable[str], timeout: float = 15) -> list[AuditEvent]:
    wanted = set(request_ids)
    deadline = time.monotonic() + timeout
    while True:
        gateway.collect()
        found = list(AuditEvent.objects.filter(request_id__in=wanted).order_by("seq"))
        if {e.request_id for e in found} >= wanted or time.monotonic() > deadline:
            return found
        time.sleep(0.1)
