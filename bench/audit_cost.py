"""In-process cost of the traffic audit per request: the witness on the request path (the redacted
record, its JSON and the copy into the memory-mapped spool), the drainer's reading back and shipping
(Redis stream batch), and, in the audit worker's process, the chain write. No servers needed beyond
the configured database (and Redis for the stream row). Times are this process's CPU time, so a
busy shared machine skews them less than wall-clock time would.

    GATEWAY_VAR_DIR=... [DATABASE_URL=...] [REDIS_URL=...] python bench/audit_cost.py
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
N = 20_000
BATCH = 500


def _finished() -> Any:
    from compliance.redaction import DEFAULT  # noqa: F401
    from proxy.observe import Finished

    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"user-agent", b"wrk/4.2"),
        (b"accept", b"*/*"),
        (b"authorization", b"Bearer abc.def.ghi"),
        (b"x-request-id", b"0123456789abcdef"),
        (b"accept-encoding", b"gzip"),
    ]
    return Finished(
        kind="http",
        request_id="0123456789abcdef",
        at=time.time(),
        duration=0.0021,
        method="GET",
        path="/audit/items/42",
        query=b"page=2&size=10",
        scope={"headers": headers},
        client_address="127.0.0.1",
        status=200,
        error_reason=None,
        bytes_in=0,
        bytes_out=512,
        complete=True,
        upstream_seconds=0.0015,
    )


def _per(label: str, seconds: float, count: int) -> None:
    print(f"{label:<58} {seconds / count * 1e6:8.2f} CPU µs/request")


def main() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings")
    import django

    from gateway_project.bootstrap import prepare

    prepare()
    django.setup()
    import tempfile

    from django.conf import settings

    from compliance import capture, records
    from compliance.spool import SpoolWriter
    from compliance.spool_drain import chain_writer
    from compliance.stream import encode_raw

    finished = _finished()
    records.set_current(records.AuditSettings())
    spool = SpoolWriter(Path(tempfile.mkdtemp(prefix="audit-cost-")), 64 * 1024 * 1024, 1024 * 1024 * 1024)
    spool.open()
    capture.spool = spool  # the observer's module-level spool, here a temporary one
    started = time.process_time()
    for _ in range(N):
        capture.observe_request(finished)
    _per("witness: record + JSON + copy into the spool (hot path)", time.process_time() - started, N)
    assert not capture.bridge.items, "the spool overflowed: make the segment larger"

    current = spool.current
    assert current is not None
    started = time.process_time()
    payloads: list[bytes] = []
    offset = current.shipped
    while True:
        batch, offset, _ = current.read(offset, BATCH)
        if not batch:
            break
        payloads += batch
    _per("drainer: read the spool back", time.process_time() - started, N)

    started = time.process_time()
    for i in range(0, N, BATCH):
        encode_raw(payloads[i : i + BATCH])
    _per("drainer: stream entry from spool payloads", time.process_time() - started, N)

    if settings.REDIS_URL:
        from compliance.drain import StreamSink

        async def push() -> float:
            sink = StreamSink(settings.REDIS_URL, "bench:audit:cost")
            t0 = time.process_time()
            for i in range(0, N, BATCH):
                await sink.write(payloads[i : i + BATCH])
            took = time.process_time() - t0
            await sink.client.delete("bench:audit:cost", "bench:audit:cost:records")
            await sink.close()
            return took

        _per("drainer: XADD + INCRBY pipeline", asyncio.run(push()), N)

    # Off the gateway process: what the audit worker pays to write spool payloads into the chain.
    spool.close()
    count = min(N, 5000)
    write = chain_writer()
    started = time.process_time()
    for i in range(0, count, BATCH):
        write(payloads[i : i + BATCH])
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    _per(f"audit worker: spool payloads -> chain ({engine})", time.process_time() - started, count)


if __name__ == "__main__":
    main()
