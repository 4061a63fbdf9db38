"""Subscribe the metrics observer and, with several workers, share the performance windows."""

from __future__ import annotations

import asyncio
import contextlib

from proxy import lifespan, observe
from proxy.metrics import multiproc
from proxy.metrics.recorder import MetricsRecorder
from proxy.metrics.windows import windows

recorder = MetricsRecorder(windows)
_task: asyncio.Task[None] | None = None


async def _start() -> None:
    global _task
    from django.conf import settings

    directory = multiproc.directory()
    if directory is not None and _task is None:
        interval = settings.GATEWAY_METRICS_FLUSH_SECONDS
        _task = asyncio.get_running_loop().create_task(windows.flush_forever(directory, interval), name="perf-flush")


async def _stop() -> None:
    global _task
    if _task is not None:
        _task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await _task
        _task = None
    directory = multiproc.directory()
    if directory is not None:
        import os

        from prometheus_client import multiprocess

        # A worker that exits cleanly takes its live gauges (in-flight, served version) with it.
        multiprocess.mark_process_dead(os.getpid(), directory)


def install() -> None:
    observe.subscribe(recorder)
    lifespan.add_hooks(_start, _stop)
