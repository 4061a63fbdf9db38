"""What a write costs the response cache (invalidation after an unsafe method, RFC 9111 4.4), in-process:
the cache step in front of a no-op backend, no HTTP, the real Redis when ``REDIS_URL`` is set. Not part
of ``make bench``.

    REDIS_URL=redis://127.0.0.1:6379/15 python bench/invalidation_cost.py [--calls 20000] [--concurrency 32]

Rows, each in microseconds per request, wall time and this process's CPU time, one request at a time
(``seq``) and ``--concurrency`` at once (``par``: what a busy process does, the pipelined connection
carrying many invalidations per write):

- ``bypass``: OPTIONS, the path every unsafe method took before invalidation (backend, headers);
- ``write``: POST answered 201, its path invalidated (one awaited EVALSHA);
- ``write_location``: the same with a Location on this host (two paths, still one EVALSHA);
- ``write_error``: POST answered 409 (nothing invalidated: the cost of looking);
- ``memory_write``: ``write`` on the in-memory store (the embedded default);
- ``miss_store``: GET of a new path each time, answered 200 ``max-age=60`` and stored: what the
  per-path index (``gwc-uri:``) and the write fence (``gwc-gone:``) add to every fill
  (``--only-reads`` runs just this row, so it can be timed against an older checkout too).

The extra cost of a write is ``write`` minus ``bypass``. It writes keys under ``gwc:r1:/bench-inv/``,
``gwc-uri:/bench-inv/`` and ``gwc-gone:/bench-inv/``, all expiring within a minute: use a Redis
database of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def exchange(method: str, path: str) -> Any:
    from proxy.exchange import Exchange

    return Exchange(
        scope={}, receive=None, method=method, path=path, query=b"", host="gw", scheme="http",  # type: ignore[arg-type]
        client_ip="127.0.0.1", request_id="r", headers=[(b"content-type", b"application/json")],
        route=None, upstream_path=path, content_length=2, chunked=False,  # type: ignore[arg-type]
        body_limit=1 << 20, started=0.0,
    )  # fmt: skip


def backend(status: int, headers: list[tuple[bytes, bytes]]) -> Any:
    from proxy.exchange import Response

    async def answer(exchange: Any) -> Any:
        return Response(status, list(headers), b"{}")

    return answer


def measure(calls: int, concurrency: int, only_reads: bool = False) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings")
    import django

    from gateway_project.bootstrap import prepare

    prepare()
    django.setup()
    from cache import keys
    from cache.compile import CacheSpec
    from cache.policies import CachePolicy
    from cache.stores import MemoryStore, RedisStore
    from proxy.specs import RouteSpec, ServiceSpec

    service = ServiceSpec(1, "bench", "Bench", "http", "", 1.0, 1.0, 0, "round_robin", False, ())
    route = RouteSpec(1, "bench-inv", service, "/bench-inv", "", None, True, 0, "", False, False, 1 << 20)
    spec = CacheSpec(
        keys.route_key(1), 60.0, 1 << 20, frozenset({"GET", "HEAD"}), frozenset({200}), (),
        frozenset(), (), False, False, 0.0,
    )  # fmt: skip
    url = os.environ.get("REDIS_URL", "")

    async def run() -> dict[str, Any]:
        results: dict[str, Any] = {"calls": calls, "concurrency": concurrency, "redis": bool(url)}
        rows: list[tuple[str, Any, str, str, Any]] = [
            ("memory_write", MemoryStore(1 << 26), "POST", "/bench-inv/o/1", backend(201, []))
        ]
        if url:
            store = RedisStore(url, 1.0, 1.0, 10_000, 4096)
            await store.connect()
            located = backend(201, [(b"location", b"/bench-inv/orders/2")])
            rows = [
                ("bypass", store, "OPTIONS", "/bench-inv/orders", backend(200, [])),
                ("write", store, "POST", "/bench-inv/orders", backend(201, [])),
                ("write_location", store, "POST", "/bench-inv/orders", located),
                ("write_error", store, "POST", "/bench-inv/orders", backend(409, [])),
                *rows,
            ]  # fmt: skip
            fresh = backend(200, [(b"cache-control", b"max-age=60")])
            rows.append(("miss_store", store, "GET", "", fresh))
            if only_reads:
                rows = rows[-1:]
        for name, store_, method, path, answer in rows:
            policy = CachePolicy(spec, route, store_)
            results[name] = await _time(policy, method, path, answer, calls, concurrency)
        if url:
            await store.close()
        return results

    return asyncio.run(run())


async def _time(policy: Any, method: str, path: str, answer: Any, calls: int, concurrency: int) -> dict[str, float]:
    paths = (f"/bench-inv/new/{os.getpid()}/{n}" for n in itertools.count()) if not path else itertools.repeat(path)
    for _ in range(500):
        await policy(exchange(method, next(paths)), answer)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        await policy(exchange(method, next(paths)), answer)
    seq_wall, seq_cpu = time.perf_counter() - wall, time.process_time() - cpu
    batches = max(1, calls // concurrency)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(batches):
        await asyncio.gather(*(policy(exchange(method, next(paths)), answer) for _ in range(concurrency)))
    par_wall, par_cpu = time.perf_counter() - wall, time.process_time() - cpu
    done = batches * concurrency
    return {
        "seq_wall_us": round(seq_wall / calls * 1e6, 1),
        "seq_cpu_us": round(seq_cpu / calls * 1e6, 1),
        "par_wall_us": round(par_wall / done * 1e6, 1),
        "par_cpu_us": round(par_cpu / done * 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--only-reads", action="store_true")
    args = parser.parse_args()
    print(json.dumps(measure(args.calls, args.concurrency, args.only_reads), indent=1))


if __name__ == "__main__":
    main()
