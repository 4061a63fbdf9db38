"""The per-process drainer: keeps the spool ready, synced and (with a stream) shipped, off the request
path.

Every ``GATEWAY_AUDIT_FLUSH_INTERVAL`` seconds it moves records waiting in the memory bridge into the
spool, makes the next segment ahead of need (in a thread), releases segments shipped to their end,
and every ``GATEWAY_AUDIT_SPOOL_FSYNC_INTERVAL`` syncs what was written (in a thread).

With a stream (``GATEWAY_AUDIT_REDIS_URL``, default ``REDIS_URL``) the process ships its own spool:
each batch is one pipelined round trip (XADD of the records as they are in the spool, INCRBY of the
backlog counter, which also tells the backlog), and the segment's ``shipped`` mark moves after Redis
accepted it. Redis down, or a backlog over ``GATEWAY_AUDIT_MAX_BACKLOG``: records wait in the spool,
in order, and go when the path is back. Once a second it also ships the spools of processes that
died on this host (a restart after SIGKILL replays them).

Without a stream (the embedded default) the process never writes the chain: ``manage.py
audit_worker`` (started by ``make run``) ships every spool into it (``compliance.spool_drain``).
"""

from __future__ import annotations

import asyncio
import logging
import time

from django.conf import settings

from compliance.buffer import RESERVE_BYTES, MemoryBridge
from compliance.metrics import BUFFER_DEPTH, SPOOL_BYTES, SPOOL_FULL
from compliance.spool import Segment, SpoolWriter
from compliance.spool_drain import ship_spools, stream_writer
from compliance.stream import APPEND, counter_key, encode_raw
from proxy.redis_clients import async_client, sync_client

log = logging.getLogger(__name__)

PROBE_INTERVAL = 1.0
ADOPT_INTERVAL = 1.0
STOP_FLUSH_SECONDS = 10.0


class StreamSink:
    def __init__(self, url: str, stream: str) -> None:
        self.client = async_client(url, timeout=2, connect_timeout=1)
        self.stream = stream
        self.counter = counter_key(stream)
        self._append = self.client.register_script(APPEND)
        self.backlog = 0

    async def write(self, payloads: list[bytes]) -> None:
        entry = encode_raw(payloads)
        self.backlog = int(await self._append(keys=[self.stream, self.counter], args=[entry["n"], entry["r"]]))

    async def probe(self) -> None:
        self.backlog = int(await self.client.get(self.counter) or 0)

    async def close(self) -> None:
        await self.client.aclose()


class Drainer:
    def __init__(self, spool: SpoolWriter, bridge: MemoryBridge, sink: StreamSink | None = None) -> None:
        self.spool = spool
        self.bridge = bridge
        self.sink = sink
        self.batch_size = settings.GATEWAY_AUDIT_BATCH_SIZE
        self.interval = settings.GATEWAY_AUDIT_FLUSH_INTERVAL
        self.sync_interval = settings.GATEWAY_AUDIT_SPOOL_FSYNC_INTERVAL
        self.max_backlog = settings.GATEWAY_AUDIT_MAX_BACKLOG
        self.ok = True
        self.last_contact = 0.0
        self._last_sync = 0.0
        self._last_adopt = 0.0
        self._failing = False

    # --- life -----------------------------------------------------------------------------------

    async def open(self) -> None:
        try:
            await asyncio.to_thread(self.spool.open)
        except OSError as exc:
            # Every record then waits in memory (PHI routes refuse): loud, but the gateway serves.
            log.error("audit spool %s cannot be opened (%s): records stay in memory", self.spool.directory, exc)
        if self.sink is None and settings.GATEWAY_AUDIT_REDIS_URL:
            self.sink = StreamSink(settings.GATEWAY_AUDIT_REDIS_URL, settings.GATEWAY_AUDIT_STREAM)
        if self.sink is not None and self.spool.owner_fd is not None:
            await asyncio.to_thread(self.spool.own_reader_lock)

    async def run(self) -> None:
        """For the life of the process (``compliance.apps`` starts it through the lifespan)."""
        while True:
            await asyncio.sleep(self.interval)
            await self.tick()

    async def close(self) -> None:
        """Graceful shutdown, once ``run`` is stopped: everything into the spool, ship what the path
        takes (bounded in time), then seal the spool; what is left there is replayed later."""
        deadline = time.monotonic() + STOP_FLUSH_SECONDS
        while time.monotonic() < deadline:
            await self._fill()
            shipped = await self.ship() if self.sink is not None else True
            if not self.bridge and (self.sink is None or (shipped and not self.spool.pending_bytes())):
                break
            await asyncio.sleep(0.1)
        if self.bridge:
            log.error("audit: %d record(s) still in memory at shutdown are lost", len(self.bridge))
        left = self.spool.pending_bytes()
        await asyncio.to_thread(self.spool.close)
        if left and self.sink is not None:
            log.warning("audit: %d bytes of records stay in the spool, shipped after a restart", left)
        if self.sink is not None:
            await self.sink.close()

    # --- one round ------------------------------------------------------------------------------

    async def tick(self) -> None:
        await self._fill()
        if self.sink is not None:
            if self.sink.backlog < self.max_backlog:
                await self.ship()
            elif time.monotonic() - self.last_contact > PROBE_INTERVAL:
                await self._probe()  # the audit worker catches up: records wait in the spool
            if time.monotonic() - self._last_adopt > ADOPT_INTERVAL:
                self._last_adopt = time.monotonic()
                await asyncio.to_thread(self._adopt_orphans)
        self.spool.release_shipped()
        now = time.monotonic()
        if now - self._last_sync >= self.sync_interval:
            self._last_sync = now
            await asyncio.to_thread(self.spool.sync)
        self._report()

    async def _fill(self) -> None:
        """Records waiting in memory go into the spool, in order; the next segment is made ahead."""
        spool, bridge = self.spool, self.bridge
        while bridge.items and spool.append(bridge.items[0]):
            bridge.items.popleft()
        if spool.current is not None and spool.spare is None:
            made = await asyncio.to_thread(spool.make_spare)
            if made:
                while bridge.items and spool.append(bridge.items[0]):
                    bridge.items.popleft()

    async def ship(self) -> bool:
        """Send this process's spool past its marks, oldest segment first; False when refused."""
        assert self.sink is not None
        segments: list[Segment] = [*self.spool.sealed, *((self.spool.current,) if self.spool.current else ())]
        for segment in segments:
            offset = segment.shipped
            while True:
                payloads, after, _ = segment.read(offset, self.batch_size)
                if not payloads:
                    break
                try:
                    await self.sink.write(payloads)
                except Exception as exc:
                    self._failed(exc)
                    return False
                segment.set_shipped(after)
                offset = after
                self._succeeded()
        if time.monotonic() - self.last_contact > PROBE_INTERVAL:
            await self._probe()  # idle: learn the backlog, and whether Redis is back
        return self.ok

    def _adopt_orphans(self) -> None:
        """Spools of processes that died on this host, into the stream (runs in a thread)."""
        try:
            with sync_client(settings.GATEWAY_AUDIT_REDIS_URL, timeout=2, connect_timeout=1) as client:
                write = stream_writer(client, settings.GATEWAY_AUDIT_STREAM)
                done = ship_spools(self.spool.directory, write, skip=self.spool.owner, dead_only=True)
        except Exception as exc:
            log.warning("audit: spools of stopped processes not shipped yet (%r)", exc)
            return
        if done.records:
            log.warning("audit: replayed %d record(s) from %d stopped process(es)", done.records, len(done.spools))

    async def _probe(self) -> None:
        assert self.sink is not None
        try:
            await self.sink.probe()
        except Exception as exc:
            self._failed(exc)
        else:
            self._succeeded()

    def _report(self) -> None:
        spool = self.spool
        BUFFER_DEPTH.set(len(self.bridge))
        SPOOL_BYTES.set(spool.pending_bytes())
        SPOOL_FULL.set(1 if self.full() else 0)

    def full(self) -> bool:
        """No room left for a PHI request's record, counting the segments the spool may still make."""
        return self.spool.capacity() - self.bridge.reserved_bytes < RESERVE_BYTES

    def _succeeded(self) -> None:
        self.ok = True
        self.last_contact = time.monotonic()
        if self._failing:
            self._failing = False
            log.warning("audit: the audit stream accepts records again; shipping the spool")

    def _failed(self, exc: BaseException) -> None:
        self.ok = False
        self.last_contact = time.monotonic()
        if not self._failing:
            self._failing = True
            log.error("audit: the audit stream refused a batch (%r); records wait in the spool", exc)
