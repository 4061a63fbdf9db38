"""Subscribe the metrics observer and, with several workers, share the performance windows."""

from __future__ import annotations

import contextlib
import os

from proxy import lifespan, observe
from proxy.metrics import multiproc
from proxy.metrics.recorder import MetricsRecorder
from proxy.metrics.windows import windows

recorder = MetricsRecorder(windows)


def install() -> None:
    observe.subscribe(recorder)
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
