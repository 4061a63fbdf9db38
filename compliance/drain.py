"""The per-process drainer: moves buffered records to the durable path, off the request path.

With ``GATEWAY_AUDIT_REDIS_URL`` (default ``REDIS_URL``) each batch is one pipelined round trip
(XADD of the batch to the audit stream, INCRBY of the backlog counter, which also tells the
backlog); the audit worker writes the stream into the chain. Without Redis (the embedded default)
batches go straight to ``chain.append`` in a worker thread. A batch that fails is kept and retried
first; nothing is taken from the buffer meanwhile, so the buffer (and its PHI reservations) is what
bounds memory.

``healthy()`` is what PHI routes check before they are served: the last write (or idle probe)
succeeded and the stream backlog is under ``GATEWAY_AUDIT_MAX_BACKLOG``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, connection

from compliance import chain
from compliance.buffer import AuditBuffer
from compliance.chain import drop_connection, fresh_connection
from compliance.metrics import BUFFER_DEPTH
from compliance.records import record_of
from compliance.stream import counter_key, encode
from proxy.redis_clients import async_client

log = logging.getLogger(__name__)

PROBE_INTERVAL = 1.0
RETRY_DELAY = 0.25
STOP_FLUSH_SECONDS = 10.0


class Sink(Protocol):
    backlog: int

    async def write(self, records: list[dict[str, Any]]) -> None: ...
    async def probe(self) -> None: ...
    async def close(self) -> None: ...


class StreamSink:
    def __init__(self, url: str, stream: str) -> None:
        self.client = async_client(url, timeout=2, connect_timeout=1)
        self.stream = stream
        self.counter = counter_key(stream)
        self.backlog = 0

    async def write(self, records: list[dict[str, Any]]) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.xadd(self.stream, encode(records))
        pipe.incrby(self.counter, len(records))
        _, self.backlog = await pipe.execute()

    async def probe(self) -> None:
        self.backlog = int(await self.client.get(self.counter) or 0)

    async def close(self) -> None:
        await self.client.aclose()


def _append_batch(records: list[dict[str, Any]]) -> None:
    fresh_connection()
    try:
        chain.append(records)
    except DatabaseError:
        drop_connection()
        raise


def _probe_database() -> None:
    fresh_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        drop_connection()
        raise


class DatabaseSink:
    """The embedded default: write batches into the chain from a worker thread."""

    backlog = 0

    async def write(self, records: list[dict[str, Any]]) -> None:
        await sync_to_async(_append_batch, thread_sensitive=False)(records)

    async def probe(self) -> None:
        await sync_to_async(_probe_database, thread_sensitive=False)()

    async def close(self) -> None:
        return None


class Drainer:
    def __init__(self, buffer: AuditBuffer, sink: Sink | None = None) -> None:
        self.buffer = buffer
        self.sink = sink
        self.batch_size = settings.GATEWAY_AUDIT_BATCH_SIZE
        self.interval = settings.GATEWAY_AUDIT_FLUSH_INTERVAL
        self.max_backlog = settings.GATEWAY_AUDIT_MAX_BACKLOG
        self.header_mode = settings.GATEWAY_AUDIT_HEADERS
        self.pseudonymize_ip = settings.GATEWAY_AUDIT_PSEUDONYMIZE_IP
        self.ok = True
        self.last_contact = 0.0
        self.pending: list[dict[str, Any]] | None = None
        self._failing = False

    def healthy(self) -> bool:
        sink = self.sink
        return self.ok and (sink is None or sink.backlog < self.max_backlog)

    def _make_sink(self) -> Sink:
        if settings.GATEWAY_AUDIT_REDIS_URL:
            return StreamSink(settings.GATEWAY_AUDIT_REDIS_URL, settings.GATEWAY_AUDIT_STREAM)
        return DatabaseSink()

    async def open(self) -> None:
        if self.sink is None:
            self.sink = self._make_sink()

    async def close(self) -> None:
        """Graceful shutdown, once ``run`` is stopped: flush what the buffer holds (bounded in time)."""
        deadline = time.monotonic() + STOP_FLUSH_SECONDS
        while (self.pending or len(self.buffer)) and time.monotonic() < deadline:
            if not await self.drain_once():
                await asyncio.sleep(RETRY_DELAY)
        left = len(self.buffer) + len(self.pending or ())
        if left:
            log.error("audit: %d record(s) could not be written before shutdown and are lost", left)
        if self.sink is not None:
            await self.sink.close()

    async def run(self) -> None:
        """For the life of the process (``compliance.apps`` starts it through the lifespan)."""
        while True:
            await asyncio.sleep(self.interval)
            if not await self.drain_once():
                await asyncio.sleep(RETRY_DELAY)
            elif not self.buffer and time.monotonic() - self.last_contact > PROBE_INTERVAL:
                await self._probe()

    async def drain_once(self) -> bool:
        """Send everything buffered, batch by batch; False when the durable path refused."""
        assert self.sink is not None
        buffer = self.buffer
        while self.pending or buffer:
            if self.pending is None:
                batch = buffer.take(self.batch_size)
                hm, ip = self.header_mode, self.pseudonymize_ip
                self.pending = [record_of(f, header_mode=hm, pseudonymize_ip=ip) for f in batch]
            try:
                await self.sink.write(self.pending)
            except Exception as exc:
                self._failed(exc)
                BUFFER_DEPTH.set(len(buffer) + len(self.pending))
                return False
            self.pending = None
            self._succeeded()
        BUFFER_DEPTH.set(0)
        return True

    async def _probe(self) -> None:
        assert self.sink is not None
        try:
            await self.sink.probe()
        except Exception as exc:
            self._failed(exc)
        else:
            self._succeeded()

    def _succeeded(self) -> None:
        self.ok = True
        self.last_contact = time.monotonic()
        if self._failing:
            self._failing = False
            log.warning("audit: the durable path accepts records again")

    def _failed(self, exc: BaseException) -> None:
        self.ok = False
        self.last_contact = time.monotonic()
        if not self._failing:
            self._failing = True
            log.error("audit: the durable path refused a batch (%r); keeping it in memory and retrying", exc)
