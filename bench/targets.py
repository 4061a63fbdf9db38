"""Issue 14's data-plane targets in one interleaved run (`make bench-targets`), written into
docs/benchmarks.md between the ``targets:begin`` / ``targets:end`` markers and printed.

Servers: one nginx upstream (`return 200`, 100 bytes), the bench's own redis-server, the raw reference
proxy (``bench/raw_proxy.py``, ``proxy.client``, no features), the aiohttp proxy (``bench/bare_proxy.py``),
and two gateways of this checkout on the same fresh SQLite database (``bench/setup_gateway.py``), one
worker each:

- "gateway (Redis)": rate limits, audit stream and cache in the bench's redis-server; its ``/`` is the
  no-policy route (audit off, metrics and access line on) and ``/full`` the full chain (API key, three
  Redis rate limits, breaker, audit through Redis, metrics, access line);
- "gateway (embedded)": the embedded default (no Redis at all): its ``/`` again, and ``/defaults``, a route
  saved with every default (audit on: records go to the process's spool).

Every server and route is warmed first (``TARGETS_WARMUP`` seconds each, default 3; discarded). Then each
round runs wrk (2 threads, 32 connections, ``AB_DURATION`` s, default 5) on every row in turn, and every
ratio is taken within a round (the spread between rounds is shown). CPU is each server's process tree per
request (the redis-server's CPU is not counted: it is shared by the rows that use it). A second part runs
the gateway with 2 workers against 1 worker on ``/``, and tells how much CPU wrk itself used.

Environment: AB_ROUNDS (default 4), AB_DURATION (default 5), TARGETS_WARMUP (default 3), TARGETS_NO_DOCS=1
to print only.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import servers
from bench.processes import Processes, cpu_seconds, machine_busy_seconds, reaped_children_seconds
from bench.tools import ensure_system_tools
from bench.wrk import run_wrk

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- targets:begin -->", "<!-- targets:end -->"
ROUNDS = int(os.environ.get("AB_ROUNDS", "4"))
DURATION = float(os.environ.get("AB_DURATION", "5"))
WARMUP = float(os.environ.get("TARGETS_WARMUP", "3"))
CONNECTIONS = 32


@dataclass
class Row:
    name: str
    server: servers.Server
    path: str = "/"
    headers: dict[str, str] = field(default_factory=dict)
    rps: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    wrk_cpu: list[float] = field(default_factory=list)  # wrk's own CPU seconds per wall second
    busy: list[float] = field(default_factory=list)  # the machine's busy CPUs during the run

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}{self.path}"


def measure(procs: Processes, wrk: str, row: Row) -> None:
    before = cpu_seconds(row.server.proc.pid), reaped_children_seconds(), machine_busy_seconds(), time.monotonic()
    result = run_wrk(procs, wrk, row.url, duration=DURATION, connections=CONNECTIONS, headers=row.headers)
    wall = time.monotonic() - before[3]
    used = cpu_seconds(row.server.proc.pid) - before[0]
    if result.non_2xx or result.socket_errors or not result.requests:
        raise RuntimeError(f"{row.name} {row.path}: {result.problems}")
    row.rps.append(result.rps)
    row.cpu.append(used / result.requests * 1e6)
    row.wrk_cpu.append((reaped_children_seconds() - before[1]) / wall)
    row.busy.append((machine_busy_seconds() - before[2]) / wall)


def ratios(a: list[float], b: list[float]) -> list[float]:
    return [x / y for x, y in zip(a, b, strict=True)]


def spread(values: list[float]) -> str:
    return f"{statistics.mean(values):.2f}x (rounds {min(values):.2f}-{max(values):.2f})"


def target_lines(rows: dict[str, Row]) -> list[str]:
    raw, bare, gw, full = rows["raw"], rows["bare"], rows["gateway"], rows["full"]
    emb, defaults = rows["embedded"], rows["defaults"]
    checks = [
        ("no-policy route CPU/request ≤ 2x the raw reference's", ratios(gw.cpu, raw.cpu), lambda m: m <= 2.0),
        ("no-policy route req/s ≥ 1.5x the aiohttp proxy's", ratios(gw.rps, bare.rps), lambda m: m >= 1.5),
        (
            "route with every default (embedded default) CPU/request ≤ 1.3x the no-policy route's (same process)",
            ratios(defaults.cpu, emb.cpu),
            lambda m: m <= 1.3,
        ),
        ("full chain CPU/request ≤ 3x the raw reference's", ratios(full.cpu, raw.cpu), lambda m: m <= 3.0),
    ]
    lines = ["| target | measured (mean of the rounds' ratios) | result |", "|---|---|---|"]
    for text, values, ok in checks:
        lines.append(f"| {text} | {spread(values)} | {'PASS' if ok(statistics.mean(values)) else 'FAIL'} |")
    return lines


def row_table(rows: dict[str, Row]) -> list[str]:
    lines = [
        "| row | req/s (mean) | CPU µs/request (mean) | rounds, CPU µs | machine busy (CPUs) |",
        "|---|---:|---:|---|---:|",
    ]
    for row in rows.values():
        cpu = ", ".join(f"{c:.0f}" for c in row.cpu)
        busy = statistics.mean(row.busy)
        lines.append(
            f"| {row.name} `{row.path}` | {statistics.mean(row.rps):,.0f} | {statistics.mean(row.cpu):.0f} | {cpu} "
            f"| {busy:.2f} |"
        )
    return lines


def workers_table(one: Row, two: Row) -> list[str]:
    lines = [
        "| gateway `/` | req/s (mean) | CPU µs/request | wrk's CPU (cores) | machine busy (CPUs) |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in (one, two):
        lines.append(
            f"| {row.name} | {statistics.mean(row.rps):,.0f} | {statistics.mean(row.cpu):.0f} "
            f"| {statistics.mean(row.wrk_cpu):.2f} | {statistics.mean(row.busy):.2f} |"
        )
    lines.append("")
    lines.append(f"2 workers ÷ 1 worker, req/s: {spread(ratios(two.rps, one.rps))}.")
    return lines


def write_docs(text: str) -> None:
    doc = DOCS.read_text()
    if BEGIN in doc and END in doc:
        head, rest = doc.split(BEGIN, 1)
        doc = head + BEGIN + "\n" + text + "\n" + END + rest.split(END, 1)[1]
    else:
        doc = doc.rstrip("\n") + "\n\n" + BEGIN + "\n" + text + "\n" + END + "\n"
    DOCS.write_text(doc)


def main() -> None:
    wrk, nginx, _ = ensure_system_tools()
    if not nginx:
        raise SystemExit("make bench-targets needs nginx as the upstream (apt-get install nginx)")
    procs = Processes()
    tmp = Path(tempfile.mkdtemp(prefix="gateway-targets-"))
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    try:
        upstream = servers.start_nginx(procs, nginx, tmp, "upstream")
        redis = servers.start_redis(procs, tmp)
        redis_url = f"redis://127.0.0.1:{redis.port}/0"
        configs = servers.prepare_gateway(procs, tmp, upstream.port, 0, redis_url)
        for name in ("full", "defaults"):
            if "path" not in configs.get(name, {}):
                raise SystemExit(f"bench/setup_gateway.py: {name}: {configs.get(name, {}).get('error', 'missing')}")
        gateway = servers.start_gateway(procs, tmp, 1, redis_url)
        embedded = servers.start_gateway(procs, tmp, 1)
        full = configs["full"]
        rows = {
            "raw": Row(
                "raw reference proxy", servers.start_asgi_proxy(procs, tmp, "bench.raw_proxy:app", upstream.port)
            ),
            "bare": Row("aiohttp proxy", servers.start_asgi_proxy(procs, tmp, "bench.bare_proxy:app", upstream.port)),
            "gateway": Row("gateway (Redis), no policy", gateway),
            "full": Row("gateway (Redis), full chain", gateway, full["path"], {"Authorization": full["authorization"]}),
            "embedded": Row("gateway (embedded), no policy", embedded),
            "defaults": Row("gateway (embedded), every default", embedded, configs["defaults"]["path"]),
        }
        for row in rows.values():
            servers.check_policy_route(row.server.port, row.path, row.headers, auth=bool(row.headers))
            if WARMUP > 0:  # discarded: the first measured row must not run on a cold process
                run_wrk(procs, wrk, row.url, duration=WARMUP, connections=CONNECTIONS, headers=row.headers)
        for round_no in range(1, ROUNDS + 1):
            for row in rows.values():
                measure(procs, wrk, row)
            print(
                f"round {round_no}: "
                + ", ".join(f"{r.name} {r.path} {r.rps[-1]:.0f}/s {r.cpu[-1]:.0f} µs" for r in rows.values()),
                flush=True,
            )
        procs.stop(embedded.proc)
        two = servers.start_gateway(procs, tmp, 2, redis_url)
        one_row, two_row = Row("1 worker", gateway), Row("2 workers", two)
        if WARMUP > 0:
            run_wrk(procs, wrk, two_row.url, duration=WARMUP, connections=CONNECTIONS)
        for _ in range(ROUNDS):
            for row in (one_row, two_row):
                measure(procs, wrk, row)
    finally:
        procs.stop_all()
    load_after = os.getloadavg()
    cpu_model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    text = "\n".join(
        [
            "### Issue 14's targets, interleaved (`make bench-targets`)",
            "",
            f"- Command: `AB_ROUNDS={ROUNDS} AB_DURATION={DURATION:g} TARGETS_WARMUP={WARMUP:g} make bench-targets`, "
            f"{started:%Y-%m-%d %H:%M} UTC",
            f"- Machine: {os.cpu_count()} CPUs, {cpu_model}, Python {platform.python_version()}; load average "
            f"{load_before[0]:.2f} before, {load_after[0]:.2f} after (the machine is shared: read the ratios, "
            "taken within each round, more than the absolute figures)",
            f"- Every server and route warmed {WARMUP:g} s first (discarded); wrk -t2 -c{CONNECTIONS} "
            f"-d{DURATION:g}s per row, {ROUNDS} rounds, rows in turn within each round",
            "",
            *row_table(rows),
            "",
            *target_lines(rows),
            "",
            "#### 2 workers against 1 (gateway (Redis), `/`, same rounds)",
            "",
            *workers_table(one_row, two_row),
            "",
            "wrk's CPU is its own user+system time per second of the run, in cores: on this 2-CPU machine what it "
            "takes is not available to the gateway, so 2 workers cannot reach twice the req/s of 1.",
        ]
    )
    print("\n" + text)
    if not os.environ.get("TARGETS_NO_DOCS"):
        write_docs(text)
        print(f"\nwritten into {DOCS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
