"""A bare ASGI app behind ``proxy.server.GatewayHttpToolsProtocol`` in a real uvicorn on 127.0.0.1, and a
raw-socket client: what the edge tests (tests/proxy/test_edge_*.py) run against.

The server runs in a subprocess with small limits set through the environment, serving ``app`` below,
which counts its calls per path (and the bodies it read to their end) so a test can prove the app
never saw a refused request, or never got a broken body whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HEADER_TIMEOUT = 0.5
MAX_HEADER_BYTES = 16384
MAX_HEADER_COUNT = 64
MAX_FIELD_BYTES = 4096
MAX_URI_BYTES = 4096

CALLS: Counter[str] = Counter()
COMPLETE: Counter[str] = Counter()  # bodies read to their end (more_body false), by path


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": "hi"})
        while (message := await receive())["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": message.get("text") or ""})
        return
    if scope["path"] == "/calls":
        body = str(CALLS[scope["query_string"].decode()]).encode()
    elif scope["path"] == "/complete":
        body = str(COMPLETE[scope["query_string"].decode()]).encode()
    else:
        CALLS[scope["path"][:200]] += 1
        received, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # what a proxy must do: abandon the request
            received += message.get("body", b"")
            more = message.get("more_body", False)
        COMPLETE[scope["path"][:200]] += 1
        if scope["path"] == "/slow":
            await asyncio.sleep(0.3)
        body = f"ok {scope['path']} headers={len(scope['headers'])} body={len(received)}".encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@dataclass
class Response:
    status: int
    headers: dict[bytes, bytes]
    body: bytes

    def problem(self) -> dict[str, Any]:
        assert self.headers[b"content-type"] == b"application/problem+json"
        problem: dict[str, Any] = json.loads(self.body)
        assert problem["status"] == self.status
        assert problem["request_id"] == self.headers[b"x-request-id"].decode()
        assert problem["type"] == "urn:gateway:error:" + self.headers[b"x-gateway-error"].decode()
        return problem


class Client:
    def __init__(self, port: int, timeout: float = 3.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may refuse before reading everything; its answer is still readable

    def response(self) -> Response:
        while b"\r\n\r\n" not in self.buffer:
            self.read_more()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *lines = head.split(b"\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get(b"content-length", b"0"))
        while len(self.buffer) < length:
            self.read_more()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return Response(int(status_line.split()[1]), headers, body)

    def is_closed_by_server(self) -> bool:
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()

    def read_more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"server closed the connection; unread: {self.buffer[:200]!r}")
        self.buffer += chunk


def get(path: str = "/", extra: bytes = b"") -> bytes:
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: gateway.test\r\n" + extra + b"\r\n"


@contextlib.contextmanager
def serve(log_dir: Path) -> Iterator[int]:
    """uvicorn with the gateway's protocol and small limits, serving ``app``, in a subprocess."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    env = {
        **os.environ,
        "GATEWAY_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
        "GATEWAY_MAX_HEADER_BYTES": str(MAX_HEADER_BYTES),
        "GATEWAY_MAX_HEADER_COUNT": str(MAX_HEADER_COUNT),
        "GATEWAY_MAX_HEADER_FIELD_BYTES": str(MAX_FIELD_BYTES),
        "GATEWAY_MAX_URI_BYTES": str(MAX_URI_BYTES),
    }
    command = [
        sys.executable, "-m", "uvicorn", "tests.support.edge_server:app",
        "--http", "proxy.server:GatewayHttpToolsProtocol", "--loop", "uvloop", "--lifespan", "off",
        "--host", "127.0.0.1", "--port", str(free_port), "--timeout-keep-alive", "5", "--log-level", "warning",
    ]  # fmt: skip
    log = (log_dir / "uvicorn.log").open("wb")
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", free_port), timeout=0.2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"uvicorn did not start, see {log.name}") from None
                time.sleep(0.05)
        yield free_port
    finally:
        server.terminate()
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    output = Path(log.name).read_text()
    assert "Traceback" not in output, output


def calls(port: int, path: str, what: str = "calls") -> int:
    connection = Client(port)
    try:
        connection.send(get(f"/{what}?" + path[:200]))
        return int(connection.response().body)
    finally:
        connection.close()


def complete(port: int, path: str) -> int:
    return calls(port, path, "complete")
