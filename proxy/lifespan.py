"""ASGI lifespan: every app's start and stop hooks, and the background tasks they run.

Apps register from their ``AppConfig.ready`` (so in ``INSTALLED_APPS`` order; stopped in reverse):

- ``add_hooks(start, stop)``: two coroutines (either may be None), awaited at startup and at shutdown;
- ``add_task(name, run, before=..., after=...)``: ``run()`` as a task for the life of the process,
  with ``before`` awaited first and ``after`` awaited once the task is cancelled at shutdown;
- ``every(seconds, tick)``: the loop most such tasks are (``tick`` may be sync or async).

A failing stop hook is logged and the others still run.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]
_hooks: list[tuple[Hook | None, Hook | None]] = []


def add_hooks(start: Hook | None, stop: Hook | None) -> None:
    if (start, stop) not in _hooks:
        _hooks.append((start, stop))


class BackgroundTask:
    """One coroutine run for the life of the process (see ``add_task``)."""

    def __init__(self, name: str, run: Callable[[], Awaitable[None]], before: Hook | None, after: Hook | None) -> None:
        self.name = name
        self.run = run
        self.before = before
        self.after = after
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.task is not None:
            return
        if self.before is not None:
            await self.before()
        self.task = asyncio.get_running_loop().create_task(self._guarded(), name=self.name)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None
        if self.after is not None:
            await self.after()

    async def _guarded(self) -> None:
        try:
            await self.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background task %s stopped with an error", self.name)


_tasks: dict[str, BackgroundTask] = {}


def add_task(
    name: str, run: Callable[[], Awaitable[None]], *, before: Hook | None = None, after: Hook | None = None
) -> None:
    if name in _tasks:
        return
    task = BackgroundTask(name, run, before, after)
    _tasks[name] = task
    add_hooks(task.start, task.stop)


def every(seconds: float | Callable[[], float], tick: Callable[[], Any]) -> Callable[[], Awaitable[None]]:
    """A ``run`` for ``add_task``: call ``tick`` every ``seconds`` (a number, or read each time)."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(seconds() if callable(seconds) else seconds)
            result = tick()
            if inspect.isawaitable(result):
                await result

    return loop


def as_hook(fn: Callable[[], Any]) -> Hook:
    """A plain function as a hook (``after=as_hook(log.flush)``)."""

    async def hook() -> None:
        result = fn()
        if inspect.isawaitable(result):
            await result

    return hook


async def start() -> None:
    for begin, _ in list(_hooks):
        if begin is not None:
            await begin()
    # Everything loaded so far (Django, the apps, the first table) lives as long as the process: keep
    # it out of the cyclic collector, whose full passes over it stalled the loop (p99 x4 under load).
    gc.collect()
    gc.freeze()


async def stop() -> None:
    for _, end in reversed(list(_hooks)):
        if end is None:
            continue
        try:
            await end()
        except Exception:
            log.exception("a shutdown hook failed")


class StartedOnFirstUse:
    """For a server without the lifespan protocol (daphne, under ``manage.py runserver``): the start
    hooks run once, before the first connection is handled."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._started: asyncio.Future[None] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            if self._started is None:
                self._started = asyncio.ensure_future(start())
            await asyncio.shield(self._started)
        await self.app(scope, receive, send)


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
