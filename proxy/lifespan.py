"""ASGI lifespan: start the config watcher and the upstream session, and stop them cleanly."""

from __future__ import annotations

import logging
from typing import Any

from proxy import disconnects
from proxy.upstream import close_session, get_session
from registry.watch import watcher

log = logging.getLogger(__name__)


async def start() -> None:
    get_session()
    disconnects.ensure_sweeper()
    await watcher.start()


async def stop() -> None:
    await watcher.stop()
    await disconnects.stop_sweeper()
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
