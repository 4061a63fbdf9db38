"""Interleaved A/B rounds for the policy and metrics targets (`make bench-ab`).

`make bench` measures each policy row once, one after another, so slow drift of a shared machine lands
on whichever row runs at the time (the first row of a fresh process also runs colder). This script
starts the same servers as `make bench` (nginx upstream, the bench's redis-server, one gateway with
metrics on and one with GATEWAY_METRICS=0) and alternates short wrk runs: the no-policy route, then
each policy route, for several rounds; and metrics on, then metrics off. It prints the mean share of
each against its reference, with the spread between rounds, and the CPU per request of each.

Environment: AB_ROUNDS (default 4), AB_DURATION (seconds per wrk run, default 5), AB_ROUTES (comma-separated
policy rows to include, default all; empty: metrics on/off only).
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

ROUNDS = int(os.environ.get("AB_ROUNDS", "4"))
DURATION = float(os.environ.get("AB_DURATION", "5"))
ALL_ROUTES = "ratelimit,ratelimit3,audit,api_key,jwt,breaker,edge"
ROUTES = tuple(r for r in os.environ.get("AB_ROUTES", ALL_ROUTES).split(",") if r)


def _run(procs: Processes, wrk: str, server: servers.Server, path: str, headers: dict[str, str]) -> tuple[float, float]:
    before = cpu_seconds(server.proc.pid)
    result = run_wrk(
        procs, wrk, f"http://127.0.0.1:{server.port}{path}", duration=DURATION, connections=32, headers=headers
    )
    used = cpu_seconds(server.proc.pid) - before
    if result.non_2xx or result.socket_errors:
        raise RuntimeError(f"{path}: {result.problems}")
    return result.rps, used / max(result.requests, 1) * 1e6


def main() -> None:
    wrk, nginx, _ = ensure_system_tools()
    procs = Processes()
    tmp = Path(tempfile.mkdtemp(prefix="gateway-ab-"))
    try:
        upstream = (
            servers.start_nginx(procs, nginx, tmp, "upstream") if nginx else servers.start_python_upstream(procs, tmp)
        )
        redis = servers.start_redis(procs, tmp)
        redis_url = f"redis://127.0.0.1:{redis.port}/0"
        configs = servers.prepare_gateway(procs, tmp, upstream.port, 0, redis_url)
        on = servers.start_gateway(procs, tmp, 1, redis_url)
        off = servers.start_gateway(procs, tmp, 1, redis_url, {"GATEWAY_METRICS": "0"})
        for server in (on, off):  # warm both before the first measured round
            run_wrk(procs, wrk, f"http://127.0.0.1:{server.port}/", duration=3, connections=32)
        shares: dict[str, list[float]] = {name: [] for name in (*ROUTES, "metrics on")}
        cpu: dict[str, list[float]] = {name: [] for name in ("/", *ROUTES, "metrics off")}
        for round_no in range(1, ROUNDS + 1):
            base, base_cpu = _run(procs, wrk, on, "/", {})
            cpu["/"].append(base_cpu)
            for name in ROUTES:
                config = configs.get(name, {})
                if "path" not in config:
                    continue
                headers = dict(config.get("headers", {}))
                if config.get("authorization"):
                    headers["Authorization"] = config["authorization"]
                rps, used = _run(procs, wrk, on, config["path"], headers)
                shares[name].append(rps / base)
                cpu[name].append(used)
            off_rps, off_cpu = _run(procs, wrk, off, "/", {})
            on_rps, on_cpu = _run(procs, wrk, on, "/", {})
            shares["metrics on"].append(on_rps / off_rps)
            cpu["metrics off"].append(off_cpu)
            cpu["/"].append(on_cpu)
            print(f"round {round_no}: " + ", ".join(f"{k} {v[-1]:.0%}" for k, v in shares.items() if v), flush=True)
        print(f"\n{ROUNDS} rounds of {DURATION:g} s (wrk -t2 -c32), one gateway process per column:")
        for name, values in shares.items():
            if values:
                spread = f"{min(values):.0%}-{max(values):.0%}"
                reference = "metrics off" if name == "metrics on" else "no-policy route"
                print(f"- {name}: {statistics.mean(values):.0%} of {reference} (rounds {spread})")
        print("CPU µs per request (mean): " + ", ".join(f"{k} {statistics.mean(v):.0f}" for k, v in cpu.items() if v))
    finally:
        procs.stop_all()


if __name__ == "__main__":
    main()
