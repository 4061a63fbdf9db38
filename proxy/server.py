"""The uvicorn HTTP protocol the gateway is served with: the edge rules uvicorn does not enforce.

    uvicorn gateway_project.asgi:application --http proxy.server:GatewayHttpToolsProtocol --loop uvloop

On top of uvicorn's httptools protocol it adds:

- a deadline for the request head (anti-slowloris), counted from the connection opening and, on a
  keep-alive connection, from the first byte of each later request: ``408 request_header_timeout``;
- caps on the size of the request head, of any one header field, of the request target, and on the
  number of header fields: ``431 header_too_large``, ``414 uri_too_long``, decided before the
  application is ever called;
- ``405 method_not_allowed`` for TRACE and CONNECT, whatever the path (Django's included);
- strict body framing (RFC 9112): a body whose chunked framing breaks (a bad chunk size, a bare LF,
  data not followed by CRLF, a Transfer-Encoding llhttp refuses) is answered ``400 invalid_framing``
  at once; the application, which may be streaming that body to a backend, reads ``http.disconnect``
  and abandons the request, so no backend ever receives it whole;
- trailer fields are never merged into the request's headers (uvicorn would append them to the
  scope's header list): those that could change framing, routing or credentials are refused with
  ``400 invalid_framing``, the others dropped;
- an RFC 9457 problem+json body instead of uvicorn's plain-text 400: ``400 bad_request``;
- one ``proxy.observe`` record for each request it refuses, as for every other answered request;
- a lingering close when the application's answer ends the connection while the request body is still
  arriving (a 413 for a body over the route's limit, a 401 before an upload is read): the answer is
  sent, the sending side shut, and what the client still writes is read and dropped for up to
  ``LINGER_SECONDS`` before the socket closes, so a client that sends its whole body before reading
  sees the answer instead of a reset.

Each of these answers ends the connection: the parser stopped in the middle of a request, so nothing
after it can be framed. The limits are read from Django's settings at the first connection: uvicorn
imports this class before the application (and so Django) is loaded.
"""

from __future__ import annotations

import asyncio
from typing import NoReturn

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from proxy import observe, refusals
from proxy.headers import new_request_id, request_id_of
from proxy.refusals import BAD_REQUEST, FORBIDDEN_TRAILERS, INVALID_FRAMING, REFUSED_METHODS, Refusal

# How long a refused connection keeps reading (and discarding) after its answer. Closing a socket
# with unread input makes the kernel send a reset, which can destroy the answer before the client
# reads it: the usual fate of a 431 sent while the client is still writing its huge header.
LINGER_SECONDS = 2.0


class HeadRejected(Exception):
    """Raised inside a parser callback to stop httptools; uvicorn turns it into ``send_400_response``."""


class _LingeringTransport:
    """What a request's cycle writes to while the request's body is still arriving: the connection's
    transport, except that ``close`` lingers (``GatewayHttpToolsProtocol._linger``). Swapped in when a
    head is complete and out again when the body is, so a request without a body never writes
    through it."""

    __slots__ = ("close", "is_closing", "transport", "write")

    def __init__(self, protocol: GatewayHttpToolsProtocol, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.write = transport.write
        self.is_closing = transport.is_closing
        self.close = protocol._linger

    def __getattr__(self, name: str) -> object:
        return getattr(self.transport, name)


class GatewayHttpToolsProtocol(HttpToolsProtocol):
    # GATEWAY_HEADER_TIMEOUT, GATEWAY_MAX_HEADER_BYTES, GATEWAY_MAX_HEADER_COUNT,
    # GATEWAY_MAX_HEADER_FIELD_BYTES, GATEWAY_MAX_URI_BYTES (``_configure``).
    header_timeout: float = 0.0
    max_header_bytes: int = 0
    max_header_count: int = 0
    max_field_bytes: int = 0
    max_uri_bytes: int = 0

    # Per-connection state. Class-level defaults keep uvicorn's constructor untouched.
    _head_timer: asyncio.TimerHandle | None = None
    _head_pending = False  # between on_message_begin and on_headers_complete
    _in_body = False  # between on_headers_complete and on_message_complete: the body, then trailers
    _trailer_bytes = 0
    _chunk_len = 0  # length of the chunk being parsed
    _head_first = 0  # length of the chunk the head began in
    _head_span = 0  # total length of the chunks the head touched: an upper bound of its size
    _head_error: Refusal | None = None  # why a callback stopped the parser
    _deferred: tuple[Refusal, str] | None = None  # answer waiting for an earlier pipelined response
    _rejected = False
    _lingering: _LingeringTransport | None = None
    _idle_timer: asyncio.TimerHandle | None = None  # the keep-alive timer (see _keepalive_check)
    _idle_since: float | None = None  # when the connection last went idle; None while a request is on

    @classmethod
    def _configure(cls) -> None:
        from django.conf import settings

        cls.header_timeout = settings.GATEWAY_HEADER_TIMEOUT
        cls.max_header_bytes = settings.GATEWAY_MAX_HEADER_BYTES
        cls.max_header_count = settings.GATEWAY_MAX_HEADER_COUNT
        cls.max_field_bytes = settings.GATEWAY_MAX_HEADER_FIELD_BYTES
        cls.max_uri_bytes = settings.GATEWAY_MAX_URI_BYTES

    def connection_made(  # type: ignore[override]
        self, transport: asyncio.Transport
    ) -> None:
        if not self.header_timeout:
            self._configure()
        super().connection_made(transport)
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_deadline_passed)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        super().connection_lost(exc)

    # uvicorn arms a keep-alive timer after every response and cancels it at the next request's first
    # byte: ~5 µs a request with uvloop. Here one timer per connection runs instead: it is armed when
    # the connection goes idle with none pending, and when it fires it closes the connection only if
    # it has been idle for the whole keep-alive timeout since, else it waits out the rest.

    def _unset_keepalive_if_required(self) -> None:
        self._idle_since = None  # busy: no keep-alive deadline until the next response is complete

    def _arm_keepalive(self) -> None:
        self._idle_since = self.loop.time()
        if self._idle_timer is None:
            self._idle_timer = self.loop.call_later(self.timeout_keep_alive, self._keepalive_check)

    def _keepalive_check(self) -> None:
        self._idle_timer = None
        since = self._idle_since
        if since is None or self.transport.is_closing():
            return  # busy now: armed again when it next goes idle
        left = since + self.timeout_keep_alive - self.loop.time()
        if left > 0:
            self._idle_timer = self.loop.call_later(left, self._keepalive_check)
        else:
            self.timeout_keep_alive_handler()

    def data_received(self, data: bytes) -> None:
        if self._rejected:
            return
        self._chunk_len = len(data)
        began = 0.0
        cycle = self.cycle
        if self._head_pending:
            self._head_span += self._chunk_len
        elif self._head_timer is None and (cycle is None or cycle.response_complete):
            # First byte after an idle period: the next request's head is due within the deadline,
            # counted from now. Fully idle keep-alive connections are uvicorn's own keep-alive
            # timeout's business. The timer is armed only if this read leaves the head unfinished:
            # a head usually arrives whole, and a timer armed and cancelled costs ~5 µs a request.
            began = self.loop.time()
        super().data_received(data)
        if began and self._head_timer is None and not self._rejected and (self._head_pending or self.cycle is cycle):
            spent = self.loop.time() - began
            self._head_timer = self.loop.call_later(self.header_timeout - spent, self._head_deadline_passed)
        # httptools buffers an unfinished header line itself and reports it only once complete, so
        # a header that never ends is bounded here, by the chunks read since the head's first one.
        if self._head_pending and self._head_span - self._head_first > self.max_header_bytes and not self._rejected:
            self._reject(self._too_large())

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_pending = True
        self._head_first = self._head_span = self._chunk_len

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._in_body:
            self._on_trailer(name, value)
            return
        # uvicorn's own on_header, inlined: this runs for every header of every request.
        name = name.lower()
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        self._head_pending = False
        refusal = self._check_head()
        if refusal is not None:
            self._stop_parser(refusal)
        super().on_headers_complete()
        self._in_body = True
        cycle = self.cycle
        if cycle is not None and cycle.scope is self.scope:  # not for an upgrade, which has no cycle
            if self._lingering is None:
                self._lingering = _LingeringTransport(self, self.transport)
            cycle.transport = self._lingering  # type: ignore[assignment]

    def on_message_complete(self) -> None:
        self._in_body = False
        self._trailer_bytes = 0
        if self.cycle is not None:
            self.cycle.transport = self.transport
        super().on_message_complete()

    def on_response_complete(self) -> None:
        # uvicorn's own on_response_complete (0.54), with the keep-alive timer above instead of its own.
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._unset_keepalive_if_required()
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        else:
            self._arm_keepalive()
        if not self.cycle.response_complete:
            return  # a pipelined request has just been started
        if self._deferred is not None:
            self._send_problem(*self._deferred)
        elif self._head_pending:
            # The next request began arriving while this one was answered: its deadline (counted
            # from its first byte, or from now) replaces the keep-alive timeout uvicorn has just armed.
            self._unset_keepalive_if_required()
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(self.header_timeout, self._head_deadline_passed)

    def send_400_response(self, msg: str) -> None:
        if self._in_body and self.cycle is not None:
            self._refuse_body(self._head_error or INVALID_FRAMING)
        else:
            self._reject(self._head_error or BAD_REQUEST)

    # --- The checks ---------------------------------------------------------------------------

    def _check_head(self) -> Refusal | None:
        """What is wrong with a complete head, if anything. Each size check starts with a bound
        that costs nothing (a length, or the size of the reads the head arrived in)."""
        method = self.parser.get_method()
        if method in REFUSED_METHODS:
            return refusals.method_refused(method)
        if len(self.url) > self.max_uri_bytes or len(self.headers) > self.max_header_count:
            return self._too_large()
        if self._head_span > self.max_header_bytes and self._head_size() > self.max_header_bytes:
            return self._too_large()
        if self._head_span > self.max_field_bytes:
            for name, value in self.headers:
                if len(name) + len(value) + 2 > self.max_field_bytes:
                    shown = name.decode("latin-1")[:64]
                    detail = f"The {shown} header field is larger than {self.max_field_bytes} bytes."
                    return Refusal(431, "header_too_large", detail)
        return None

    def _on_trailer(self, name: bytes, value: bytes) -> None:
        """A field of the chunked body's trailer section: refused if it could pass for a header that
        matters, else dropped. Never appended to the request's headers."""
        if name.lower() in FORBIDDEN_TRAILERS:
            self._stop_parser(refusals.trailer_refused(name))
        self._trailer_bytes += len(name) + len(value) + 4
        if self._trailer_bytes > self.max_header_bytes:
            detail = f"The request's trailer fields are larger than {self.max_header_bytes} bytes."
            self._stop_parser(Refusal(431, "header_too_large", detail))

    def _head_deadline_passed(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            detail = f"The request headers were not received within {self.header_timeout:g} seconds."
            self._reject(Refusal(408, "request_header_timeout", detail))

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_size(self) -> int:
        return len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)

    def _too_large(self) -> Refusal:
        if len(self.url) > self.max_uri_bytes:
            return Refusal(414, "uri_too_long", f"The request target is longer than {self.max_uri_bytes} bytes.")
        if len(self.headers) > self.max_header_count:
            detail = f"The request has more than {self.max_header_count} header fields."
        else:
            detail = f"The request headers are larger than {self.max_header_bytes} bytes."
        return Refusal(431, "header_too_large", detail)

    def _stop_parser(self, refusal: Refusal) -> NoReturn:
        self._head_error = refusal
        raise HeadRejected(refusal.detail)

    # --- The answers --------------------------------------------------------------------------

    def _reject(self, refusal: Refusal) -> None:
        """Refuse the request whose head is being read (no application task exists for it)."""
        began = self._head_pending or self._head_error is not None
        self._rejected = True
        self._cancel_head_timer()
        request_id = request_id_of({"headers": self.headers}) if began else new_request_id()
        if began:
            self._record(refusal, request_id)
        if self.cycle is None or self.cycle.response_complete:
            self._send_problem(refusal, request_id)
        else:
            # An earlier pipelined request is still being answered; its response must go out first.
            self._deferred = (refusal, request_id)
            self.flow.pause_reading()

    def _refuse_body(self, refusal: Refusal) -> None:
        """The body (or trailer section) of the request being read broke the framing. What the
        application has read so far must not become a request: it reads ``http.disconnect`` now."""
        self._rejected = True
        self._in_body = False
        self._cancel_head_timer()
        cycle = self.cycle
        if cycle.response_started:
            # Answered already (or answering): ending the connection is the only signal left.
            self.transport.close()
            return
        request_id = request_id_of(self.scope)
        self.scope[observe.REFUSED] = (refusal.status, refusal.reason, request_id)  # type: ignore[literal-required]
        cycle.disconnected = True
        cycle.message_event.set()
        if self.pipeline and self.pipeline[0][0] is cycle:
            # Queued behind an earlier request's response: it never starts, its answer waits.
            self.pipeline.popleft()
            cycle.response_complete = True
            self._record(refusal, request_id)
            self._deferred = (refusal, request_id)
            self.flow.pause_reading()
            return
        if not self._application_records():
            self._record(refusal, request_id)
        self._send_problem(refusal, request_id)

    def _application_records(self) -> bool:
        """Whether the application makes the record of the current request: ``GatewayApp`` does
        for everything it routes (reading ``observe.REFUSED``), Django's paths make none."""
        if not observe.active():
            return True  # nobody listens (and Django may not be loaded: the edge tests' bare app)
        from proxy.reserved import is_reserved

        return not is_reserved(self.scope.get("path", ""))

    def _linger(self) -> None:
        """The application's answer ended the connection (``Connection: close``) before the request's
        body was all received: shut the sending side, drop what still arrives, close a little later."""
        if not self._in_body or self._rejected or self.transport.is_closing():
            self.transport.close()
            return
        self._rejected = True  # data_received drops everything from now on
        self._in_body = False
        self._cancel_head_timer()
        self._unset_keepalive_if_required()
        self._close_lingering()

    def _send_problem(self, refusal: Refusal, request_id: str) -> None:
        self._unset_keepalive_if_required()
        self.transport.write(refusals.answer(refusal, request_id, self.server_state.default_headers))
        self.logger.info("%s - %d %s: %s", self._client_label(), refusal.status, refusal.reason, refusal.detail)
        self._close_lingering()

    def _close_lingering(self) -> None:
        """Shut the sending side, keep reading (and dropping) for ``LINGER_SECONDS``, then close."""
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.flow.resume_reading()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()

    def _record(self, refusal: Refusal, request_id: str) -> None:
        method = self.parser.get_method().decode("latin-1") if self.url else ""  # known once the target is
        refusals.record(refusal, request_id, method, self.url, self.headers, self.client, self.max_uri_bytes)

    def _client_label(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "-"
