"""Graceful shutdown on SIGTERM (what `kill`, systemd and Kubernetes send), for uvicorn's workers.

    SIGTERM ─> /ready answers 503, requests still taken ─(GATEWAY_SHUTDOWN_DELAY)─> uvicorn stops
    accepting; requests in flight finish ─(GATEWAY_SHUTDOWN_GRACE - 1 s)─> those whose answer has not
    begun get a clean 503 shutting_down ─(the grace deadline)─> WebSockets closed with 1001, the
    lifespan's stop hooks (the audit buffer flushed, breaker events written)

Installed at lifespan startup (``gateway_project/asgi.py``), once uvicorn has set its own SIGTERM
handler: ours marks the process draining and hands the signal to uvicorn's after the delay. A second
SIGTERM, or SIGINT (Ctrl-C), goes to uvicorn at once. ``gateway_project.serve`` gives uvicorn the same
grace as its ``timeout_graceful_shutdown``.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

from django.conf import settings

from proxy import disconnects
from proxy.serving import serving

SHED_BEFORE = 1.0  # seconds before the grace deadline when requests still unanswered get their 503


async def install() -> None:
    loop = asyncio.get_running_loop()
    original = signal.getsignal(signal.SIGTERM)
    if not callable(original):
        return  # no server handler to hand the signal to (not under uvicorn)

    def stop_now(sig: int, frame: Any) -> None:
        original(sig, frame)
        grace = settings.GATEWAY_SHUTDOWN_GRACE
        loop.call_later(max(grace - SHED_BEFORE, 0.0), disconnects.shed)

    def on_term(sig: int, frame: Any) -> None:
        if serving.draining:  # a second SIGTERM: no more waiting
            stop_now(sig, frame)
            return
        serving.draining = True
        loop.call_soon_threadsafe(loop.call_later, settings.GATEWAY_SHUTDOWN_DELAY, stop_now, sig, frame)

    with contextlib.suppress(ValueError):  # signals can only be set from the main thread
        signal.signal(signal.SIGTERM, on_term)
