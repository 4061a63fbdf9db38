"""Run wrk and parse its --latency output."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.processes import Processes

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_LATENCY = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_REQUESTS = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)", re.MULTILINE)
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


@dataclass
class WrkResult:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int

    @property
    def problems(self) -> str:
        parts = []
        if self.non_2xx:
            parts.append(f"{self.non_2xx} non-2xx")
        if self.socket_errors:
            parts.append(f"{self.socket_errors} socket errors")
        return ", ".join(parts)


def parse(output: str) -> WrkResult:
    latencies = {m.group(1): float(m.group(2)) * _UNITS[m.group(3)] for m in _LATENCY.finditer(output)}
    requests = _REQUESTS.search(output)
    rps = _RPS.search(output)
    if requests is None or rps is None or "50" not in latencies or "99" not in latencies:
        raise ValueError(f"cannot parse wrk output: {output.strip()[-300:]!r}")
    non_2xx = _NON_2XX.search(output)
    sock = _SOCKET.search(output)
    return WrkResult(
        requests=int(requests.group(1)),
        rps=float(rps.group(1)),
        p50_ms=latencies["50"],
        p99_ms=latencies["99"],
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sock.groups()) if sock else 0,
    )


def _redact(arg: str) -> str:
    """A credential passed with -H, shortened for the saved output (the bench's keys are throwaway anyway)."""
    name, sep, value = arg.partition(": ")
    return f"'{name}: {value[:20]}…'" if sep and name.lower() == "authorization" else arg


def run_wrk(
    procs: Processes,
    wrk: str,
    url: str,
    *,
    duration: float,
    connections: int,
    threads: int = 2,
    headers: Mapping[str, str] | None = None,
    save_to: Path | None = None,
) -> WrkResult:
    threads = max(1, min(threads, connections))
    cmd = [wrk, f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--timeout", "10s", "--latency"]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    cmd.append(url)
    done = procs.run(cmd, timeout=duration + 30)
    output = done.stdout + done.stderr
    if save_to is not None:
        shown = [_redact(arg) for arg in cmd]
        save_to.write_text(" ".join(shown) + "\n\n" + output)
    if done.returncode != 0:
        raise RuntimeError(f"wrk exited with {done.returncode}: {output.strip()[-300:]}")
    return parse(output)
