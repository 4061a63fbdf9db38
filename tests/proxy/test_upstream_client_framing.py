"""The upstream client against raw backends: every way a response may be framed, and every
malformed framing refused (``BadResponse``: 502 upstream_bad_response) with the connection dropped."""

from __future__ import annotations

import asyncio

import pytest

from proxy.client import BadResponse
from tests.proxy.raw_backend import RawBackend, answering, fetch, pool_for


async def test_a_content_length_body_arrives_whole_and_the_connection_is_reused() -> None:
    async with RawBackend(answering(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")) as backend:
        pool = pool_for(backend)
        for _ in range(3):
            conn, body = await fetch(pool)
            assert (conn.status, body) == (200, b"hello")
            pool.release(conn)
    assert backend.connections == 1
    assert pool.stats.opened == 1 and pool.stats.reused == 2


async def test_a_chunked_body_is_unchunked_exactly() -> None:
    wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n"
    async with RawBackend(answering(wire)) as backend:
        pool = pool_for(backend)
        conn, body = await fetch(pool)
        assert body == b"hello, world"
        assert conn.reusable()


async def test_a_close_delimited_body_ends_with_the_close_and_the_connection_is_not_reused() -> None:
    async with RawBackend(answering(b"HTTP/1.1 200 OK\r\n\r\nuntil the end", keep=False)) as backend:
        pool = pool_for(backend)
        conn, body = await fetch(pool)
        assert body == b"until the end"
        assert not conn.reusable()
        pool.release(conn)
        assert pool.count == 0


async def test_head_204_and_304_have_no_body_and_keep_the_connection() -> None:
    answers = [
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",  # HEAD: the length of the body a GET would get
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n',
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ]

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> bool:
        writer.write(answers.pop(0))
        return True

    async with RawBackend(answer) as backend:
        pool = pool_for(backend)
        results = []
        for method in (b"HEAD", b"GET", b"GET", b"GET"):
            conn, body = await fetch(pool, method)
            results.append((conn.status, body))
            pool.release(conn)
    assert results == [(200, b""), (204, b""), (304, b""), (200, b"ok")]
    assert backend.connections == 1


async def test_1xx_responses_are_skipped_for_the_final_one() -> None:
    wire = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
        b"HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone"
    )
    async with RawBackend(answering(wire)) as backend:
        conn, body = await fetch(pool_for(backend))
    assert (conn.status, body) == (201, b"done")
    assert conn.headers == [(b"Content-Length", b"4")]


async def test_repeated_headers_and_compressed_bytes_pass_through_untouched() -> None:
    gzipped = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xcbH\xcd\xc9\xc9\x07\x00\x86\xa6\x106\x05\x00\x00\x00"
    wire = (
        b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Encoding: gzip\r\n"
        b"Content-Length: %d\r\n\r\n%b" % (len(gzipped), gzipped)
    )
    async with RawBackend(answering(wire)) as backend:
        conn, body = await fetch(pool_for(backend))
    assert body == gzipped
    assert [v for n, v in conn.headers if n == b"Set-Cookie"] == [b"a=1", b"b=2"]


@pytest.mark.parametrize(
    "wire",
    [
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            id="length-and-chunked",
        ),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", id="two-lengths"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello!", id="a-list-of-lengths"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nhello", id="negative-length"),
        pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", id="bad-chunk"),
        pytest.param(b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n", id="bad-status"),
        pytest.param(b"HTTP/9.9 200 OK\r\nContent-Length: 0\r\n\r\n", id="bad-version"),
        pytest.param(b"HTTP/1.1 200 OK\r\nBad Header: x\r\nContent-Length: 0\r\n\r\n", id="bad-header-name"),
        pytest.param(b"HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n", id="bare-cr"),
        pytest.param(b"SSH-2.0-OpenSSH_9.6\r\n\r\n", id="not-http"),
        pytest.param(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", id="unasked-upgrade"),
    ],
)
async def test_malformed_framing_is_a_bad_response_and_the_connection_is_dropped(wire: bytes) -> None:
    async with RawBackend(answering(wire)) as backend:
        pool = pool_for(backend)
        with pytest.raises(BadResponse):
            await fetch(pool)
        assert pool.idle == []


async def test_bytes_arriving_on_an_idle_connection_drop_it() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra")
        return True

    async with RawBackend(answer) as backend:
        pool = pool_for(backend)
        conn, body = await fetch(pool)
        assert body == b"ok"
        # The surplus bytes came in the same packet: the body is not "read to the end" cleanly.
        pool.release(conn)
        await asyncio.sleep(0.05)
        _, body = await fetch(pool)
        assert body == b"ok"
    assert backend.connections == 2
