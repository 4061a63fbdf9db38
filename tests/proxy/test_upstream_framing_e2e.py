"""Through the gateway: what a client receives for each way a backend frames its response, exactly,
and that a response with framing the gateway cannot trust never reaches it."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from collections.abc import Iterator

import pytest

from tests.support.config import ConfigHelper
from tests.support.http import call, get
from tests.support.servers import GatewayProcess

BIG = bytes(range(256)) * 1200  # 300 KiB: more than is read whole, so it is streamed
GZIPPED = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xcbH\xcd\xc9\xc9\x07\x00\x86\xa6\x106\x05\x00\x00\x00"


def _chunked(data: bytes, size: int = 50_000) -> bytes:
    parts = [b"%x\r\n%b\r\n" % (len(data[i : i + size]), data[i : i + size]) for i in range(0, len(data), size)]
    return b"".join(parts) + b"0\r\n\r\n"


ANSWERS: dict[bytes, tuple[bytes, bool]] = {  # path: (wire, close after)
    b"/odd/chunked": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + _chunked(BIG), False),
    b"/odd/close": (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the backend closes", True),
    b"/odd/cookies": (
        b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Encoding: gzip\r\n"
        b"Content-Length: %d\r\n\r\n%b" % (len(GZIPPED), GZIPPED),
        False,
    ),
    b"/odd/head": (b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", False),
    b"/odd/not-modified": (b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n', False),
    b"/odd/continue": (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal", False),
    b"/odd/ambiguous": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nsecret\r\n0\r\n\r\n",
        True,
    ),
    b"/odd/two-lengths": (b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nContent-Length: 7\r\n\r\nsecret!", True),
    b"/odd/bad-chunk-later": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + _chunked(BIG)[:-5] + b"zz\r\nsecret\r\n",
        True,
    ),
}


class ScriptedBackend:
    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            buffer = b""
            try:
                while True:
                    while b"\r\n\r\n" not in buffer:
                        data = conn.recv(65536)
                        if not data:
                            return
                        buffer += data
                    head, buffer = buffer.split(b"\r\n\r\n", 1)
                    path = head.split(b" ", 2)[1]
                    wire, close = ANSWERS[path]
                    conn.sendall(wire)
                    if close:
                        return
            except OSError:
                return

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


@pytest.fixture
def scripted(config: ConfigHelper) -> Iterator[ScriptedBackend]:
    server = ScriptedBackend()
    config.route(config.service("odd", targets=[server], retries=0), "/odd", strip_prefix=False)
    config.sync()
    yield server
    server.close()


def test_each_framing_reaches_the_client_byte_for_byte(gateway: GatewayProcess, scripted: ScriptedBackend) -> None:
    chunked = get(gateway, "/odd/chunked")
    close = get(gateway, "/odd/close")
    cookies = get(gateway, "/odd/cookies")
    head = call(gateway, "HEAD", "/odd/head")
    not_modified = get(gateway, "/odd/not-modified")
    after_continue = get(gateway, "/odd/continue")

    assert (chunked.status, chunked.body) == (200, BIG)
    assert (close.status, close.body, close.header("content-type")) == (200, b"until the backend closes", "text/plain")
    assert (cookies.body, cookies.all("set-cookie"), cookies.header("content-encoding")) == (
        GZIPPED,
        ["a=1", "b=2"],
        "gzip",
    )
    assert (head.status, head.body, head.header("content-length")) == (200, b"", "1000")
    assert (not_modified.status, not_modified.body, not_modified.header("etag")) == (304, b"", '"v1"')
    assert (after_continue.status, after_continue.body) == (200, b"final")


@pytest.mark.parametrize("path", ["/odd/ambiguous", "/odd/two-lengths"])
def test_ambiguous_framing_is_a_502_and_none_of_it_reaches_the_client(
    gateway: GatewayProcess, scripted: ScriptedBackend, path: str
) -> None:
    reply = get(gateway, path)

    assert reply.status == 502
    reply.problem("upstream_bad_response")
    assert b"secret" not in reply.body


def test_a_bad_chunk_after_the_head_cuts_the_client_connection_short(
    gateway: GatewayProcess, scripted: ScriptedBackend
) -> None:
    with pytest.raises(http.client.IncompleteRead) as cut:
        get(gateway, "/odd/bad-chunk-later")
    assert b"secret" not in cut.value.partial
