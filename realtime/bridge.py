"""One proxied WebSocket: frames both ways between the client (ASGI) and the backend (websockets).

Backpressure: each direction moves one message at a time. A message from the client is read (the
server reads the socket again only then) once the previous one was written to the backend, whose
write buffer is bounded; the backend's connection buffers at most ``GATEWAY_WEBSOCKET_QUEUE``
messages before it stops reading its socket, and a send to a slow client waits for its buffer to
drain. Nothing grows without bound.

Closing (``End``): whoever ends the session, both legs get a Close frame, and the close code crosses
over (a backend's 4001 reaches the client as 4001 and the other way round). A backend that vanishes
without a Close gives the client 1011; one that breaks the protocol, 1014; a message over the limit
1009; idleness and gateway shutdown 1001.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from realtime.live import live
from realtime.metrics import MESSAGES

log = logging.getLogger(__name__)

NORMAL, GOING_AWAY, PROTOCOL_ERROR, NO_STATUS, ABNORMAL = 1000, 1001, 1002, 1005, 1006
TOO_BIG, INTERNAL_ERROR, BAD_GATEWAY = 1009, 1011, 1014
# Codes that may appear in a Close frame (RFC 6455 7.4, and the IANA registry up to 1014).
_SENDABLE = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014})


def sendable(code: int | None, fallback: int) -> int:
    if code is not None and (code in _SENDABLE or 3000 <= code <= 4999):
        return code
    return fallback


@dataclass(frozen=True, slots=True)
class End:
    to_client: int | None  # the code to send the client; None: it already closed
    to_backend: int | None  # the code to send the backend; None: it already closed
    reason: str
    by: str  # client, backend or gateway
    code: int  # the code the session is recorded with


class Bridge:
    def __init__(self, receive: Any, send: Any, backend: ClientConnection, route: str, max_bytes: int, idle: float):
        self.receive = receive
        self.send = send
        self.backend = backend
        self.max_bytes = max_bytes
        self.idle = idle
        self.end: End | None = None
        self.ended = asyncio.Event()
        self.last_activity = time.monotonic()
        self.messages_in = self.messages_out = self.bytes_in = self.bytes_out = 0
        self._in = MESSAGES.labels(route, "in")
        self._out = MESSAGES.labels(route, "out")
        self._tasks: list[asyncio.Task[None]] = []

    def finish(self, end: End) -> None:
        if self.end is None:
            self.end = end
            self.ended.set()

    async def run(self) -> End:
        self._tasks = [asyncio.create_task(self._from_client()), asyncio.create_task(self._from_backend())]
        if self.idle > 0:
            self._tasks.append(asyncio.create_task(self._watch_idle()))
        for task in self._tasks:
            task.add_done_callback(self._crashed)
        try:
            await self.ended.wait()
        finally:
            self.finish(End(GOING_AWAY, GOING_AWAY, "gateway shutdown", "gateway", GOING_AWAY))  # if cancelled
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._close_legs()
        assert self.end is not None
        return self.end

    async def shut(self, code: int, reason: str) -> None:
        """Close both legs from outside (gateway shutdown)."""
        self.finish(End(code, code, reason, "gateway", code))

    def _crashed(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        log.error("WebSocket relay failed", exc_info=task.exception())
        self.finish(End(INTERNAL_ERROR, GOING_AWAY, "gateway error", "gateway", INTERNAL_ERROR))

    async def _from_client(self) -> None:
        backend = self.backend
        while True:
            message = await self.receive()
            kind = message["type"]
            if kind == "websocket.disconnect":
                if live.shutting_down:  # the server closed the client leg for its shutdown (realtime.server)
                    self.finish(End(None, GOING_AWAY, "gateway shutdown", "gateway", GOING_AWAY))
                else:
                    self.finish(_client_closed(message.get("code", NO_STATUS), message.get("reason") or ""))
                return
            if kind != "websocket.receive":
                continue
            text = message.get("text")
            data: bytes = text.encode() if text is not None else message.get("bytes") or b""
            if len(data) > self.max_bytes:
                self.finish(End(TOO_BIG, GOING_AWAY, "message too big", "gateway", TOO_BIG))
                return
            self.last_activity = time.monotonic()
            self.messages_in += 1
            self.bytes_in += len(data)
            self._in.inc()
            try:
                await backend.send(data, text=text is not None)
            except ConnectionClosed as closed:
                self.finish(_backend_closed(closed))
                return

    async def _from_backend(self) -> None:
        send = self.send
        try:
            while True:
                message = await self.backend.recv()
                self.last_activity = time.monotonic()
                self.messages_out += 1
                self._out.inc()
                if isinstance(message, str):
                    self.bytes_out += len(message.encode())
                    await send({"type": "websocket.send", "text": message})
                else:
                    self.bytes_out += len(message)
                    await send({"type": "websocket.send", "bytes": message})
        except ConnectionClosed as closed:
            self.finish(_backend_closed(closed))
        except OSError:
            # The client is gone (uvicorn's ClientDisconnected); its disconnect message ends the session.
            await asyncio.Event().wait()

    async def _watch_idle(self) -> None:
        while True:
            left = self.last_activity + self.idle - time.monotonic()
            if left <= 0:
                self.finish(End(GOING_AWAY, GOING_AWAY, "idle timeout", "gateway", GOING_AWAY))
                return
            await asyncio.sleep(left)

    async def _close_legs(self) -> None:
        end = self.end
        assert end is not None
        if end.to_client is not None:
            with contextlib.suppress(Exception):
                await self.send({"type": "websocket.close", "code": end.to_client, "reason": end.reason[:120]})
        if end.to_backend is not None:
            with contextlib.suppress(Exception):
                await self.backend.close(end.to_backend, end.reason[:120])
        else:
            with contextlib.suppress(Exception):
                await self.backend.wait_closed()


def _client_closed(code: int, reason: str) -> End:
    if code == ABNORMAL:  # the client vanished without a Close frame
        return End(None, GOING_AWAY, "client went away", "client", ABNORMAL)
    return End(None, sendable(code, NORMAL), reason, "client", code)


def _backend_closed(closed: ConnectionClosed) -> End:
    if closed.rcvd is not None:  # the backend sent a Close frame: its code crosses over
        code = closed.rcvd.code
        return End(sendable(code, NORMAL), None, closed.rcvd.reason, "backend", code)
    if closed.sent is not None and closed.sent.code == TOO_BIG:
        return End(TOO_BIG, None, "backend message too big", "backend", TOO_BIG)
    if closed.sent is not None and closed.sent.code == PROTOCOL_ERROR:
        return End(BAD_GATEWAY, None, "backend broke the protocol", "backend", BAD_GATEWAY)
    return End(INTERNAL_ERROR, None, "backend went away", "backend", INTERNAL_ERROR)
