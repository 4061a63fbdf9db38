"""Subscribe the metrics observer and, with several workers, share the performance windows."""

from __future__ import annotations

import contextlib
import os
import threading

from proxy import lifespan, observe
from proxy.metrics import multiproc
from proxy.metrics.recorder import MetricsRecorder
from proxy.metrics.windows import windows

recorder = MetricsRecorder(windows)
_synced: dict[tuple[str, str], int] = {}
_sync_lock = threading.Lock()


def settings_flush_seconds() -> float:
    from django.conf import settings

    return float(settings.GATEWAY_METRICS_FLUSH_SECONDS)


def sync_connection_counts() -> None:
    """Add what the upstream client counted since the last call (plain ints on the hot path). Runs
    every flush and before each scrape; a service's four series appear together."""
    from proxy.metrics.series import UPSTREAM_CONNECTIONS
    from proxy.upstream import service_stats

    with _sync_lock:
        for slug, stats in list(service_stats.items()):
            for use, value in (
                ("opened", stats.opened),
                ("reused", stats.reused),
                ("waited", stats.waits),
                ("tls", stats.tls_handshakes),
            ):
                done = _synced.get((slug, use))
                if done is None or value > done:
                    UPSTREAM_CONNECTIONS.labels(slug, use).inc(value - (done or 0))
                    _synced[(slug, use)] = value


def install() -> None:
    observe.subscribe(recorder)
    lifespan.add_task("upstream-connection-counts", lifespan.every(settings_flush_seconds, sync_connection_counts))
    directory = multiproc.directory()
    if directory is None:
        return
    from django.conf import settings

    async def forget_this_worker() -> None:
        from prometheus_client import multiprocess

        # A worker that exits cleanly takes its live gauges (in-flight, served version) with it.
        multiprocess.mark_process_dead(os.getpid(), directory)

    def share() -> None:
        with contextlib.suppress(OSError):
            windows.write(directory)

    every = lifespan.every(settings.GATEWAY_METRICS_FLUSH_SECONDS, share)
    lifespan.add_task("perf-flush", every, after=forget_this_worker)
