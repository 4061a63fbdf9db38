"""ASGI lifespan: start the config watcher, the upstream session and the API-key usage flusher,
and stop them cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from django.conf import settings

from proxy.auth import credentials, usage
from proxy.upstream import close_session, get_session
from registry.services import record_key_usage
from registry.watch import watcher

log = logging.getLogger(__name__)

_tasks: list[asyncio.Task[None]] = []


async def start() -> None:
    get_session()
    await watcher.start()
    interval = settings.GATEWAY_API_KEY_USAGE_FLUSH_SECONDS
    _tasks.append(asyncio.create_task(usage.flush_forever(interval, record_key_usage), name="key-usage"))


async def stop() -> None:
    for task in _tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    _tasks.clear()
    await watcher.stop()
    await credentials.close()
    await close_session()


async def lifespan(scope: dict[str, Any], receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await start()
            except Exception as exc:
                log.exception("gateway startup failed")
                await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await stop()
            await send({"type": "lifespan.shutdown.complete"})
            return
