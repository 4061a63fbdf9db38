"""Large responses stream through the gateway in bounded memory, and stop when either side leaves."""

from __future__ import annotations

import asyncio
import http.client
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.support.config import ConfigHelper
from tests.support.http import connect
from tests.support.servers import BackendThread, GatewayProcess

MIB = 1024 * 1024
RSS_BUDGET = 30 * MIB


def gateway_rss(gateway: GatewayProcess) -> int:
    """Resident memory of every process of the gateway, in bytes."""
    total = 0
    for pid in gateway.pids():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


class RssSampler:
    """The gateway's peak resident memory during a download, sampled by the downloading loop itself
    (every ``every`` bytes received): a sampler thread can be starved on a busy machine and miss the
    whole transfer."""

    def __init__(self, gateway: GatewayProcess, every: int = 4 * MIB) -> None:
        self.gateway = gateway
        self.every = every
        self.baseline = gateway_rss(gateway)
        self.peak = self.baseline
        self.samples = 0
        self._next = every

    def received(self, total: int) -> None:
        if total >= self._next:
            self._next = total + self.every
            self.peak = max(self.peak, gateway_rss(self.gateway))
            self.samples += 1

    def __enter__(self) -> RssSampler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.peak = max(self.peak, gateway_rss(self.gateway))

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


def _download(
    gateway: GatewayProcess, path: str, rss: RssSampler | None = None
) -> tuple[http.client.HTTPResponse, int]:
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=30)
    conn.request("GET", path)
    resp = conn.getresponse()
    received = 0
    while chunk := resp.read(256 * 1024):
        received += len(chunk)
        if rss is not None:
            rss.received(received)
    conn.close()
    return resp, received


@pytest.fixture
def streaming(config: ConfigHelper, backend: BackendThread) -> BackendThread:
    config.route(config.service("files", targets=[backend]), "/files")
    config.sync()
    return backend


@pytest.mark.parametrize("query, declared", [("mb=100", False), ("mb=100&length=1", True)], ids=["chunked", "length"])
def test_a_100_mb_response_streams_through_in_bounded_memory(
    gateway: GatewayProcess, streaming: BackendThread, query: str, declared: bool
) -> None:
    _download(gateway, "/files/stream?mb=2")  # warm up the pools and buffers once

    with RssSampler(gateway) as rss:
        resp, received = _download(gateway, f"/files/stream?{query}", rss)

    assert resp.status == 200
    assert received == 100 * MIB
    if declared:
        assert resp.getheader("content-length") == str(100 * MIB)
    else:
        assert resp.getheader("content-length") is None
        assert resp.getheader("transfer-encoding") == "chunked"
    assert rss.samples >= 20  # every 4 MiB of the 100
    assert rss.growth < RSS_BUDGET, f"gateway RSS grew by {rss.growth / MIB:.1f} MiB"


class WatchfulBackend:
    """A backend that records when its client (the gateway) goes away: an endless stream, a slow
    answer, an upload, and a stream that breaks off."""

    def __init__(self) -> None:
        self.sent = 0
        self.stopped_at: float | None = None
        self.stopped = threading.Event()
        self.app = web.Application()
        self.app.router.add_get("/endless", self.endless)
        self.app.router.add_get("/broken", self.broken)
        self.app.router.add_get("/thinking", self.thinking)
        self.app.router.add_post("/upload", self.upload)
        self.uploads: list[int] = []
        self.upload_failed = threading.Event()

    async def endless(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await response.prepare(request)
        chunk = b"e" * 65536
        try:
            while self.sent < 2 * 1024 * MIB:
                await response.write(chunk)
                self.sent += len(chunk)
        except (ConnectionError, RuntimeError):
            pass
        finally:
            self.stopped_at = time.monotonic()
            self.stopped.set()
        return response

    async def thinking(self, request: web.Request) -> web.Response:
        """Takes up to 3 s to answer, and notices when its client hangs up in the meantime."""
        for _ in range(60):
            await asyncio.sleep(0.05)
            if request.transport is None or request.transport.is_closing():
                self.stopped_at = time.monotonic()
                self.stopped.set()
                break
        return web.Response(text="done thinking")

    async def upload(self, request: web.Request) -> web.Response:
        try:
            body = await request.read()
        except BaseException:
            self.upload_failed.set()
            raise
        self.uploads.append(len(body))
        return web.json_response({"bytes": len(body)})

    async def broken(self, request: web.Request) -> web.StreamResponse:
        """Promises 4 MiB, sends 1 MiB and drops the connection."""
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        if request.query.get("length") == "1":
            response.content_length = 4 * MIB
        await response.prepare(request)
        for _ in range(16):
            await response.write(b"b" * 65536)
        assert request.transport is not None
        request.transport.close()
        return response


@pytest.fixture
def endless(config: ConfigHelper) -> Iterator[WatchfulBackend]:
    backend = WatchfulBackend()
    server = BackendThread("endless", app=backend.app).start()
    config.route(config.service("endless", targets=[server]), "/e")
    config.sync()
    yield backend
    server.stop()


def test_a_client_that_disconnects_mid_stream_stops_the_upstream_transfer(
    gateway: GatewayProcess, endless: WatchfulBackend
) -> None:
    with connect(gateway, timeout=10) as sock:
        sock.sendall(b"GET /e/endless HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        received = 0
        while received < 2 * MIB:
            data = sock.recv(65536)
            assert data
            received += len(data)
        left_at = time.monotonic()

    assert endless.stopped.wait(5), "the backend is still streaming to the gateway for nobody"
    assert endless.stopped_at is not None and endless.stopped_at - left_at < 3
    assert endless.sent < 512 * MIB


def test_a_client_that_disconnects_before_the_answer_aborts_the_upstream_request(
    gateway: GatewayProcess, endless: WatchfulBackend
) -> None:
    with connect(gateway, timeout=10) as sock:
        sock.sendall(b"GET /e/thinking HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        time.sleep(0.3)
    left_at = time.monotonic()

    assert endless.stopped.wait(2), "the backend is still working for a client that has gone"
    assert endless.stopped_at is not None and endless.stopped_at - left_at < 1.5


def test_a_client_that_disconnects_mid_upload_aborts_the_upstream_request(
    gateway: GatewayProcess, endless: WatchfulBackend
) -> None:
    with connect(gateway, timeout=10) as sock:
        sock.sendall(b"POST /e/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10485760\r\n\r\n")
        sock.sendall(b"u" * (1024 * 1024))
        time.sleep(0.3)

    assert endless.upload_failed.wait(3), "the backend still waits for the rest of the upload"
    assert endless.uploads == []


@pytest.mark.parametrize("length", ["0", "1"], ids=["chunked", "length"])
def test_a_backend_that_breaks_off_mid_stream_cuts_the_clients_response_short(
    gateway: GatewayProcess, endless: WatchfulBackend, length: str
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    conn.request("GET", f"/e/broken?length={length}")
    resp = conn.getresponse()

    assert resp.status == 200
    assert resp.getheader("x-gateway-error") is None
    with pytest.raises(http.client.IncompleteRead):
        resp.read()
    conn.close()


def test_an_http_1_0_client_gets_a_streamed_response_without_chunked_framing(
    gateway: GatewayProcess, streaming: BackendThread
) -> None:
    with connect(gateway, timeout=10) as sock:
        sock.sendall(b"GET /files/stream?mb=1 HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")

    assert head.startswith(b"HTTP/1.")
    assert b"transfer-encoding" not in head.lower()
    assert body == b"x" * MIB
