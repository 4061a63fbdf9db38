"""Open-loop load at a fixed rate (what wrk2 does; wrk2 is not in Debian).

Requests are sent at exactly ``--rate`` per second whether or not earlier ones have answered, over a pool of
keep-alive connections (a new one is opened when all are busy), and each latency is measured from the
request's *scheduled* send time, so a stalled server is not hidden by the client waiting on it (coordinated
omission). A separate thread keeps the schedule with ``time.sleep`` (microsecond timers) because event-loop
timers have millisecond granularity, which would add up to 1 ms to every latency.

    python bench/fixed_rate.py --port 8080 --rate 500 --duration 10 [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import math
import sys
import threading
import time
from collections import deque
from typing import Any, cast

import httptools

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is in uvicorn[standard]
    uvloop = None  # type: ignore[assignment]


PR_SET_TIMERSLACK = 29


class Connection(asyncio.Protocol):
    def __init__(self, load: Load) -> None:
        self.load = load
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.scheduled: float | None = None  # the request in flight, by its scheduled time

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's TCPTransport is not a subclass

    def send(self, scheduled: float) -> None:
        assert self.transport is not None
        self.scheduled = scheduled
        self.transport.write(self.load.request)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.fail()
            if self.transport is not None:
                self.transport.close()

    def on_message_complete(self) -> None:
        now = time.perf_counter()
        scheduled, self.scheduled = self.scheduled, None
        if scheduled is not None:
            self.load.done(scheduled, now, self.parser.get_status_code())
        if self.parser.should_keep_alive():
            self.load.release(self)
        elif self.transport is not None:
            self.transport.close()

    def fail(self) -> None:
        scheduled, self.scheduled = self.scheduled, None
        if scheduled is not None:
            self.load.done(scheduled, time.perf_counter(), 0)

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail()
        self.load.lost(self)


class Load:
    def __init__(self, host: str, port: int, path: str, max_connections: int) -> None:
        self.host, self.port = host, port
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: bench-fixed-rate\r\nAccept: */*\r\n\r\n"
        ).encode()
        self.max_connections = max_connections
        self.idle: list[Connection] = []
        self.backlog: deque[float] = deque()
        self.opened = 0
        self.peak = 0
        self.tasks: set[asyncio.Task[None]] = set()
        self.record_after = float("inf")
        self.latencies: list[float] = []
        self.lags: list[float] = []  # how late the schedule thread fired, for the report
        self.errors = 0
        self.outstanding = 0
        self.all_done = asyncio.Event()
        self.fired_all = False

    async def open(self) -> None:
        self.opened += 1
        self.peak = max(self.peak, self.opened)
        try:
            loop = asyncio.get_running_loop()
            _, conn = await loop.create_connection(lambda: Connection(self), self.host, self.port)
        except OSError:
            self.opened -= 1
            if self.backlog:  # nothing to send on: count the waiting request as failed
                self.done(self.backlog.popleft(), time.perf_counter(), 0)
            return
        self.release(conn)

    def fire(self, scheduled: float) -> None:
        self.outstanding += 1
        if scheduled >= self.record_after:
            self.lags.append(time.perf_counter() - scheduled)
        if self.idle:
            self.idle.pop().send(scheduled)
            return
        self.backlog.append(scheduled)
        if self.opened < self.max_connections:
            self._open_later()

    def _open_later(self) -> None:
        task = asyncio.ensure_future(self.open())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def release(self, conn: Connection) -> None:
        if conn.transport is None or conn.transport.is_closing():
            return
        if self.backlog:
            conn.send(self.backlog.popleft())
        else:
            self.idle.append(conn)

    def lost(self, conn: Connection) -> None:
        self.opened -= 1
        if conn in self.idle:
            self.idle.remove(conn)
        if self.backlog and self.opened < self.max_connections:
            self._open_later()

    def done(self, scheduled: float, now: float, status: int) -> None:
        self.outstanding -= 1
        if scheduled >= self.record_after:
            if 200 <= status < 400:
                self.latencies.append(now - scheduled)
            else:
                self.errors += 1
        if self.fired_all and self.outstanding == 0:
            self.all_done.set()


def _schedule(loop: asyncio.AbstractEventLoop, load: Load, start: float, rate: float, total: int) -> None:
    with contextlib.suppress(OSError, AttributeError):  # Linux: sleep with 1 µs slack, not the default 50 µs
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_TIMERSLACK, 1000, 0, 0, 0)
    for i in range(total):
        target = start + i / rate
        delay = target - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        loop.call_soon_threadsafe(load.fire, target)
    loop.call_soon_threadsafe(_fired_all, load)


def _fired_all(load: Load) -> None:
    load.fired_all = True
    if load.outstanding == 0:
        load.all_done.set()


def percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, math.ceil(pct / 100 * len(sorted_values)) - 1))  # nearest rank
    return sorted_values[index]


async def measure(
    host: str, port: int, path: str, rate: float, duration: float, warmup: float, connections: int
) -> dict[str, Any]:
    load = Load(host, port, path, max_connections=1024)
    await asyncio.gather(*(load.open() for _ in range(connections)))
    if not load.idle:
        raise SystemExit(f"cannot connect to {host}:{port}")
    start = time.perf_counter() + 0.05
    load.record_after = start + warmup
    total = round((warmup + duration) * rate)
    loop = asyncio.get_running_loop()
    thread = threading.Thread(target=_schedule, args=(loop, load, start, rate, total), daemon=True)
    thread.start()
    timed_out = 0
    try:
        await asyncio.wait_for(load.all_done.wait(), timeout=warmup + duration + 30)
    except TimeoutError:
        timed_out = load.outstanding
    lat = sorted(x * 1000 for x in load.latencies)
    lags = sorted(x * 1000 for x in load.lags)
    return {
        "rate": rate,
        "duration": duration,
        "sent": round(duration * rate),
        "completed": len(lat),
        "errors": load.errors + timed_out,
        "connections_peak": load.peak,
        "p50_ms": percentile(lat, 50),
        "p90_ms": percentile(lat, 90),
        "p99_ms": percentile(lat, 99),
        "p999_ms": percentile(lat, 99.9),
        "max_ms": lat[-1] if lat else float("nan"),
        "schedule_lag_p50_ms": percentile(lags, 50),
        "schedule_lag_p99_ms": percentile(lags, 99),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/")
    parser.add_argument("--rate", type=float, default=500.0, help="requests per second (default 500)")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds (default 10)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds at the same rate, not recorded")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections opened up front")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    sys.setswitchinterval(0.0005)  # let the schedule thread take the GIL promptly
    coro = measure(args.host, args.port, args.path, args.rate, args.duration, args.warmup, args.connections)
    result = uvloop.run(coro) if uvloop is not None else asyncio.run(coro)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>22}: {value:.3f}" if isinstance(value, float) else f"{key:>22}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
