"""'Last used' for API keys without a database write per request.

The policy records a key's use in a dict (one assignment); ``registry`` flushes the dict every
``GATEWAY_API_KEY_USAGE_FLUSH_SECONDS`` (and at shutdown) in a worker thread, one UPDATE per key
used since the last flush.
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


async def flush(write: Callable[[dict[int, float]], None]) -> None:
    used = take()
    if not used:
        return
    try:
        await asyncio.get_running_loop().run_in_executor(None, write, used)
    except Exception:
        log.exception("could not record the last use of %d API keys", len(used))
