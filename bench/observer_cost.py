"""What the observability hooks cost per request, measured in-process (no network, no wrk).

    python bench/observer_cost.py [--calls 100000]

Times N calls of each observer on one realistic ``Finished`` record (a routed 200 with upstream
time and bytes), and of the in-flight gauge's inc()+dec(), in this process; run twice by
``make bench`` (without and with ``PROMETHEUS_MULTIPROC_DIR``, the multi-worker mode, whose values
live in mmap files). Prints JSON: microseconds per request for each part.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _record() -> Any:
    from proxy.observe import HTTP, Finished

    service = SimpleNamespace(slug="shop", name="Shop")
    route = SimpleNamespace(name="shop-orders", service=service)
    target = SimpleNamespace(address="10.0.0.5:8080")
    return Finished(
        kind=HTTP,
        request_id="0f9c2d7e6b5a4c3d",
        at=time.time(),
        duration=0.0021,
        method="GET",
        path="/shop/orders/17",
        query=b"",
        scope={"headers": []},
        client_address="192.0.2.10",
        status=200,
        error_reason=None,
        bytes_in=0,
        bytes_out=512,
        complete=True,
        route=route,  # type: ignore[arg-type]
        target=target,  # type: ignore[arg-type]
        upstream_seconds=0.0017,
    )


def _per_call_us(fn: Any, arg: Any, calls: int) -> float:
    for _ in range(1000):
        fn(arg)
    started = time.perf_counter()
    for _ in range(calls):
        fn(arg)
    return (time.perf_counter() - started) / calls * 1e6


def measure(calls: int) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings")
    os.environ["GATEWAY_ACCESS_LOG"] = "0"  # subscribed by hand below, with its own sink
    import django

    from gateway_project.bootstrap import prepare

    prepare()
    django.setup()
    from proxy.access_log import AccessLog
    from proxy.metrics.recorder import MetricsRecorder
    from proxy.metrics.series import IN_FLIGHT
    from proxy.metrics.windows import Windows

    record = _record()
    metrics = MetricsRecorder(Windows())

    def gauge(_: Any) -> None:
        IN_FLIGHT.inc()
        IN_FLIGHT.dec()

    from django.conf import settings

    sink = os.open(os.devnull, os.O_WRONLY)
    access_log = AccessLog(settings.GATEWAY_LOG_FORMAT, fd=sink)
    return {
        "mode": "multiprocess" if os.environ.get("PROMETHEUS_MULTIPROC_DIR") else "single process",
        "calls": calls,
        "metrics_observer_us": round(_per_call_us(metrics, record, calls), 2),
        "in_flight_gauge_us": round(_per_call_us(gauge, None, calls), 2),
        "log_format": settings.GATEWAY_LOG_FORMAT,
        "access_log_us": round(_per_call_us(access_log, record, calls), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--multiprocess", action="store_true", help="use a temporary PROMETHEUS_MULTIPROC_DIR")
    args = parser.parse_args()
    if args.multiprocess:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="gateway-metrics-")
    print(json.dumps(measure(args.calls)))


if __name__ == "__main__":
    main()
