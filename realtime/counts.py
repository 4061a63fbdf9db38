"""Live connection counts per route and per channel, for the admin overview.

Each gateway process counts its own connections (``realtime.live``). With ``REDIS_URL`` a task in
every process writes them to ``gateway:realtime:live:<process>`` every
``GATEWAY_REALTIME_COUNTS_INTERVAL`` seconds with a TTL of three intervals, so a process that died
drops out; the admin page sums the keys. Embedded (one process, no Redis) the page reads memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from typing import Any

from django.conf import settings

from realtime.live import live
from registry.watch import watcher

log = logging.getLogger(__name__)

KEY_PREFIX = "gateway:realtime:live:"
_task: asyncio.Task[None] | None = None


def local_counts() -> dict[str, Any]:
    return {"process": watcher.process_id, "routes": dict(live.routes), "channels": dict(live.channels)}


def gather() -> list[dict[str, Any]]:
    """Every live process's counts (sync: for the admin view)."""
    if not settings.REDIS_URL:
        return [local_counts()]
    import redis

    with redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1) as client:
        keys = sorted(client.scan_iter(match=KEY_PREFIX + "*", count=1000))
        values = client.mget(keys) if keys else []
    return [json.loads(value) for value in values if value]


def totals(processes: list[dict[str, Any]]) -> tuple[Counter[str], Counter[str]]:
    routes: Counter[str] = Counter()
    channels: Counter[str] = Counter()
    for process in processes:
        routes.update(process.get("routes", {}))
        channels.update(process.get("channels", {}))
    return routes, channels


async def _write_forever(interval: float) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    key = KEY_PREFIX + watcher.process_id
    try:
        while True:
            try:
                await client.set(key, json.dumps(local_counts()), px=int(interval * 3000))
            except Exception as exc:  # counts are informational: never fatal
                log.warning("could not write live WebSocket counts to Redis: %r", exc)
            await asyncio.sleep(interval)
    finally:
        with contextlib.suppress(Exception):
            await client.delete(key)
        await client.aclose()


async def start() -> None:
    global _task
    if settings.REDIS_URL and _task is None:
        interval = settings.GATEWAY_REALTIME_COUNTS_INTERVAL
        _task = asyncio.create_task(_write_forever(interval), name="realtime-counts")


async def stop() -> None:
    global _task
    if _task is not None:
        _task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await _task
        _task = None
