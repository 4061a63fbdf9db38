"""In-process cost of the traffic audit per request: the observer, the record conversion in the
drainer, and the durable write (Redis stream batch, or the embedded chain write). No servers needed
beyond the configured database (and Redis for the stream row).

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
    print(f"{label:<52} {seconds / count * 1e6:8.2f} µs/request")


def main() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings")
    import django

    from gateway_project.bootstrap import prepare

    prepare()
    django.setup()
    from django.conf import settings

    from compliance import capture, chain
    from compliance.records import record_of
    from compliance.stream import encode

    finished = _finished()
    buffer = capture.buffer
    started = time.perf_counter()
    for _ in range(N):
        capture.observe_request(finished)
    _per("observer (append to the bounded buffer)", time.perf_counter() - started, N)
    buffer.items.clear()

    started = time.perf_counter()
    records = [record_of(finished) for _ in range(N)]
    _per("drainer: Finished -> redacted record", time.perf_counter() - started, N)

    started = time.perf_counter()
    for i in range(0, N, BATCH):
        encode(records[i : i + BATCH])
    _per("drainer: batch JSON for the stream", time.perf_counter() - started, N)

    if settings.REDIS_URL:
        from compliance.drain import StreamSink

        async def push() -> float:
            sink = StreamSink(settings.REDIS_URL, "bench:audit:cost")
            t0 = time.perf_counter()
            for i in range(0, N, BATCH):
                await sink.write(records[i : i + BATCH])
            took = time.perf_counter() - t0
            await sink.client.delete("bench:audit:cost", "bench:audit:cost:records")
            await sink.close()
            return took

        _per("drainer: XADD + INCRBY pipeline (incl. JSON)", asyncio.run(push()), N)

    count = min(N, 5000)
    started = time.perf_counter()
    for i in range(0, count, BATCH):
        chain.append(records[i : i + BATCH])
    _per(f"chain.append ({settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, HMAC + insert)",
         time.perf_counter() - started, count)  # fmt: skip


if __name__ == "__main__":
    main()
