"""The latency the gateway adds at fixed rates (`make bench-latency`): 500 and 2,000 req/s by default.

One nginx upstream (`return 200`, 100 bytes) and one gateway of this checkout (1 worker, the embedded
default on a fresh SQLite database, the bench's no-policy route: audit off, metrics and access line on),
warmed with wrk first (discarded). For each rate, ``bench/fixed_rate.py`` (open loop, latency from each
request's scheduled send time) runs against the upstream direct, then the gateway, ``LATENCY_ROUNDS`` times
in turn; the added latency is the gateway's percentile less the direct one's, within each round.
Issue 14's target at 500 req/s: p50 under 0.5 ms and p99 under 2 ms added.

Environment: LATENCY_RATES (default "500,2000"), LATENCY_DURATION (seconds per run, default 10),
LATENCY_ROUNDS (default 2).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import servers
from bench.processes import Processes
from bench.tools import ensure_system_tools
from bench.wrk import run_wrk

ROOT = Path(__file__).resolve().parent.parent
RATES = [float(r) for r in os.environ.get("LATENCY_RATES", "500,2000").split(",") if r]
DURATION = float(os.environ.get("LATENCY_DURATION", "10"))
ROUNDS = int(os.environ.get("LATENCY_ROUNDS", "2"))
TARGETS = {500.0: (0.5, 2.0)}  # rate -> (added p50, added p99) in ms


def fixed_rate(procs: Processes, port: int, rate: float) -> dict[str, Any]:
    cmd = [servers.PYTHON, str(ROOT / "bench" / "fixed_rate.py"), "--port", str(port), "--json"]
    cmd += ["--rate", f"{rate:g}", "--duration", f"{DURATION:g}", "--connections", "16"]
    done = procs.run(cmd, timeout=DURATION + 90, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip()[-300:] or f"fixed_rate.py exited with {done.returncode}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    wrk, nginx, _ = ensure_system_tools()
    procs = Processes()
    tmp = Path(tempfile.mkdtemp(prefix="gateway-latency-"))
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    results: dict[float, dict[str, list[dict[str, Any]]]] = {}
    try:
        upstream = (
            servers.start_nginx(procs, nginx, tmp, "upstream") if nginx else servers.start_python_upstream(procs, tmp)
        )
        servers.prepare_gateway(procs, tmp, upstream.port)
        gateway = servers.start_gateway(procs, tmp, 1)
        run_wrk(procs, wrk, gateway.url, duration=3, connections=32)  # warm-up, discarded
        for rate in RATES:
            results[rate] = {"direct": [], "gateway": []}
            for round_no in range(1, ROUNDS + 1):
                for name, port in (("direct", upstream.port), ("gateway", gateway.port)):
                    result = fixed_rate(procs, port, rate)
                    results[rate][name].append(result)
                    print(
                        f"{rate:g} req/s round {round_no} {name}: p50 {result['p50_ms']:.3f} ms, "
                        f"p99 {result['p99_ms']:.3f} ms, errors {result['errors']}",
                        flush=True,
                    )
    finally:
        procs.stop_all()
    load_after = os.getloadavg()
    lines = [
        "### Added latency at fixed rates (`make bench-latency`)",
        "",
        f"- Command: `LATENCY_RATES={','.join(f'{r:g}' for r in RATES)} LATENCY_DURATION={DURATION:g} "
        f"LATENCY_ROUNDS={ROUNDS} make bench-latency`, {started:%Y-%m-%d %H:%M} UTC; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after",
        f"- Open loop (`bench/fixed_rate.py`, 16 keep-alive connections, {DURATION:g} s after 1 s at the same "
        "rate), direct then gateway in each round; gateway warmed with wrk first",
        "",
        "| rate | target | p50 | p90 | p99 | p99.9 | errors | schedule lag p99 |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    verdicts = []
    for rate, by_name in results.items():
        for name, runs in by_name.items():

            def mean(key: str, runs: list[dict[str, Any]] = runs) -> float:
                return statistics.mean(r[key] for r in runs)

            lines.append(
                f"| {rate:,.0f} | {name} | {mean('p50_ms'):.3f} ms | {mean('p90_ms'):.3f} ms | {mean('p99_ms'):.3f} ms "
                f"| {mean('p999_ms'):.3f} ms | {sum(r['errors'] for r in runs)} "
                f"| {mean('schedule_lag_p99_ms'):.3f} ms |"
            )
        added50 = [g["p50_ms"] - d["p50_ms"] for g, d in zip(by_name["gateway"], by_name["direct"], strict=True)]
        added99 = [g["p99_ms"] - d["p99_ms"] for g, d in zip(by_name["gateway"], by_name["direct"], strict=True)]
        text = (
            f"{rate:,.0f} req/s: the gateway adds p50 {statistics.mean(added50):.3f} ms "
            f"(rounds {min(added50):.3f}-{max(added50):.3f}), p99 {statistics.mean(added99):.3f} ms "
            f"(rounds {min(added99):.3f}-{max(added99):.3f})"
        )
        target = TARGETS.get(rate)
        if target is not None:
            ok = statistics.mean(added50) < target[0] and statistics.mean(added99) < target[1]
            text = f"{'PASS' if ok else 'FAIL'}: {text} (target: p50 < {target[0]:g} ms, p99 < {target[1]:g} ms)"
        verdicts.append(f"- {text}")
    print("\n" + "\n".join([*lines, "", *verdicts]))


if __name__ == "__main__":
    main()
