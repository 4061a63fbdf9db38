"""A TCP proxy on 127.0.0.1 in front of a server, for faults no real network would produce on demand.

- ``delay``: every chunk waits this long, in both directions (artificial latency); it may be changed
  while the proxy runs, and chunks are delivered in order (a queue per direction);
- ``pause()``: every open connection is cut and new ones are refused, until ``resume()``;
- ``blackhole()``: nothing gets through any more and nothing is answered, on open connections and new
  ones, without a reset: a host whose packets are dropped (until ``resume()``).

It runs in a thread with its own event loop, so a test can put it in front of the shared Postgres or
Redis without ever stopping them.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

from tests.support.servers import free_port


class FaultProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1", delay: float = 0.0) -> None:
        self.target = (target_host, target_port)
        self.delay = delay
        self.paused = False
        self.blackholed = False
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="fault-proxy")
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    def start(self) -> FaultProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fault proxy did not start")
        return self

    def pause(self) -> None:
        self.loop.call_soon_threadsafe(self._cut)

    def blackhole(self) -> None:
        self.blackholed = True

    def resume(self) -> None:
        self.paused = False
        self.blackholed = False

    def stop(self) -> None:
        async def shutdown() -> None:
            self._cut()
            if self._server is not None:
                self._server.close()
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def _cut(self) -> None:
        self.paused = True
        for writer in list(self._writers):
            writer.transport.abort()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self._server = self.loop.run_until_complete(asyncio.start_server(self._accept, "127.0.0.1", self.port))
        self._ready.set()
        self.loop.run_forever()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.paused:
            writer.transport.abort()
            return
        if self.blackholed:
            await self._swallow(reader, writer)
            return
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            self._tasks.discard(task)
            return
        self._writers.update((writer, up_writer))
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True)
        finally:
            for w in (writer, up_writer):
                if self.paused:
                    w.transport.abort()
                else:
                    w.close()
            self._writers.difference_update((writer, up_writer))
            self._tasks.discard(task)

    async def _swallow(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A connection made while blackholed: read and drop everything, answer nothing."""
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while await reader.read(65536):
                pass
        except OSError:
            pass
        finally:
            writer.transport.abort()
            self._tasks.discard(task)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, chunk = await queue.get()
                if not chunk:
                    break
                wait = due - self.loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if self.blackholed:
                    continue  # dropped on the floor: no answer, no reset
                writer.write(chunk)
                await writer.drain()
            with contextlib.suppress(OSError):
                writer.write_eof()

        sender = asyncio.create_task(deliver())
        self._tasks.add(sender)  # so stop() cancels it too
        sender.add_done_callback(self._tasks.discard)
        try:
            while chunk := await reader.read(65536):
                queue.put_nowait((self.loop.time() + self.delay, chunk))
        except OSError:
            pass
        queue.put_nowait((0.0, b""))
        with contextlib.suppress(OSError, RuntimeError):
            await sender
