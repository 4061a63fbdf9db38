"""Strict framing through the real gateway (RFC 9112), on raw sockets: each malformed body, odd
Transfer-Encoding, forbidden trailer, oversized head and refused method is answered at once with a
problem+json and the connection closed, and a backend that counts what it received proves that no
partial or smuggled request ever reached it. Slow bodies meet the route's total body deadline."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from tests.support.config import ConfigHelper
from tests.support.counting_backend import CountingBackend
from tests.support.http import Reply, closed_by_peer, connect, read_reply
from tests.support.servers import BackendThread, GatewayProcess


@pytest.fixture
def counting(config: ConfigHelper) -> Iterator[CountingBackend]:
    backend = CountingBackend()
    server = BackendThread("counting", app=backend.app).start()
    service = config.service("framing", targets=[server])
    config.route(service, "/up")
    config.route(service, "/slow", body_timeout=2)
    config.sync()
    yield backend
    server.stop()


def chunked(path: str = "/up/x", extra: bytes = b"") -> bytes:
    return (
        b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n" + extra + b"\r\n"
    )


def refused_at_once(sock: socket.socket, started: float) -> Reply:
    reply = read_reply(sock)
    assert time.monotonic() - started < 1.5, "answered after a timeout, not at once"
    assert reply.header("connection") == "close"
    assert closed_by_peer(sock)
    return reply


BROKEN_CHUNKS = {
    "size-overflow": b"ffffffffffffffffff1\r\nabc\r\n0\r\n\r\n",
    "bare-lf-in-extension": b"3;name=value\nabc\r\n0\r\n\r\n",
    "no-crlf-after-data": b"3\r\nabcX\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("broken", list(BROKEN_CHUNKS), ids=list(BROKEN_CHUNKS))
def test_a_broken_first_chunk_gets_400_at_once_and_never_reaches_the_backend(
    gateway: GatewayProcess, counting: CountingBackend, broken: str
) -> None:
    with connect(gateway) as sock:
        started = time.monotonic()
        sock.sendall(chunked() + BROKEN_CHUNKS[broken])
        reply = refused_at_once(sock, started)

    assert reply.status == 400
    reply.problem("invalid_framing")
    time.sleep(0.2)
    assert counting.started == [] and counting.complete == []


@pytest.mark.parametrize("broken", list(BROKEN_CHUNKS), ids=list(BROKEN_CHUNKS))
def test_a_chunk_that_breaks_mid_body_abandons_the_upstream_request(
    gateway: GatewayProcess, counting: CountingBackend, broken: str
) -> None:
    with connect(gateway) as sock:
        sock.sendall(chunked() + b"5\r\nhello\r\n")
        deadline = time.monotonic() + 3
        while not counting.started and time.monotonic() < deadline:
            time.sleep(0.02)  # the gateway streams the body: the backend has the head and a chunk
        assert counting.started == ["/x"]
        started = time.monotonic()
        sock.sendall(BROKEN_CHUNKS[broken])
        reply = refused_at_once(sock, started)

    assert reply.status == 400
    reply.problem("invalid_framing")
    time.sleep(0.3)
    assert counting.complete == []  # the backend never got the request whole


@pytest.mark.parametrize("coding", [b"gzip", b"xchunked", b"gzip, chunked"])
def test_an_odd_transfer_encoding_gets_one_400_and_the_body_is_never_read_as_a_request(
    gateway: GatewayProcess, counting: CountingBackend, coding: bytes
) -> None:
    smuggled = b"GET /up/smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    head = b"POST /up/x HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: " + coding + b"\r\n\r\n"
    with connect(gateway) as sock:
        started = time.monotonic()
        sock.sendall(head + b"3\r\nabc\r\n0\r\n\r\n" + smuggled)
        reply = refused_at_once(sock, started)

    assert reply.status == 400
    assert reply.header("x-gateway-error") in ("invalid_framing", "bad_request")
    time.sleep(0.2)
    assert counting.started == []


@pytest.mark.parametrize(
    "trailer", [b"Content-Length: 3", b"Host: evil.example", b"Authorization: Bearer stolen", b"Cookie: s=1"]
)
def test_a_trailer_that_could_pass_for_a_header_is_refused(
    gateway: GatewayProcess, counting: CountingBackend, trailer: bytes
) -> None:
    with connect(gateway) as sock:
        started = time.monotonic()
        sock.sendall(chunked() + b"3\r\nabc\r\n0\r\n" + trailer + b"\r\n\r\n")
        reply = refused_at_once(sock, started)

    assert reply.status == 400
    reply.problem("invalid_framing")
    time.sleep(0.3)
    assert counting.complete == []


def test_other_trailers_are_dropped_and_the_request_is_served(
    gateway: GatewayProcess, counting: CountingBackend
) -> None:
    with connect(gateway) as sock:
        sock.sendall(chunked(extra=b"X-Request-ID: trailer-test\r\n") + b"3\r\nabc\r\n0\r\nX-Checksum: 99\r\n\r\n")
        reply = read_reply(sock)

    assert reply.status == 200
    assert counting.complete == [("/x", 3)]
    (seen,) = counting.headers
    assert "x-checksum" not in seen
    assert seen["x-request-id"] == "trailer-test"


def test_a_body_sent_a_byte_a_second_meets_the_routes_body_deadline(
    gateway: GatewayProcess, counting: CountingBackend
) -> None:
    with connect(gateway, timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(b"POST /slow/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 20\r\n\r\n")
        sock.setblocking(False)
        while time.monotonic() - started < 6:
            try:
                sock.send(b"x")
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    break  # the answer has arrived
            except BlockingIOError:
                pass
            time.sleep(1)
        sock.setblocking(True)
        sock.settimeout(5)
        reply = read_reply(sock)
        elapsed = time.monotonic() - started
        assert closed_by_peer(sock)

    assert reply.status == 408
    problem = reply.problem("body_timeout")
    assert "not complete within 2 s" in problem["detail"]
    assert reply.header("connection") == "close"
    assert 1.8 <= elapsed < 4
    assert counting.complete == []


@pytest.mark.slow
def test_the_default_body_deadline_is_ten_seconds(gateway: GatewayProcess, counting: CountingBackend) -> None:
    with connect(gateway, timeout=15) as sock:
        started = time.monotonic()
        sock.sendall(b"POST /up/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n")
        for _ in range(8):
            sock.sendall(b"x")
            time.sleep(1)  # a byte a second: never idle for long, never done
        reply = read_reply(sock)
        elapsed = time.monotonic() - started

    assert reply.status == 408
    assert "not complete within 10 s" in reply.problem("body_timeout")["detail"]
    assert 9.5 <= elapsed < 12
    assert counting.complete == []


@pytest.mark.parametrize(
    "request_bytes, status, reason",
    [
        (b"GET /up/x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 16384 + b"\r\n\r\n", 431, "header_too_large"),
        (b"GET /up/x HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: s=" + b"a" * 16384 + b"\r\n\r\n", 431, "header_too_large"),
        (b"GET /up/" + b"a" * 16384 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 414, "uri_too_long"),
    ],
    ids=["16-KiB-header", "16-KiB-cookie", "16-KiB-uri"],
)
def test_a_16_kib_header_cookie_or_uri_is_refused_with_the_default_caps(
    gateway: GatewayProcess, counting: CountingBackend, request_bytes: bytes, status: int, reason: str
) -> None:
    with connect(gateway) as sock:
        started = time.monotonic()
        sock.sendall(request_bytes)
        reply = refused_at_once(sock, started)

    assert reply.status == status
    reply.problem(reason)
    assert counting.started == []


@pytest.mark.parametrize("path", ["/up/x", "/health", "/ready", "/admin/", "/metrics", "/nothing-here"])
@pytest.mark.parametrize("method", ["TRACE", "CONNECT"])
def test_trace_and_connect_get_405_everywhere(
    gateway: GatewayProcess, counting: CountingBackend, method: str, path: str
) -> None:
    with connect(gateway) as sock:
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        reply = read_reply(sock)

    assert reply.status == 405
    reply.problem("method_not_allowed")
    assert "GET" in (reply.header("allow") or "")
    assert counting.started == []
