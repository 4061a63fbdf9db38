"""The Redis stream of audit batches: what gateway processes add and the audit worker consumes.

Each stream entry is one drained batch: ``n`` (record count) and ``r`` (the records as JSON). The
counter key ``<stream>:records`` holds the records added and not yet written to the chain, so the
gateway learns the backlog in the same round trip as its XADD, and the worker reports it.

The worker (``StreamConsumer``) reads with a consumer group: its own pending entries first (left
by a failed insert), then entries stuck with a dead consumer (XAUTOCLAIM), then new ones. It
acknowledges (and deletes) entries only after ``chain.append`` committed; a redelivered batch is
harmless because ``append`` skips records whose ``event_id`` is already stored.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from typing import Any

from django.db import DatabaseError

from compliance import chain
from compliance.chain import drop_connection, fresh_connection
from compliance.metrics import BACKLOG

log = logging.getLogger(__name__)

GROUP = "audit-writers"
CLAIM_IDLE_MS = 60_000

# Acknowledge, delete and uncount the entries one call confirmed, each once (a redelivered entry
# acknowledged by another consumer first is not uncounted twice).
ACK = """
local done = 0
for i = 2, #ARGV - 1, 2 do
  if redis.call('XACK', KEYS[1], ARGV[1], ARGV[i]) == 1 then
    redis.call('XDEL', KEYS[1], ARGV[i])
    done = done + tonumber(ARGV[i + 1])
  end
end
local left = redis.call('DECRBY', KEYS[2], done)
if left < 0 then redis.call('SET', KEYS[2], 0); left = 0 end
return left
"""


# Append one entry and count its records, atomically, in one round trip: KEYS stream, counter; ARGV
# records, payload. (A script rather than MULTI: redis-py's asyncio cluster pipeline fails on MULTI.)
APPEND = """
redis.call('XADD', KEYS[1], '*', 'n', ARGV[1], 'r', ARGV[2])
return redis.call('INCRBY', KEYS[2], ARGV[1])
"""


def counter_key(stream: str) -> str:
    """The stream's record count, in the stream's Redis Cluster slot (a hash tag of the stream's name,
    or its own tag when it has one), so one transaction or script may write both."""
    if (start := stream.find("{")) >= 0 and stream.find("}", start + 1) > start + 1:
        return f"{stream}:records"
    return f"{{{stream}}}:records"


def encode(records: list[dict[str, Any]]) -> dict[Any, Any]:
    return {"n": len(records), "r": json.dumps(records, separators=(",", ":"))}


def encode_raw(payloads: list[bytes]) -> dict[Any, Any]:
    """The same entry from records already JSON (spool payloads): no second serialisation."""
    return {"n": len(payloads), "r": b"[" + b",".join(payloads) + b"]"}


class StreamConsumer:
    def __init__(self, client: Any, stream: str, consumer: str | None = None, count: int = 20) -> None:
        self.client = client
        self.stream = stream
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self.count = count
        self._ack = client.register_script(ACK)
        self._group_ready = False

    def ensure_group(self) -> None:
        import redis

        if self._group_ready:
            return
        try:
            self.client.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def _read(self, block_ms: int) -> list[tuple[Any, dict[Any, Any]]]:
        self.ensure_group()
        streams = {self.stream: "0"}  # this consumer's own unacknowledged entries first
        mine = self.client.xreadgroup(GROUP, self.consumer, streams, count=self.count)
        entries = mine[0][1] if mine else []
        entries = [e for e in entries if e[1]]  # deleted entries come back with no fields
        if entries:
            return entries
        claimed = self.client.xautoclaim(self.stream, GROUP, self.consumer, CLAIM_IDLE_MS, "0-0", count=self.count)
        entries = [e for e in claimed[1] if e[1]] if claimed else []
        if entries:
            return entries
        fresh = self.client.xreadgroup(GROUP, self.consumer, {self.stream: ">"}, count=self.count, block=block_ms)
        return fresh[0][1] if fresh else []

    def run_once(self, block_ms: int = 1000) -> int:
        """Write one read of entries to the chain; return the records written (0 when idle).

        Raises on Redis or database errors, leaving the entries pending for the next try."""
        entries = self._read(block_ms)
        if not entries:
            self._report_backlog()
            return 0
        records: list[dict[str, Any]] = []
        for _, fields in entries:
            records.extend(json.loads(fields[b"r"]))
        fresh_connection()
        try:
            chain.append(records)
        except DatabaseError:
            drop_connection()  # the next try opens a fresh connection
            raise
        args: list[Any] = [GROUP]
        for entry_id, fields in entries:
            args += [entry_id, int(fields[b"n"])]
        left = self._ack(keys=[self.stream, counter_key(self.stream)], args=args)
        BACKLOG.set(int(left))
        return len(records)

    def _report_backlog(self) -> None:
        left = self.client.get(counter_key(self.stream))
        BACKLOG.set(int(left or 0))

    def drain(self, max_seconds: float = 50.0) -> int:
        """Write everything there is (the Celery safety net); stop when idle or after ``max_seconds``."""
        written, deadline = 0, time.monotonic() + max_seconds
        while time.monotonic() < deadline:
            done = self.run_once(block_ms=10 if written else 100)
            if not done:
                break
            written += done
        return written

    def run_forever(self, should_stop: Any = lambda: False) -> None:
        """The audit worker's loop: retries (with backoff) whatever Redis or Postgres refuse."""
        delay = 0.2
        failing = False
        while not should_stop():
            try:
                self.run_once()
                delay = 0.2
                if failing:
                    log.warning("audit worker recovered: writing to the audit chain again")
                    failing = False
            except Exception as exc:  # Redis or Postgres down: the entries stay pending in the stream
                if not failing:
                    log.error("audit worker cannot write (%r); retrying, entries stay pending in the stream", exc)
                    failing = True
                self._group_ready = False
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
