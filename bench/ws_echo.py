"""WebSocket echo round trips per second: the bench's WebSocket upstream and its client.

    python bench/ws_echo.py serve --port 9001
    python bench/ws_echo.py measure ws://127.0.0.1:8000/ws-echo --connections 16 --duration 5 --json

``measure`` opens ``--connections`` WebSockets and on each sends a 100-byte text message and waits
for its echo, over and over, for ``--duration`` seconds (after ``--warmup``); it prints round trips
per second and the round-trip latency (p50, p99). Every echo is checked: a lost, changed or
reordered message fails the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

PAYLOAD = "x" * 92


async def _echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


async def run_server(port: int) -> None:
    async with serve(_echo, "127.0.0.1", port, compression=None, ping_interval=None, max_size=2**20):
        print(f"ws echo on 127.0.0.1:{port}", flush=True)
        await asyncio.Future()


async def _client(url: str, until: float, measure_from: float, latencies: list[float]) -> int:
    count = 0
    async with connect(url, compression=None, ping_interval=None, open_timeout=10) as ws:
        while True:
            now = time.perf_counter()
            if now >= until:
                return count
            message = f"{count:08d}{PAYLOAD}"
            await ws.send(message)
            if await ws.recv() != message:
                raise RuntimeError("an echo was lost, changed or reordered")
            if now >= measure_from:
                latencies.append(time.perf_counter() - now)
                count += 1


async def measure(url: str, connections: int, duration: float, warmup: float) -> dict[str, float]:
    start = time.perf_counter()
    measure_from, until = start + warmup, start + warmup + duration
    latencies: list[float] = []
    counts = await asyncio.gather(*(_client(url, until, measure_from, latencies) for _ in range(connections)))
    latencies.sort()
    total = sum(counts)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000 if latencies else 0.0

    return {
        "round_trips_per_s": total / duration,
        "round_trips": total,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "connections": connections,
        "duration": duration,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    srv = sub.add_parser("serve")
    srv.add_argument("--port", type=int, required=True)
    cli = sub.add_parser("measure")
    cli.add_argument("url")
    cli.add_argument("--connections", type=int, default=16)
    cli.add_argument("--duration", type=float, default=5.0)
    cli.add_argument("--warmup", type=float, default=1.0)
    cli.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    if args.command == "serve":
        asyncio.run(run_server(args.port))
        return 0
    result = asyncio.run(measure(args.url, args.connections, args.duration, args.warmup))
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{result['round_trips_per_s']:,.0f} round trips/s over {args.connections} connections, "
            f"p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
