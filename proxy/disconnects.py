"""Abandon the upstream call when the client disconnects.

The server reports a disconnect only to whoever awaits ``receive()``, which needs a task. Most
requests finish long before ``GRACE`` seconds, so instead of a watcher per request (measured at 8% of
the per-request CPU budget) one sweeper per process looks at the requests in flight every ``GRACE``
seconds and starts a watcher only for those still running; a streamed response gets one at once.
A watcher never reads while the body reader still owns ``receive()``.
"""

from __future__ import annotations

import asyncio
import time

from proxy.exchange import Exchange

GRACE = 0.5

inflight: set[Exchange] = set()


def watch(exchange: Exchange) -> None:
    """Start watching now (a streamed response), if the body has been read."""
    if exchange.watcher is None and exchange.body_done and not exchange.finished:
        exchange.watcher = asyncio.get_running_loop().create_task(_watch(exchange))


def shed() -> int:
    """A graceful shutdown's deadline is near: requests whose answer has not begun are stopped, and
    get a clean 503 ``shutting_down`` instead of a cut connection. Returns how many."""
    count = 0
    for exchange in list(inflight):
        if exchange.status == 0 and not exchange.finished and exchange.task is not None:
            exchange.shed = True
            exchange.task.cancel()
            count += 1
    return count


def forget(exchange: Exchange) -> None:
    inflight.discard(exchange)
    exchange.finished = True
    if exchange.watcher is not None:
        exchange.watcher.cancel()


async def sweep() -> None:
    """Run for the life of the process (``proxy.apps`` starts it through the lifespan)."""
    while True:
        await asyncio.sleep(GRACE)
        oldest = time.perf_counter() - GRACE
        for exchange in list(inflight):
            if exchange.started <= oldest:
                watch(exchange)


async def _watch(exchange: Exchange) -> None:
    while True:
        message = await exchange.receive()
        if message["type"] == "http.disconnect":
            break
    if not exchange.finished and exchange.task is not None:
        exchange.client_left = True
        exchange.task.cancel()
