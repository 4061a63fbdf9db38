"""Live connection counts per route and per channel, for the admin overview.

Each gateway process counts its own connections (``realtime.live``). With ``REDIS_URL`` a task in
every process writes them to ``gateway:realtime:live:<process>`` every
``GATEWAY_REALTIME_COUNTS_INTERVAL`` seconds with a TTL of three intervals, so a process that died
drops out; the admin page sums the keys. Embedded (one process, no Redis) the page reads memory.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections import Counter
from typing import Any

from django.conf import settings

from proxy.redis_clients import async_client, get_many, sync_client
from proxy.serving import serving
from realtime.live import live

log = logging.getLogger(__name__)

KEY_PREFIX = "gateway:realtime:live:"


def local_counts() -> dict[str, Any]:
    return {"process": serving.process_id, "routes": dict(live.routes), "channels": dict(live.channels)}


def gather() -> list[dict[str, Any]]:
    """Every live process's counts (sync: for the admin view)."""
    if not settings.REDIS_URL:
        return [local_counts()]
    with sync_client() as client:
        keys = sorted(client.scan_iter(match=KEY_PREFIX + "*", count=1000))
        values = get_many(client, keys)
    return [json.loads(value) for value in values if value]


def totals(processes: list[dict[str, Any]]) -> tuple[Counter[str], Counter[str]]:
    routes: Counter[str] = Counter()
    channels: Counter[str] = Counter()
    for process in processes:
        routes.update(process.get("routes", {}))
        channels.update(process.get("channels", {}))
    return routes, channels


class CountsWriter:
    """Writes this process's counts every ``interval`` seconds (``realtime.apps`` runs it through the
    lifespan when Redis is configured), and removes them at shutdown."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.key = KEY_PREFIX + serving.process_id
        self.client: Any = None

    async def write(self) -> None:
        if self.client is None:
            self.client = async_client()
        try:
            await self.client.set(self.key, json.dumps(local_counts()), px=int(self.interval * 3000))
        except Exception as exc:  # counts are informational: never fatal
            log.warning("could not write live WebSocket counts to Redis: %r", exc)

    async def forget(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.delete(self.key)
            await self.client.aclose()
            self.client = None
