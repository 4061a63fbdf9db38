"""The results as Markdown: machine, throughput table, fixed-rate table, targets; docs/benchmarks.md."""

from __future__ import annotations

import math
import os
import platform
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.tools import which
from bench.wrk import WrkResult

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
BARE, DIRECT, GATEWAY1 = "bare reference proxy", "upstream direct", "gateway, 1 worker"
RAW = "raw reference proxy"
TARGET_SHARE, TARGET_CPU_US, TARGET_ADDED_P50_MS = 0.75, 220.0, 1.0
METRICS_OFF = f"{GATEWAY1}, metrics off"
TARGET_METRICS_SHARE = 0.90
APIKEY, JWT, BREAKER = f"{GATEWAY1}: API-key auth", f"{GATEWAY1}: JWT RS256 auth", f"{GATEWAY1}: circuit breaker"
RATELIMIT, RATELIMIT3 = f"{GATEWAY1}: 1 rate limit (Redis)", f"{GATEWAY1}: 3 rate limits (Redis) + API key"
AUDIT = f"{GATEWAY1}: route with auditing on"
CACHE_HIT, CACHE_MISS = f"{GATEWAY1}: response cache, hits (Redis)", f"{GATEWAY1}: response cache, misses (Redis)"
EDGE = f"{GATEWAY1}: CORS, security headers, 50-entry IP allow list, 3 header transformations"
NOISY_CPUS = 0.25  # CPUs used by other processes during a wrk run above which the row is flagged
NOISY_LAG_MS = 1.0  # the fixed-rate generator's own p99 schedule lag above which its run is flagged


@dataclass(frozen=True)
class Policy:
    """A row measured on the no-policy row's gateway process, on a route with one policy."""

    key: str  # its entry in bench/setup_gateway.py's JSON
    row: str
    what: str  # for the Targets line
    target: float  # least share of the no-policy row's req/s
    auth: bool  # answers 401 without a credential
    note: str
    most_added_cpu_us: float | None = None  # CPU µs per request it may add to the no-policy row's


POLICIES = (
    Policy("api_key", APIKEY, "API-key auth route", 0.85, True, "`Authorization: Bearer <API key>`"),
    Policy("jwt", JWT, "JWT RS256 auth route", 0.85, True, "`Authorization: Bearer <RS256 JWT>`"),
    Policy("breaker", BREAKER, "circuit-breaker route", 0.90, False, "second service, in-memory breaker"),
    Policy(
        "ratelimit",
        RATELIMIT,
        "one-rate-limit route",
        0.75,
        False,
        "a per-IP limit counted in the bench's redis-server",
    ),
    Policy(
        "ratelimit3",
        RATELIMIT3,
        "three-rate-limit route",
        0.75,
        True,
        "global, per-consumer and per-IP limits in one Redis call, behind API-key auth",
    ),
    Policy(
        "edge",
        EDGE,
        "edge-policies route",
        0.90,
        False,
        "the edge policies together (docs/edge-policies.md), with an allowed Origin; target: at most 20 µs more CPU",
    ),
    Policy(
        "audit",
        AUDIT,
        "audited route",
        0.80,
        False,
        "every request recorded: spooled before the response ends, shipped in batches to the bench's own Redis",
    ),
    Policy(
        "cache_hit",
        CACHE_HIT,
        "cache-hit route",
        1.50,
        False,
        "every answer from the response cache in the bench's own Redis (one round trip, no backend call)",
    ),
    Policy(
        "cache_miss",
        CACHE_MISS,
        "cache-miss route",
        0.75,
        False,
        "cached route whose answers are never stored (TTL 0, no Cache-Control): a lookup, then the backend",
        most_added_cpu_us=30.0,
    ),
)


@dataclass
class Row:
    name: str
    wrk: WrkResult | None = None
    cpu_us: float | None = None
    error: str | None = None
    note: str = ""
    others_cpus: float = 0.0  # CPUs that processes outside the bench used during the measured run

    @property
    def noisy(self) -> bool:
        return self.others_cpus > NOISY_CPUS

    @property
    def notes(self) -> str:
        busy = f"busy machine: others used {self.others_cpus:.1f} CPUs" if self.noisy else ""
        return "; ".join(x for x in (self.note, busy, self.wrk.problems if self.wrk else "") if x)


@dataclass
class FixedRate:
    name: str
    result: dict[str, Any] | None = None
    error: str | None = None

    @property
    def noisy(self) -> bool:
        return self.result is not None and self.result["schedule_lag_p99_ms"] > NOISY_LAG_MS


@dataclass
class WebSocketRow:
    name: str
    result: dict[str, Any] | None = None  # bench/ws_echo.py measure --json
    error: str | None = None


@dataclass
class Report:
    settings: str
    rows: list[Row] = field(default_factory=list)
    fixed: list[FixedRate] = field(default_factory=list)
    websocket: list[WebSocketRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rate: float = 500.0

    def row(self, name: str) -> Row | None:
        return next((r for r in self.rows if r.name == name and r.wrk is not None), None)

    def fixed_result(self, name: str) -> dict[str, Any] | None:
        return next((f.result for f in self.fixed if f.name == name and f.result), None)


def _ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f} ms" if value < 100 else f"{value:.0f} ms"


def _ratio(value: float, base: Row | None) -> str:
    return f"{value / base.wrk.rps:.2f}" if base and base.wrk and base.wrk.rps else "n/a"


def machine() -> str:
    model = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = []
    for tool in ("wrk", "nginx"):
        try:
            out = subprocess.run([which(tool) or tool, "-v"], capture_output=True, text=True, timeout=5)
            versions.append((out.stdout + out.stderr).strip().splitlines()[0].replace("nginx version: ", ""))
        except (OSError, IndexError, subprocess.SubprocessError):
            versions.append(f"{tool}: not installed")
    for package in ("uvicorn", "aiohttp", "uvloop", "httptools", "fastapi", "httpx", "django"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"- Machine: {len(os.sched_getaffinity(0))} CPUs (`nproc`), {model}, Linux {platform.release()}, "
        f"Python {platform.python_version()}; load average before the run: {load}\n"
        f"- Software: {'; '.join(versions)}"
    )


def _added_cpu(row: Row, gw: Row | None) -> str:
    if row.name not in {p.row for p in POLICIES} or gw is None or gw.cpu_us is None or row.cpu_us is None:
        return ""
    return f"CPU {row.cpu_us - gw.cpu_us:+.0f} µs/request vs no policy"


def throughput_table(report: Report) -> str:
    bare, direct, gw = report.row(BARE), report.row(DIRECT), report.row(GATEWAY1)
    lines = [
        "| row | req/s | p50 | p99 | CPU µs/request | ÷ bare proxy | ÷ direct | ÷ gateway, no policy | notes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in report.rows:
        if row.wrk is None:
            lines.append(f"| {row.name} | failed: {row.error} | | | | | | | |")
            continue
        w = row.wrk
        cpu = f"{row.cpu_us:.0f}" if row.cpu_us is not None else ""
        vs_gw = _ratio(w.rps, gw) if row.name.startswith("gateway") else ""
        notes = "; ".join(x for x in (_added_cpu(row, gw), row.notes) if x)
        lines.append(
            f"| {row.name} | {w.rps:,.0f} | {_ms(w.p50_ms)} | {_ms(w.p99_ms)} | {cpu} | "
            f"{_ratio(w.rps, bare)} | {_ratio(w.rps, direct)} | {vs_gw} | {notes} |"
        )
    return "\n".join(lines)


def fixed_table(report: Report) -> str:
    lines = [
        "| target | p50 | p90 | p99 | p99.9 | max | completed | errors | generator lag p99 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for f in report.fixed:
        r = f.result
        if r is None:
            lines.append(f"| {f.name} | failed: {f.error} | | | | | | | |")
            continue
        lag = f"{r['schedule_lag_p99_ms']:.2f} ms" + (" (busy machine: unreliable)" if f.noisy else "")
        lines.append(
            f"| {f.name} | {_ms(r['p50_ms'])} | {_ms(r['p90_ms'])} | {_ms(r['p99_ms'])} | {_ms(r['p999_ms'])} | "
            f"{_ms(r['max_ms'])} | {r['completed']} | {r['errors']} | {lag} |"
        )
    direct, gateway = report.fixed_result(DIRECT), report.fixed_result(GATEWAY1)
    if direct and gateway:
        added = {p: gateway[f"{p}_ms"] - direct[f"{p}_ms"] for p in ("p50", "p99")}
        lines.append(f"\nAdded by the gateway: p50 {_ms(added['p50'])}, p99 {_ms(added['p99'])}.")
    lines.append(
        "Latencies count from each request's scheduled send time, so they include the load generator's own "
        "lag (last column), which on a quiet machine is small and the same for both targets."
    )
    return "\n".join(lines)


def _verdict(ok: bool, noisy: bool) -> str:
    return ("PASS" if ok else "FAIL") + (" (busy machine: unreliable)" if noisy else "")


def targets(report: Report) -> list[str]:
    gw, bare = report.row(GATEWAY1), report.row(BARE)
    out = []
    if gw and bare and gw.wrk and bare.wrk:
        share = gw.wrk.rps / bare.wrk.rps
        verdict = _verdict(share >= TARGET_SHARE, gw.noisy or bare.noisy)
        out.append(f"{verdict}: gateway (1 worker) req/s ≥ 75% of the bare proxy's: {share:.0%}")
    else:
        out.append("FAIL: gateway (1 worker) req/s ≥ 75% of the bare proxy's: not measured")
    if gw and gw.cpu_us is not None:
        verdict = _verdict(gw.cpu_us <= TARGET_CPU_US, gw.noisy)
        ref = f" (bare reference proxy: {bare.cpu_us:.0f} µs in this run)" if bare and bare.cpu_us else ""
        out.append(f"{verdict}: gateway CPU ≤ {TARGET_CPU_US:.0f} µs/request: {gw.cpu_us:.0f} µs{ref}")
    else:
        out.append(f"FAIL: gateway CPU ≤ {TARGET_CPU_US:.0f} µs/request: not measured")
    direct, gateway = report.fixed_result(DIRECT), report.fixed_result(GATEWAY1)
    if direct and gateway:
        added = gateway["p50_ms"] - direct["p50_ms"]
        noisy = any(f.noisy for f in report.fixed)
        verdict = _verdict(added < TARGET_ADDED_P50_MS, noisy)
        out.append(f"{verdict}: gateway adds < 1 ms p50 at {report.rate:g} req/s: {added:.3f} ms")
    else:
        out.append(f"FAIL: gateway adds < 1 ms p50 at {report.rate:g} req/s: not measured")
    off, what = report.row(METRICS_OFF), f"metrics on (the default) req/s ≥ {TARGET_METRICS_SHARE:.0%} of metrics off"
    if gw and off and gw.wrk and off.wrk and off.wrk.rps:
        share = gw.wrk.rps / off.wrk.rps
        out.append(f"{_verdict(share >= TARGET_METRICS_SHARE, gw.noisy or off.noisy)}: {what}: {share:.0%}")
    else:
        out.append(f"FAIL: {what}: not measured")
    for policy in POLICIES:
        row, what = report.row(policy.row), f"{policy.what} req/s ≥ {policy.target:.0%} of the no-policy route's"
        if gw and row and gw.wrk and row.wrk and gw.wrk.rps:
            share = row.wrk.rps / gw.wrk.rps
            out.append(f"{_verdict(share >= policy.target, gw.noisy or row.noisy)}: {what}: {share:.0%}")
        else:
            out.append(f"FAIL: {what}: not measured")
        if policy.most_added_cpu_us is not None:
            what = f"{policy.what} adds ≤ {policy.most_added_cpu_us:.0f} µs CPU/request to the no-policy route's"
            if gw and row and gw.cpu_us is not None and row.cpu_us is not None:
                added = row.cpu_us - gw.cpu_us
                ok = added <= policy.most_added_cpu_us
                out.append(f"{_verdict(ok, gw.noisy or row.noisy)}: {what}: {added:+.0f} µs")
            else:
                out.append(f"FAIL: {what}: not measured")
    return out


def websocket_table(report: Report) -> str:
    lines = [
        "| row | round trips/s | p50 | p99 | ÷ direct |",
        "|---|---|---|---|---|",
    ]
    direct = next((w.result for w in report.websocket if w.result and "direct" in w.name), None)
    for row in report.websocket:
        if row.result is None:
            lines.append(f"| {row.name} | failed: {row.error} | | | |")
            continue
        rps = row.result["round_trips_per_s"]
        ratio = f"{rps / direct['round_trips_per_s']:.2f}" if direct and direct["round_trips_per_s"] else "n/a"
        lines.append(
            f"| {row.name} | {rps:,.0f} | {_ms(row.result['p50_ms'])} | {_ms(row.result['p99_ms'])} | {ratio} |"
        )
    return "\n".join(lines)


def render(report: Report) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        f"{BEGIN}\n## Results\n",
        "_Generated by `make bench` (bench/run.py); everything between the bench markers is rewritten on each run._\n",
        f"- Command: `make bench`, {now}",
        machine(),
        f"- Settings: {report.settings}",
        *[f"- Note: {note}" for note in report.notes],
        "\n### Throughput (wrk, closed loop)\n",
        throughput_table(report),
        f"\n### Latency at a fixed rate ({report.rate:g} req/s, open loop, bench/fixed_rate.py)\n",
        fixed_table(report),
        "\n### WebSocket echo round trips (bench/ws_echo.py)\n",
        websocket_table(report) if report.websocket else "not measured",
        "\n### Targets\n",
        *[f"- {line}" for line in targets(report)],
        f"\n{END}",
    ]
    return "\n".join(parts)


def write_docs(path: Path, block: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)
