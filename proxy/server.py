"""The uvicorn HTTP protocol the gateway is served with: the edge limits uvicorn does not enforce.

    uvicorn gateway_project.asgi:application --http proxy.server:GatewayHttpToolsProtocol --loop uvloop

On top of uvicorn's httptools protocol it adds:

- a deadline for the request head (anti-slowloris), counted from the connection opening and, on a
  keep-alive connection, from the first byte of each later request: ``408 request_header_timeout``;
- caps on the size of the request head and on the number of header fields:
  ``431 header_too_large``, decided before the application is ever called;
- an RFC 9457 problem+json body instead of uvicorn's plain-text 400: ``400 bad_request``.

Each of these answers ends the connection: the parser stopped in the middle of a request, so nothing
after it can be framed. The limits are read from Django's settings at the first connection: uvicorn
imports this class before the application (and so Django) is loaded.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import NoReturn

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from proxy.errors import problem_body, problem_headers

# How long a refused connection keeps reading (and discarding) after its answer. Closing a socket
# with unread input makes the kernel send a reset, which can destroy the answer before the client
# reads it: the usual fate of a 431 sent while the client is still writing its huge header.
LINGER_SECONDS = 2.0

Problem = tuple[int, str, str]  # status, reason (X-Gateway-Error), detail
BAD_REQUEST: Problem = (400, "bad_request", "The request is not valid HTTP/1.1.")


class HeadRejected(Exception):
    """Raised inside a parser callback to stop httptools; uvicorn turns it into ``send_400_response``."""


class GatewayHttpToolsProtocol(HttpToolsProtocol):
    # GATEWAY_HEADER_TIMEOUT, GATEWAY_MAX_HEADER_BYTES, GATEWAY_MAX_HEADER_COUNT (``_configure``).
    header_timeout: float = 0.0
    max_header_bytes: int = 0
    max_header_count: int = 0

    # Per-connection state. Class-level defaults keep uvicorn's constructor untouched.
    _head_timer: asyncio.TimerHandle | None = None
    _head_pending = False  # between on_message_begin and on_headers_complete
    _chunk_len = 0  # length of the chunk being parsed
    _head_first = 0  # length of the chunk the head began in
    _head_span = 0  # total length of the chunks the head touched: an upper bound of its size
    _head_error: Problem | None = None  # why a callback stopped the parser
    _deferred: Problem | None = None  # answer waiting for an earlier pipelined response
    _rejected = False

    @classmethod
    def _configure(cls) -> None:
        from django.conf import settings

        cls.header_timeout = settings.GATEWAY_HEADER_TIMEOUT
        cls.max_header_bytes = settings.GATEWAY_MAX_HEADER_BYTES
        cls.max_header_count = settings.GATEWAY_MAX_HEADER_COUNT

    def connection_made(  # type: ignore[override]
        self, transport: asyncio.Transport
    ) -> None:
        if not self.header_timeout:
            self._configure()
        super().connection_made(transport)
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_deadline_passed)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._rejected:
            return
        self._chunk_len = len(data)
        if self._head_pending:
            self._head_span += self._chunk_len
        elif self._head_timer is None and (self.cycle is None or self.cycle.response_complete):
            # First byte after an idle period: the next request's head is due within the deadline.
            # Fully idle keep-alive connections are uvicorn's own keep-alive timeout's business.
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_deadline_passed)
        super().data_received(data)
        # httptools buffers an unfinished header line itself and reports it only once complete, so
        # a header that never ends is bounded here, by the chunks read since the head's first one.
        if self._head_pending and self._head_span - self._head_first > self.max_header_bytes and not self._rejected:
            self._reject(self._too_large())

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_pending = True
        self._head_first = self._head_span = self._chunk_len

    def on_headers_complete(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        self._head_pending = False
        # Sizing the head costs a pass over the headers; the chunk lengths make it rarely needed.
        if len(self.headers) > self.max_header_count or (
            self._head_span > self.max_header_bytes and self._head_size() > self.max_header_bytes
        ):
            self._stop_parser(self._too_large())
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.transport.is_closing() or not self.cycle.response_complete:
            return  # closed, or a pipelined request has just been started
        if self._deferred is not None:
            self._send_problem(self._deferred)
        elif self._head_pending and self._head_timer is None:
            # The next request began arriving while this one was answered: its deadline starts now,
            # and it replaces the keep-alive timeout uvicorn has just armed.
            self._unset_keepalive_if_required()
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_deadline_passed)

    def send_400_response(self, msg: str) -> None:
        self._reject(self._head_error or BAD_REQUEST)

    def _head_deadline_passed(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            detail = f"The request headers were not received within {self.header_timeout:g} seconds."
            self._reject((408, "request_header_timeout", detail))

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_size(self) -> int:
        return len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)

    def _too_large(self) -> Problem:
        if len(self.headers) > self.max_header_count:
            detail = f"The request has more than {self.max_header_count} header fields."
        else:
            detail = f"The request headers are larger than {self.max_header_bytes} bytes."
        return (431, "header_too_large", detail)

    def _stop_parser(self, problem: Problem) -> NoReturn:
        self._head_error = problem
        raise HeadRejected(problem[2])

    def _reject(self, problem: Problem) -> None:
        self._rejected = True
        self._cancel_head_timer()
        if self.cycle is None or self.cycle.response_complete:
            self._send_problem(problem)
        else:
            # An earlier pipelined request is still being answered; its response must go out first.
            self._deferred = problem
            self.flow.pause_reading()

    def _send_problem(self, problem: Problem) -> None:
        status, reason, detail = problem
        request_id = secrets.token_hex(16)
        body = problem_body(status, reason, detail, request_id)
        content = [STATUS_LINE[status]]
        headers = [*self.server_state.default_headers, *problem_headers(reason, request_id, len(body))]
        for name, value in headers:
            content += (name, b": ", value, b"\r\n")
        content += (b"connection: close\r\n\r\n", body)
        self._unset_keepalive_if_required()
        self.transport.write(b"".join(content))
        self.logger.info("%s - %d %s: %s", self._client_label(), status, reason, detail)
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.flow.resume_reading()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()

    def _client_label(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "-"
