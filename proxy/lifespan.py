"""ASGI lifespan: start the config watcher, the upstream session and the feature apps' background
tasks (registered with ``add_hooks`` from their ``AppConfig.ready``), and stop them cleanly."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from proxy import disconnects
from proxy.upstream import close_session, get_session
from registry.watch import watcher

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]
_hooks: list[tuple[Hook, Hook]] = []


def add_hooks(start: Hook, stop: Hook) -> None:
    if (start, stop) not in _hooks:
        _hooks.append((start, stop))


async def start() -> None:
    get_session()
    disconnects.ensure_sweeper()
    await watcher.start()
    for begin, _ in _hooks:
        await begin()


async def stop() -> None:
    for _, end in reversed(_hooks):
        try:
            await end()
        except Exception:
            log.exception("a shutdown hook failed")
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
