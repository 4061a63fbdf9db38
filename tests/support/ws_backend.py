"""A real WebSocket backend on 127.0.0.1 (websockets server in a thread with its own loop).

It echoes every message (text as text, binary as binary) and obeys a few text commands:
``close:<code>`` closes with that code, ``crash`` drops the TCP connection without a Close frame,
``request`` answers with the handshake it saw (path, headers, subprotocol) as JSON, ``big:<n>`` sends
n bytes of text, ``flood:<count>:<size>`` sends count binary messages as fast as its writes are
taken. ``/refuse`` answers the upgrade with HTTP 403. It records the close codes its clients (the
gateway) sent in ``closes``.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
import time
from collections.abc import Sequence
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from tests.support.servers import free_port

SUBPROTOCOLS = ["chat.v2", "chat.v1"]


class WebSocketBackend:
    def __init__(self, port: int | None = None, tls: ssl.SSLContext | None = None) -> None:
        self.port = port or free_port()
        self.tls = tls  # a server context: wss
        self.loop = asyncio.new_event_loop()
        self.closes: list[tuple[int | None, str]] = []
        self.connections = 0
        self.flood_sent = 0  # messages of the last flood:<count>:<size> the backend got to write
        self._server: Server | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="ws-backend")

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self._server = self.loop.run_until_complete(self._start())
        self._ready.set()
        self.loop.run_forever()

    async def _start(self) -> Server:
        return await serve(
            self._handle,
            "127.0.0.1",
            self.port,
            select_subprotocol=_select,
            process_request=self._process_request,
            max_size=64 * 1024 * 1024,
            compression=None,
            ping_interval=None,
            ssl=self.tls,
        )

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path.startswith("/refuse"):
            body = b'{"error": "backend says no"}'
            headers = Headers({"Content-Type": "application/json", "Content-Length": str(len(body))})
            return Response(403, "Forbidden", headers, body)
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections += 1
        try:
            async for message in ws:
                if isinstance(message, str) and message.startswith("close:"):
                    await ws.close(int(message[6:]), "backend closes")
                    break
                if message == "crash":
                    assert ws.transport is not None
                    ws.transport.abort()
                    return
                if message == "request":
                    assert ws.request is not None
                    await ws.send(json.dumps(_described(ws)))
                    continue
                if isinstance(message, str) and message.startswith("flood:"):
                    count, size = (int(x) for x in message[6:].split(":"))
                    for i in range(count):
                        await ws.send(i.to_bytes(4, "big") * (size // 4))
                        self.flood_sent = i + 1
                    continue
                if isinstance(message, str) and message.startswith("big:"):
                    await ws.send("x" * int(message[4:]))
                    continue
                await ws.send(message)
        except ConnectionClosed:
            pass
        finally:
            await ws.wait_closed()
            self.closes.append((ws.close_code, ws.close_reason or ""))  # what the gateway sent (1006: nothing)

    def start(self) -> WebSocketBackend:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("WebSocket backend did not start")
        return self

    def stop(self) -> None:
        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def wait_for_closes(self, count: int, timeout: float = 5) -> list[tuple[int | None, str]]:
        deadline = time.monotonic() + timeout
        while len(self.closes) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.closes


def _select(connection: ServerConnection, offered: Sequence[Subprotocol]) -> Subprotocol | None:
    """The first offered protocol the backend speaks, or none (websockets' default refuses that)."""
    return next((p for p in offered if p in SUBPROTOCOLS), None)


def _described(ws: ServerConnection) -> dict[str, Any]:
    assert ws.request is not None
    return {
        "path": ws.request.path,
        "headers": [[name, value] for name, value in ws.request.headers.raw_items()],
        "subprotocol": ws.subprotocol,
    }
