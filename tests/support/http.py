"""Small HTTP clients for end-to-end tests: ``call`` (http.client, full control over the head) and
``raw`` / ``read_reply`` (plain sockets, for framing tests and requests whose body is held back)."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

HeaderList = Sequence[tuple[str, str]]


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]  # names lower-cased, in the order received
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for n, v in self.headers if n == name]

    def has(self, name: str) -> bool:
        return bool(self.all(name))

    def json(self) -> Any:
        return json.loads(self.body)

    def problem(self, reason: str | None = None) -> dict[str, Any]:
        """The RFC 9457 body of a gateway error, checked against the response's own headers."""
        assert self.header("content-type") == "application/problem+json", self
        problem: dict[str, Any] = json.loads(self.body)
        assert {"type", "title", "status", "detail", "request_id"} <= problem.keys(), problem
        assert problem["status"] == self.status
        assert isinstance(problem["title"], str) and problem["title"]
        assert isinstance(problem["detail"], str) and problem["detail"]
        assert problem["request_id"] == self.header("x-request-id")
        gateway_error = self.header("x-gateway-error")
        assert gateway_error is not None
        assert problem["type"] == f"urn:gateway:error:{gateway_error}"
        if reason is not None:
            assert gateway_error == reason, problem
        return problem

    def echoed_headers(self) -> dict[str, list[str]]:
        """The request headers the demo backend's echo endpoint saw, by lower-cased name."""
        seen: dict[str, list[str]] = {}
        for name, value in self.json()["headers"]:
            seen.setdefault(name.lower(), []).append(value)
        return seen


def _port(server: Any) -> int:
    return server if isinstance(server, int) else int(server.port)


def call(
    server: Any,
    method: str,
    path: str,
    headers: HeaderList | dict[str, str] = (),
    body: bytes | Iterable[bytes] | None = None,
    timeout: float = 10,
) -> Reply:
    """One request on a fresh connection. ``body`` as bytes gets a Content-Length; an iterable of
    chunks is sent with ``Transfer-Encoding: chunked``. A Host header is added unless given."""
    port = _port(server)
    items = list(headers.items()) if isinstance(headers, dict) else list(headers)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        names = {n.lower() for n, _ in items}
        if "host" not in names:
            conn.putheader("Host", f"127.0.0.1:{port}")
        for name, value in items:
            conn.putheader(name, value)
        chunks: Iterable[bytes] | None = None
        if isinstance(body, bytes | bytearray):
            if "content-length" not in names:
                conn.putheader("Content-Length", str(len(body)))
        elif body is not None:
            conn.putheader("Transfer-Encoding", "chunked")
            chunks = body
        conn.endheaders()
        if isinstance(body, bytes | bytearray):
            conn.send(bytes(body))
        elif chunks is not None:
            for chunk in chunks:
                if chunk:
                    conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            conn.send(b"0\r\n\r\n")
        resp = conn.getresponse()
        data = resp.read()
        return Reply(resp.status, [(n.lower(), v) for n, v in resp.getheaders()], data)
    finally:
        conn.close()


def get(server: Any, path: str, headers: HeaderList | dict[str, str] = (), timeout: float = 10) -> Reply:
    return call(server, "GET", path, headers, timeout=timeout)


def connect(server: Any, timeout: float = 5) -> socket.socket:
    return socket.create_connection(("127.0.0.1", _port(server)), timeout=timeout)


def raw(server: Any, data: bytes, timeout: float = 5, method: str = "GET") -> Reply:
    """Send ``data`` verbatim on a new connection and read one response."""
    with connect(server, timeout) as sock:
        sock.sendall(data)
        return read_reply(sock, method)


def read_reply(sock: socket.socket, method: str = "GET") -> Reply:
    """Read one HTTP/1.1 response from ``sock`` (Content-Length, chunked, or up to the close)."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError(f"connection closed before a full response head: {buffer!r}")
        buffer += data
    head, _, rest = buffer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    reply = Reply(status, headers, b"")
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return reply
    length = reply.header("content-length")
    if length is not None:
        while len(rest) < int(length):
            data = sock.recv(65536)
            if not data:
                break
            rest += data
        reply.body = rest[: int(length)]
    elif (reply.header("transfer-encoding") or "").lower() == "chunked":
        reply.body = _dechunk(sock, rest)
    else:
        while data := sock.recv(65536):
            rest += data
        reply.body = rest
    return reply


def _dechunk(sock: socket.socket, buffer: bytes) -> bytes:
    body = b""
    while True:
        while b"\r\n" not in buffer:
            buffer += _recv(sock)
        size_line, _, buffer = buffer.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        while len(buffer) < size + 2:
            buffer += _recv(sock)
        body += buffer[:size]
        buffer = buffer[size + 2 :]
        if size == 0:
            return body


def _recv(sock: socket.socket) -> bytes:
    data = sock.recv(65536)
    if not data:
        raise ConnectionError("connection closed inside a chunked body")
    return data


def closed_by_peer(sock: socket.socket, timeout: float = 3) -> bool:
    """True when the peer closes (or resets) the connection within ``timeout`` seconds."""
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
