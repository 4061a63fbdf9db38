"""The upstream client's pool, faults and TLS against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from proxy.client import BrokenBody, ConnectFailed, Disconnected, PoolBusy, TLSFailed
from proxy.client.connection import HIGH_WATER
from proxy.client.tls import tls_context
from tests.proxy.raw_backend import CertificateAuthority, RawBackend, answering, fetch, pool_for

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def test_a_connection_whose_body_was_not_read_is_never_reused() -> None:
    async with RawBackend(answering(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello")) as backend:
        pool = pool_for(backend)
        conn = await pool.acquire(1.0)
        conn.start(False)
        await conn.send(b"GET / HTTP/1.1\r\nhost: b\r\n\r\n", None, False, 1.0)
        await conn.read_head(1.0)
        assert not conn.reusable()
        pool.release(conn)
        assert pool.idle == [] and pool.count == 0


async def test_connection_close_from_the_backend_is_honoured() -> None:
    async with RawBackend(answering(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")) as backend:
        pool = pool_for(backend)
        conn, body = await fetch(pool)
        assert body == b"ok" and not conn.reusable()


async def test_a_backend_closing_an_idle_connection_races_no_request_into_an_error() -> None:
    async with RawBackend(answering(OK, keep=False)) as backend:  # closes after each answer, no header
        pool = pool_for(backend)
        for _ in range(3):
            conn, body = await fetch(pool)
            pool.release(conn)
            await asyncio.sleep(0.02)  # the close arrives while the connection is idle
            assert body == b"ok"
    assert backend.connections == 3


async def test_a_reset_mid_body_is_a_broken_body() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nsome of it")
        await writer.drain()
        await asyncio.sleep(0.05)
        _reset(writer)
        return False

    async with RawBackend(answer) as backend:
        with pytest.raises(BrokenBody):
            await fetch(pool_for(backend))


async def test_a_close_mid_chunked_body_is_a_broken_body() -> None:
    wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
    async with RawBackend(answering(wire, keep=False)) as backend:
        with pytest.raises(BrokenBody):
            await fetch(pool_for(backend))


async def test_a_backend_closing_before_answering_is_disconnected() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> bool:
        return False

    async with RawBackend(answer) as backend:
        with pytest.raises(Disconnected):
            await fetch(pool_for(backend))


async def test_a_backend_stalling_after_the_head_times_out_on_the_body() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel")
        await asyncio.sleep(5)
        return False

    async with RawBackend(answer) as backend:
        pool = pool_for(backend)
        conn = await pool.acquire(1.0)
        conn.start(False)
        await conn.send(b"GET / HTTP/1.1\r\nhost: b\r\n\r\n", None, False, 1.0)
        await conn.read_head(1.0)
        assert await conn.read_chunk(0.2) == b"hel"
        with pytest.raises(TimeoutError):
            await conn.read_chunk(0.2)


async def test_an_answer_before_the_request_body_stops_the_upload() -> None:
    sent: list[int] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> bool:
        writer.write(b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        return True

    async def body() -> AsyncIterator[bytes]:
        for i in range(50):
            sent.append(i)
            yield b"x" * 1000
            await asyncio.sleep(0.01)

    async with RawBackend(answer) as backend:
        pool = pool_for(backend)
        conn = await pool.acquire(1.0)
        conn.start(False)
        await conn.send(b"POST / HTTP/1.1\r\nhost: b\r\ntransfer-encoding: chunked\r\n\r\n", body(), True, 1.0)
        await conn.read_head(1.0)
    assert conn.status == 413
    assert len(sent) < 50
    assert not conn.reusable()  # the rest of the body was never sent


async def test_a_streamed_request_body_is_sent_chunked_whole() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> bool:
        backend.bodies.append(await reader.readuntil(b"0\r\n\r\n"))
        writer.write(OK)
        return True

    async def body() -> AsyncIterator[bytes]:
        yield b"hello"
        yield b""
        yield b", world"

    async with RawBackend(answer) as backend:
        pool = pool_for(backend)
        conn = await pool.acquire(1.0)
        conn.start(False)
        await conn.send(b"POST / HTTP/1.1\r\nhost: b\r\ntransfer-encoding: chunked\r\n\r\n", body(), True, 1.0)
        await conn.read_head(1.0)
        assert await conn.read_chunk(1.0) == b"ok"
    assert backend.bodies == [b"5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n"]


async def test_a_slow_reader_pauses_the_backend_socket_and_memory_stays_bounded() -> None:
    size = 8 * 1024 * 1024

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
        block = b"x" * 65536
        for _ in range(size // len(block)):
            writer.write(block)
            await writer.drain()
        return True

    async with RawBackend(answer) as backend:
        pool = pool_for(backend)
        conn = await pool.acquire(1.0)
        conn.start(False)
        await conn.send(b"GET / HTTP/1.1\r\nhost: b\r\n\r\n", None, False, 1.0)
        await conn.read_head(1.0)
        await asyncio.sleep(0.2)  # the reader is slow: nothing taken for a while
        assert conn.read_paused
        assert conn.buffered < HIGH_WATER + 256 * 1024
        total = 0
        while chunk := await conn.read_chunk(2.0):
            total += len(chunk)
        assert total == size and conn.reusable()


async def test_at_the_limit_a_request_waits_for_a_free_connection_then_gets_pool_busy() -> None:
    async with RawBackend(answering(OK)) as backend:
        pool = pool_for(backend, limit=1, wait=0.2)
        first = await pool.acquire(1.0)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(PoolBusy):
            await pool.acquire(1.0)
        assert 0.15 < loop.time() - started < 1.0
        waiting = asyncio.ensure_future(pool.acquire(1.0))
        await asyncio.sleep(0.05)
        first.start(False)
        await first.send(b"GET / HTTP/1.1\r\nhost: b\r\n\r\n", None, False, 1.0)
        await first.read_head(1.0)
        await first.read_chunk(1.0)
        pool.release(first)
        assert await waiting is first
    assert pool.stats.waits == 2


async def test_a_refused_connection_is_connect_failed_and_frees_its_slot() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = RawBackend(answering(OK))
    backend.port = port
    pool = pool_for(backend, limit=1)
    for _ in range(2):
        with pytest.raises(ConnectFailed):
            await pool.acquire(1.0)
    assert pool.count == 0


async def test_every_address_of_a_name_is_tried() -> None:
    async with RawBackend(answering(OK)) as backend:
        pool = pool_for(backend)
        pool.host = "localhost"
        pool.resolver.cache[("localhost", backend.port)] = (
            float("inf"),
            [(socket.AF_INET, ("127.0.0.2", 1)), (socket.AF_INET, ("127.0.0.1", backend.port))],
        )
        _, body = await fetch(pool)
    assert body == b"ok"


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority(tmp_path)


def _server_tls(ca: CertificateAuthority, require_client: bool = False) -> ssl.SSLContext:
    cert, key = ca.issue("localhost", server=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    if require_client:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(ca.ca_file)
    return context


async def test_tls_with_the_services_ca_is_verified_and_kept_alive(ca: CertificateAuthority) -> None:
    async with RawBackend(answering(OK), tls=_server_tls(ca)) as backend:
        pool = pool_for(backend, tls=tls_context(str(ca.ca_file)))
        for _ in range(2):
            conn, body = await fetch(pool)
            pool.release(conn)
    assert body == b"ok"
    assert pool.stats.tls_handshakes == 1 and backend.connections == 1


async def test_tls_with_an_unknown_ca_fails_and_never_falls_back(ca: CertificateAuthority, tmp_path: Path) -> None:
    other = CertificateAuthority(tmp_path, name="Other CA")
    async with RawBackend(answering(OK), tls=_server_tls(ca)) as backend:
        pool = pool_for(backend, tls=tls_context(str(other.ca_file)))
        with pytest.raises(TLSFailed, match="certificate verify failed"):
            await pool.acquire(1.0)
        assert backend.heads == []


async def test_a_backend_requiring_a_client_certificate_gets_it(ca: CertificateAuthority) -> None:
    cert, key = ca.issue("gateway", server=False)
    async with RawBackend(answering(OK), tls=_server_tls(ca, require_client=True)) as backend:
        with_cert = pool_for(backend, tls=tls_context(str(ca.ca_file), str(cert), str(key)))
        _, body = await fetch(with_cert)
        assert body == b"ok"
        without = pool_for(backend, tls=tls_context(str(ca.ca_file)))
        with pytest.raises((TLSFailed, Disconnected, BrokenBody)):
            await fetch(without)
