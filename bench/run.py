"""`make bench`: the gateway against the upstream direct, nginx and two plain Python proxies.

Environment: BENCH_DURATION (seconds per wrk row, default 10), BENCH_CONNECTIONS (default 32),
BENCH_WARMUP (seconds of wrk before each row, default 2), BENCH_RATE (fixed-rate req/s, default 500),
BENCH_FIXED_DURATION (seconds of the fixed-rate runs, default 10). See bench/README.md.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

if __package__ in (None, ""):  # run as `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import report as rp
from bench import servers
from bench.processes import Processes, cpu_seconds, machine_busy_seconds, reaped_children_seconds
from bench.tools import ensure_bench_requirements, ensure_system_tools
from bench.wrk import WrkResult, run_wrk

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOCS = ROOT / "docs" / "benchmarks.md"


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    try:
        return float(value) if value else default
    except ValueError:
        raise SystemExit(f"bench: {name}={value!r} is not a number") from None


class Bench:
    def __init__(self, wrk: str, tmp: Path) -> None:
        self.wrk, self.tmp = wrk, tmp
        self.procs = Processes()
        self.duration = _env_float("BENCH_DURATION", 10.0)
        self.connections = int(_env_float("BENCH_CONNECTIONS", 32))
        self.warmup = _env_float("BENCH_WARMUP", 2.0)
        self.rate = _env_float("BENCH_RATE", 500.0)
        self.fixed_duration = _env_float("BENCH_FIXED_DURATION", 10.0)
        settings = (
            f"wrk -t2 -c{self.connections} -d{self.duration:g}s --latency after a {self.warmup:g} s warm-up, "
            f"GET / with a {len(servers.BODY)}-byte answer; fixed rate {self.rate:g} req/s for "
            f"{self.fixed_duration:g} s after 1 s at the same rate"
        )
        self.report = rp.Report(settings=settings, rate=self.rate)
        self.upstream_pid = 0
        self.redis_pid = 0  # the rate-limit rows' redis-server: its CPU is the gateway's doing, not noise

    def log(self, message: str) -> None:
        print(f"bench: {message}", flush=True)

    def measure(
        self,
        name: str,
        start: Callable[[], servers.Server],
        note: str = "",
        keep: bool = False,
        path: str = "/",
        headers: dict[str, str] | None = None,
    ) -> servers.Server | None:
        """Start a server, warm it up, run wrk on ``path`` with its CPU time counted; one table row.

        The server is stopped afterwards unless ``keep``; then it is returned (None if it did not start).
        """
        row = rp.Row(name, note=note)
        self.report.rows.append(row)
        self.log(f"{name} ...")
        server = None
        try:
            server = start()
            url = server.url.rstrip("/") + path
            if self.warmup > 0:
                run_wrk(self.procs, self.wrk, url, duration=self.warmup, connections=self.connections, headers=headers)
            row.wrk, row.cpu_us, row.others_cpus = self._measured_run(
                server, url, headers, RESULTS / f"{_slug(name)}.txt"
            )
            self.log(f"{name}: {row.wrk.rps:,.0f} req/s, p50 {row.wrk.p50_ms:.2f} ms, p99 {row.wrk.p99_ms:.2f} ms")
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:
            row.error = " ".join(str(exc).split())[:300] or type(exc).__name__
            self.log(f"{name}: failed: {row.error}")
        if server is not None and not keep:
            self.procs.stop(server.proc)
        return server

    def _measured_run(
        self, server: servers.Server, url: str, headers: dict[str, str] | None, save_to: Path
    ) -> tuple[WrkResult, float | None, float]:
        """wrk with CPU accounting: (result, server µs CPU/request, CPUs used by everything else meanwhile)."""
        pids = {server.proc.pid, self.upstream_pid} | ({self.redis_pid} if self.redis_pid else set())
        before = (cpu_seconds(server.proc.pid), sum(map(cpu_seconds, pids)), reaped_children_seconds())
        busy, wall = machine_busy_seconds(), time.monotonic()
        conns, duration = self.connections, self.duration
        result = run_wrk(
            self.procs, self.wrk, url, duration=duration, connections=conns, headers=headers, save_to=save_to
        )
        busy, wall = machine_busy_seconds() - busy, time.monotonic() - wall
        server_cpu = cpu_seconds(server.proc.pid) - before[0]
        ours = sum(map(cpu_seconds, pids)) - before[1] + reaped_children_seconds() - before[2]
        cpu_us = server_cpu / result.requests * 1e6 if result.requests else None
        return result, cpu_us, max(0.0, busy - ours) / wall

    def warmed(self, server: servers.Server, configs: dict[str, dict[str, Any]]) -> servers.Server:
        """A fresh gateway, warmed on every route the rows use (discarded): its first measured row ran
        cold otherwise, 30-40% dearer per request than the same process a minute later."""
        if self.warmup > 0:
            self.log("gateway: warming every route ...")
            for config in (*(c for c in configs.values() if "path" in c and c["path"] != "/ws-echo"), {"path": "/"}):
                headers = dict(config.get("headers", {}))
                if config.get("authorization"):
                    headers["Authorization"] = config["authorization"]
                url = server.url.rstrip("/") + config["path"]
                run_wrk(self.procs, self.wrk, url, duration=1, connections=self.connections, headers=headers)
            run_wrk(self.procs, self.wrk, server.url, duration=self.warmup, connections=self.connections)
        return server

    def measure_policy(
        self, policy: rp.Policy, gateway: servers.Server | None, down: str, configs: dict[str, dict[str, Any]]
    ) -> None:
        """One policy row on the running 1-worker gateway: its route checked first (200, and 401 without a
        credential on auth routes), then measured like the others; the gateway keeps running."""
        config = configs.get(policy.key) or {"error": "bench/setup_gateway.py reported nothing for it"}
        path, auth = config.get("path", "/"), config.get("authorization")
        headers = {**config.get("headers", {}), **({"Authorization": auth} if auth else {})}

        def start() -> servers.Server:
            if gateway is None:
                raise RuntimeError(down)
            if "error" in config:
                raise RuntimeError(config["error"])
            servers.check_policy_route(gateway.port, path, headers, policy.auth)
            return gateway

        note = f"route {path}, {policy.note}; same process as the no-policy row"
        self.measure(policy.row, start, note=note, keep=True, path=path, headers=headers)

    def observer_cost(self) -> None:
        """The observability hooks' own cost per request, timed in-process (bench/observer_cost.py)."""
        script = str(ROOT / "bench" / "observer_cost.py")
        for extra in ([], ["--multiprocess"]):
            done = self.procs.run(
                [servers.PYTHON, script, *extra], timeout=300, cwd=ROOT, env=servers.gateway_env(self.tmp)
            )
            if done.returncode != 0:
                self.report.notes.append(f"observer cost not measured: {done.stderr.strip()[-200:]}")
                continue
            cost = json.loads(done.stdout.strip().splitlines()[-1])
            self.report.notes.append(
                f"observability cost per request, in-process ({cost['mode']}, {cost['calls']:,} calls): metrics "
                f"observer {cost['metrics_observer_us']} µs, in-flight gauge {cost['in_flight_gauge_us']} µs, "
                f"access line ({cost['log_format']}) {cost['access_log_us']} µs"
            )

    def fixed_rate(self, name: str, port: int) -> None:
        self.log(f"fixed rate {self.rate:g} req/s against {name} ...")
        entry = rp.FixedRate(name)
        self.report.fixed.append(entry)
        cmd = [servers.PYTHON, str(ROOT / "bench" / "fixed_rate.py"), "--port", str(port), "--json"]
        cmd += ["--rate", f"{self.rate:g}", "--duration", f"{self.fixed_duration:g}"]
        try:
            done = self.procs.run(cmd, timeout=self.fixed_duration + 60, cwd=ROOT)
            if done.returncode != 0:
                raise RuntimeError(done.stderr.strip()[-300:] or f"exit status {done.returncode}")
            entry.result = json.loads(done.stdout.strip().splitlines()[-1])
            (RESULTS / f"fixed-rate-{_slug(name)}.json").write_text(done.stdout)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:
            entry.error = " ".join(str(exc).split())[:300]
            self.log(f"fixed rate against {name}: failed: {entry.error}")

    def websocket_rows(self, gateway: servers.Server | None, ws: servers.Server | None, config: dict[str, str]) -> None:
        """Echo round trips per second: the WebSocket upstream direct, then through the 1-worker gateway."""
        targets = [("WebSocket echo, direct", ws.port if ws else 0, "/")]
        targets.append(("WebSocket echo, through the gateway", gateway.port if gateway else 0, config.get("path", "")))
        connections, duration = min(self.connections, 16), self.duration
        for name, port, path in targets:
            row = rp.WebSocketRow(name)
            self.report.websocket.append(row)
            self.log(f"{name} ...")
            try:
                if not port or not path:
                    raise RuntimeError(config.get("error") or "its server did not start (see above)")
                cmd = [servers.PYTHON, str(ROOT / "bench" / "ws_echo.py"), "measure", f"ws://127.0.0.1:{port}{path}"]
                cmd += ["--connections", str(connections), "--duration", f"{duration:g}", "--json"]
                cmd += ["--warmup", f"{max(self.warmup, 0.5):g}"]
                done = self.procs.run(cmd, timeout=duration + self.warmup + 60, cwd=ROOT)
                if done.returncode != 0:
                    raise RuntimeError(done.stderr.strip()[-300:] or f"exit status {done.returncode}")
                row.result = json.loads(done.stdout.strip().splitlines()[-1])
                self.log(f"{name}: {row.result['round_trips_per_s']:,.0f} round trips/s")
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as exc:
                row.error = " ".join(str(exc).split())[:300]
                self.log(f"{name}: failed: {row.error}")

    def run(self, nginx: str | None) -> None:
        tmp, procs = self.tmp, self.procs
        try:
            if nginx:
                upstream = servers.start_nginx(procs, nginx, tmp, "upstream")
                kind = "nginx `return 200`"
            else:
                upstream = servers.start_python_upstream(procs, tmp)
                kind = "bench/upstream.py"
        except (OSError, RuntimeError) as exc:
            raise RuntimeError(f"the upstream did not start: {exc}") from exc
        up, self.upstream_pid = upstream.port, upstream.proc.pid
        self.measure(rp.DIRECT, lambda: upstream, note=f"{kind}; CPU is the upstream's own", keep=True)
        if nginx:
            self.measure("nginx reverse proxy", lambda: servers.start_nginx(procs, nginx, tmp, "proxy", up))
        self.measure(rp.BARE, lambda: servers.start_asgi_proxy(procs, tmp, "bench.bare_proxy:app", up))
        self.measure(rp.RAW, lambda: servers.start_asgi_proxy(procs, tmp, "bench.raw_proxy:app", up))
        missing = ensure_bench_requirements()
        fastapi = "bench.fastapi_httpx_proxy:app"
        self.measure(
            "FastAPI + httpx proxy", _unless(missing, lambda: servers.start_asgi_proxy(procs, tmp, fastapi, up))
        )
        try:
            ws_echo: servers.Server | None = servers.start_ws_echo(procs, tmp)
        except (OSError, RuntimeError) as exc:
            self.log(f"WebSocket echo upstream: {exc}")
            ws_echo = None
        try:
            redis = servers.start_redis(procs, tmp)
            self.redis_pid, redis_url = redis.proc.pid, f"redis://127.0.0.1:{redis.port}/0"
        except (OSError, RuntimeError) as exc:
            redis_url = ""  # the rate-limit rows then fail with bench/setup_gateway.py's reason
            self.log(f"redis for the rate-limit rows: failed: {exc}")
        try:
            self.log("gateway: migrate and configure ...")
            configs = servers.prepare_gateway(procs, tmp, up, ws_echo.port if ws_echo else 0, redis_url)
            ready: str | None = None
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:
            ready, configs = " ".join(str(exc).split())[:300], {}
        start_one = _unless(ready, lambda: servers.start_gateway(procs, tmp, 1, redis_url))
        gateway = self.measure(rp.GATEWAY1, lambda: self.warmed(start_one(), configs), keep=True)
        for policy in rp.POLICIES:  # on the same process as the row above, so the ratios compare like with like
            self.measure_policy(policy, gateway, ready or "the gateway did not start (see above)", configs)
        self.websocket_rows(gateway, ws_echo, configs.get("websocket", {}))
        self.fixed_rate(rp.DIRECT, up)
        if gateway is not None:
            self.fixed_rate(rp.GATEWAY1, gateway.port)
            procs.stop(gateway.proc)
        else:
            self.report.fixed.append(rp.FixedRate(rp.GATEWAY1, error="the gateway did not start (see above)"))
        off = {"GATEWAY_METRICS": "0"}
        note = "GATEWAY_METRICS=0: no metrics observer, no in-flight gauge, no django-prometheus"
        self.measure(
            rp.METRICS_OFF, _unless(ready, lambda: servers.start_gateway(procs, tmp, 1, redis_url, off)), note=note
        )
        self.observer_cost()
        self.measure("gateway, 2 workers", _unless(ready, lambda: servers.start_gateway(procs, tmp, 2, redis_url)))
        if any(row.noisy for row in self.report.rows) or any(f.noisy for f in self.report.fixed):
            self.report.notes.append(
                "other processes were busy during some runs (see the notes): their req/s and latencies are "
                "unreliable, and the targets measured on them are marked so; CPU µs/request holds up better"
            )


def _keep_logs(tmp: Path) -> None:
    """Servers' logs and nginx configs to bench/results/logs/, for a row that failed."""
    logs = RESULTS / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True, exist_ok=True)
    for path in [*tmp.glob("*.log"), *tmp.glob("*.conf")]:
        shutil.copy2(path, logs / path.name)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _unless(reason: str | None, start: Callable[[], servers.Server]) -> Callable[[], servers.Server]:
    """``start``, or a failure with ``reason`` when a prerequisite is missing (the row then says why)."""

    def go() -> servers.Server:
        if reason:
            raise RuntimeError(reason)
        return start()

    return go


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> int:
    started = time.monotonic()
    signal.signal(signal.SIGTERM, _on_sigterm)
    wrk, nginx, notes = ensure_system_tools()
    RESULTS.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    bench = Bench(wrk, tmp)
    bench.report.notes.extend(notes)
    try:
        bench.run(nginx)
    except KeyboardInterrupt:
        print("\nbench: interrupted; stopping everything it started", file=sys.stderr)
        return 130
    except RuntimeError as exc:  # the upstream did not start: nothing can be measured
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    finally:
        bench.procs.stop_all()
        _keep_logs(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
    block = rp.render(bench.report)
    rp.write_docs(DOCS, block)
    body = block.removeprefix(rp.BEGIN).removesuffix(rp.END).strip()
    print(f"\n{body}\n\nbench: wrote {DOCS.relative_to(ROOT)} and raw outputs in {RESULTS.relative_to(ROOT)}/")
    print(f"bench: took {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
