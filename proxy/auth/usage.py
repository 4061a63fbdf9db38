"""'Last used' for API keys without a database write per request.

The policy records a key's use in a dict (one assignment); a task started by ``proxy.lifespan``
flushes the dict every ``GATEWAY_API_KEY_USAGE_FLUSH_SECONDS`` in a worker thread, one UPDATE per
key used since the last flush.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

_used: dict[int, float] = {}


def record(key_id: int, now: float | None = None) -> None:
    _used[key_id] = now if now is not None else time.time()


def take() -> dict[int, float]:
    """The uses recorded since the last call, and a fresh dict for the next ones."""
    global _used
    taken, _used = _used, {}
    return taken


async def flush_forever(interval: float, write: Callable[[dict[int, float]], None]) -> None:
    loop = asyncio.get_running_loop()
    try:
        while True:
            await asyncio.sleep(interval)
            await flush(loop, write)
    finally:
        await flush(loop, write)  # a clean stop keeps what the last interval recorded


async def flush(loop: asyncio.AbstractEventLoop, write: Callable[[dict[int, float]], None]) -> None:
    used = take()
    if not used:
        return
    try:
        await loop.run_in_executor(None, write, used)
    except Exception:
        log.exception("could not record the last use of %d API keys", len(used))
