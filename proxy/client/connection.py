"""One upstream connection: an ``asyncio.Protocol`` that feeds llhttp, one request at a time.

The parser's callbacks fill the response in place (status, raw header bytes, body chunks) and wake
the one task waiting on the connection. Framing is strict: two different Content-Lengths, a
Content-Length with a Transfer-Encoding, a bad chunk size or an unparsable head is a
``BadResponse`` and the connection is dropped at once. A body ends with its Content-Length, its
last chunk, or (with neither) the backend's clean close; a reset or a close before that end is a
``BrokenBody``; a TLS alert before any response byte (a backend that refused our client
certificate after a TLS 1.3 handshake) is ``TLSFailed``. Body bytes beyond ``HIGH_WATER`` not yet
taken by the reader pause the socket (``pause_reading``) until the reader takes them, so a slow
client keeps memory flat; writes wait for ``resume_writing`` when the backend reads our body slowly.

llhttp cannot be told a response answers a HEAD, so after a HEAD's head the connection swaps in a
fresh parser (a backend that sends a body anyway has its bytes ignored, or arriving while idle,
drops the connection).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable

from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser

from proxy.client import BadResponse, BrokenBody, ClientFailure, Disconnected, TLSFailed

HIGH_WATER = 256 * 1024


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class Connection(asyncio.Protocol):
    def __init__(self, loop: asyncio.AbstractEventLoop, on_lost: Callable[[Connection], None]) -> None:
        self.loop = loop
        self.on_lost = on_lost
        self.transport: asyncio.Transport | None = None
        self.parser = HttpResponseParser(self)
        self.closed = False
        self.busy = False
        self.reused = False
        self.counted = True  # counts against its pool's limit until dropped
        self.idle_since = 0.0
        self.write_paused = False
        self.read_paused = False
        self.waiter: asyncio.Future[None] | None = None
        self.drain_waiter: asyncio.Future[None] | None = None
        self.start(False)
        self.busy = False

    def start(self, head_only: bool) -> None:
        """Ready for the next request (``head_only``: it is a HEAD, the response has no body)."""
        self.busy = True
        self.head_only = head_only
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.lengths: list[bytes] = []
        self.te = False
        self.headers_done = False
        self.done = False
        self.keep_alive = False
        self.error: ClientFailure | None = None
        self.body: list[bytes] = []
        self.buffered = 0
        self.got_bytes = False
        self.sent_all = False
        self.surplus = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not self.busy:
            self.abort()  # bytes nobody asked for: the next response could not be told apart
            return
        self.got_bytes = True
        try:
            self.parser.feed_data(data)
        except HttpParserUpgrade:
            self._fail(BadResponse("the backend switched protocols unasked"))
        except HttpParserError as exc:
            if self.surplus:
                self.keep_alive = False
                self.abort()
            else:
                self._fail(BadResponse(f"unparsable response: {exc}"))
        if self.head_only and self.headers_done:
            self.parser = HttpResponseParser(self)

    def eof_received(self) -> bool | None:
        return None  # the transport closes; connection_lost decides what the EOF meant

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.busy and not self.done and self.error is None:
            if not self.headers_done:
                if self.got_bytes:
                    self.error = BadResponse("the backend closed in the middle of the response head")
                elif isinstance(exc, ssl.SSLError):
                    # With TLS 1.3 the server checks our certificate after the handshake: its alert
                    # (certificate required, unknown CA) arrives here, before any response byte.
                    self.error = TLSFailed(f"the backend ended TLS before answering: {exc}")
                else:
                    self.error = Disconnected("the backend closed the connection before answering")
            elif exc is None and not self.lengths and not self.te:
                self.done = True  # a close-delimited body ends with the clean close
            else:
                self.error = BrokenBody("the backend closed the connection before the end of the body")
        self.keep_alive = False
        self._wake()
        if self.drain_waiter is not None and not self.drain_waiter.done():
            self.drain_waiter.set_result(None)
        self.on_lost(self)

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.drain_waiter is not None and not self.drain_waiter.done():
            self.drain_waiter.set_result(None)

    # httptools callbacks

    def on_message_begin(self) -> None:
        if self.done:
            # A second response to one request: the backend is out of step; this one may stand,
            # the connection may not.
            self.surplus = True
            raise BadResponse("the backend sent more than one response")
        self.headers = []
        self.lengths = []
        self.te = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))
        lname = name.lower()
        if lname == b"content-length":
            self.lengths.append(value.strip())
        elif lname == b"transfer-encoding":
            self.te = True

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:
            if status == 101:
                self._fail(BadResponse("the backend switched protocols unasked"))
                raise self.error  # type: ignore[misc]
            return  # 100 Continue, 103 Early Hints: the final response follows
        if self.lengths and (self.te or any(v != self.lengths[0] or not v.isdigit() for v in self.lengths)):
            self._fail(BadResponse("ambiguous framing: Content-Length with Transfer-Encoding, or several lengths"))
            raise self.error  # type: ignore[misc]
        self.status = status
        self.keep_alive = self.parser.should_keep_alive()
        self.headers_done = True
        if self.head_only:
            self.done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self.head_only:
            return
        self.body.append(body)
        self.buffered += len(body)
        if self.buffered > HIGH_WATER and not self.read_paused and self.transport is not None:
            self.read_paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if not self.headers_done or self.head_only:
            return  # the end of a 1xx
        self.done = True
        self.keep_alive = self.keep_alive and self.parser.should_keep_alive()
        self._wake()

    # used by the request's task

    def reusable(self) -> bool:
        return (
            self.done and self.keep_alive and self.sent_all and not self.closed and self.error is None and not self.body
        )

    def abort(self) -> None:
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.abort()

    def _fail(self, error: ClientFailure) -> None:
        if self.error is None:
            self.error = error
        self.abort()
        self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self, seconds: float) -> None:
        waiter = self.loop.create_future()
        self.waiter = waiter
        timer = self.loop.call_later(seconds, _expire, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self.waiter = None

    async def send(self, head: bytes, body: bytes | AsyncIterator[bytes] | None, chunked: bool, seconds: float) -> None:
        """Write the request. A streamed body stops as soon as the backend answered or closed (the
        connection is then not reused); ``seconds`` bounds each wait for the backend to read."""
        transport = self.transport
        assert transport is not None
        if body is None or isinstance(body, bytes):
            transport.write(head + body if body else head)
            self.sent_all = True
            return
        transport.write(head)
        async for chunk in body:
            if self.closed or self.headers_done:
                return  # an early answer (or a closed connection): the rest of the body is not wanted
            if chunk:
                transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
            if self.write_paused:
                await self._drain(seconds)
        if chunked and not self.closed:
            transport.write(b"0\r\n\r\n")
        self.sent_all = True

    async def _drain(self, seconds: float) -> None:
        while self.write_paused and not self.closed:
            waiter = self.loop.create_future()
            self.drain_waiter = waiter
            timer = self.loop.call_later(seconds, _expire, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self.drain_waiter = None

    async def read_head(self, seconds: float) -> None:
        while not self.headers_done:
            if self.error is not None:
                raise self.error
            await self._wait(seconds)
        if self.error is not None and not self.body:
            raise self.error

    def content_length(self) -> int | None:
        return int(self.lengths[0]) if self.lengths else None

    def take(self) -> bytes:
        """Every body byte received and not yet taken."""
        body = self.body
        data = body[0] if len(body) == 1 else b"".join(body)
        self.body = []
        self.buffered = 0
        if self.read_paused and not self.closed and self.transport is not None:
            self.read_paused = False
            self.transport.resume_reading()
        return data

    async def read_chunk(self, seconds: float) -> bytes:
        """The next body bytes, b"" at the end; ``seconds`` bounds the wait for each."""
        while True:
            if self.body:
                return self.take()
            if self.error is not None:
                raise self.error
            if self.done:
                return b""
            await self._wait(seconds)
