"""Interleaved A/B of the upstream client: this checkout's gateway against another checkout's (the
aiohttp client of the main branch), plus the two reference proxies (`bare_proxy`: aiohttp,
`raw_proxy`: ``proxy.client``), all forwarding to the same nginx (`make bench-client`).

Each round runs wrk on the no-policy route of each server in turn; the ratios are taken within a
round, so a shared machine's drift lands on both sides. Every server is warmed before round 1.

Environment: AB_OTHER (the other checkout, default /work/main), AB_ROUNDS (default 4), AB_DURATION
(seconds per wrk run, default 5).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import servers
from bench.processes import Processes, cpu_seconds
from bench.tools import ensure_system_tools
from bench.wrk import run_wrk

OTHER = Path(os.environ.get("AB_OTHER", "/work/main"))
ROUNDS = int(os.environ.get("AB_ROUNDS", "4"))
DURATION = float(os.environ.get("AB_DURATION", "5"))


def _run(procs: Processes, wrk: str, server: servers.Server) -> tuple[float, float]:
    before = cpu_seconds(server.proc.pid)
    result = run_wrk(procs, wrk, f"http://127.0.0.1:{server.port}/", duration=DURATION, connections=32)
    used = cpu_seconds(server.proc.pid) - before
    if result.non_2xx or result.socket_errors:
        raise RuntimeError(f"{server.name}: {result.problems}")
    return result.rps, used / max(result.requests, 1) * 1e6


def main() -> None:
    wrk, nginx, _ = ensure_system_tools()
    procs = Processes()
    tmp = Path(tempfile.mkdtemp(prefix="gateway-client-ab-"))
    try:
        upstream = (
            servers.start_nginx(procs, nginx, tmp, "upstream") if nginx else servers.start_python_upstream(procs, tmp)
        )
        servers.prepare_gateway(procs, tmp, upstream.port)
        rows = {
            "gateway, proxy.client": servers.start_gateway(procs, tmp, 1),
            f"gateway, aiohttp ({OTHER})": servers.start_gateway(procs, tmp, 1, root=OTHER),
            "raw_proxy (proxy.client)": servers.start_asgi_proxy(procs, tmp, "bench.raw_proxy:app", upstream.port),
            "bare_proxy (aiohttp)": servers.start_asgi_proxy(procs, tmp, "bench.bare_proxy:app", upstream.port),
        }
        for server in rows.values():
            run_wrk(procs, wrk, f"http://127.0.0.1:{server.port}/", duration=3, connections=32)
        rps: dict[str, list[float]] = {name: [] for name in rows}
        cpu: dict[str, list[float]] = {name: [] for name in rows}
        for round_no in range(1, ROUNDS + 1):
            for name, server in rows.items():
                r, c = _run(procs, wrk, server)
                rps[name].append(r)
                cpu[name].append(c)
            print(f"round {round_no}: " + ", ".join(f"{n} {rps[n][-1]:.0f}/s {cpu[n][-1]:.0f} µs" for n in rows))
        names = list(rows)
        print(f"\n{ROUNDS} rounds of {DURATION:g} s (wrk -c32), in turn within each round:")
        for name in names:
            print(f"- {name}: {statistics.mean(rps[name]):.0f} req/s, {statistics.mean(cpu[name]):.0f} CPU µs/request")
        pairs = [(names[0], names[1]), (names[2], names[3]), (names[0], names[2]), (names[1], names[3])]
        for a, b in pairs:
            cpu_ratios = [x / y for x, y in zip(cpu[a], cpu[b], strict=True)]
            rps_ratios = [x / y for x, y in zip(rps[a], rps[b], strict=True)]
            print(
                f"- {a} / {b}: CPU per request {statistics.mean(cpu_ratios):.2f}x "
                f"(rounds {min(cpu_ratios):.2f}-{max(cpu_ratios):.2f}), req/s {statistics.mean(rps_ratios):.2f}x "
                f"(rounds {min(rps_ratios):.2f}-{max(rps_ratios):.2f})"
            )
    finally:
        procs.stop_all()


if __name__ == "__main__":
    main()
