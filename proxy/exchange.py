"""Per-request state (``Exchange``) and the response a chain returns (``Response``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from proxy.auth.config import Identity
    from proxy.observe import Finished
    from proxy.specs import TargetSpec
    from proxy.table import CompiledRoute

Headers = list[tuple[bytes, bytes]]
Receive = Callable[[], Awaitable[dict[str, Any]]]

# (request id, trace id) of the request this task is handling, for every log line it writes.
request_context: ContextVar[tuple[str, str] | None] = ContextVar("gateway_request", default=None)


@dataclass(slots=True)
class Response:
    status: int
    headers: Headers
    body: bytes = b""
    # A streamed body; the app iterates it and must call ``close`` whatever happens.
    stream: AsyncIterator[bytes] | None = None
    close: Callable[[], None] | None = None
    # Set for responses the gateway made itself (X-Gateway-Error reason).
    error_reason: str | None = None


@dataclass(slots=True, eq=False)  # identity hash: in-flight exchanges live in a set
class Exchange:
    scope: dict[str, Any]
    receive: Receive
    method: str
    path: str  # raw (percent-encoded) path, without the query string
    query: bytes
    host: str
    scheme: str
    client_ip: str  # the socket peer
    request_id: str
    headers: Headers  # request headers to send upstream (hop-by-hop already removed)
    route: CompiledRoute
    upstream_path: str
    content_length: int | None
    chunked: bool
    body_limit: int
    started: float
    forwarded_for: bytes = b""
    original_host: bytes = b""
    via: str = ""
    # The client as limits, audit and logs see it: the socket peer, or the right-most untrusted
    # X-Forwarded-For entry when the peer is a trusted proxy (proxy.headers.client_address).
    client_address: str = ""
    body_done: bool = False
    buffered: bytes | None = None  # the whole body, once a policy read it (proxy.body.buffer_body)
    body_error: Exception | None = None
    target: TargetSpec | None = None
    attempts: int = 0
    bytes_in: int = 0
    # Disconnect watching (proxy/disconnects.py): the request's task, its watcher, and whether the
    # response is complete (after which the server reports "disconnect" for every request).
    task: asyncio.Task[Any] | None = None
    watcher: asyncio.Task[None] | None = None
    finished: bool = False
    client_left: bool = False
    shed: bool = False  # stopped by a graceful shutdown's deadline before its answer began (503)
    # What observers (proxy/observe.py: metrics, audit, access log) learn when the request ends.
    identity: Identity | None = None  # set by the auth policy
    status: int = 0  # the status sent to the client (0: none sent)
    bytes_out: int = 0  # response body bytes sent
    error_reason: str | None = None  # X-Gateway-Error of a gateway-made response
    upstream_seconds: float = 0.0  # time from sending upstream to the response headers, last attempt
    upstream_error: str | None = None  # connect, tls, busy, timeout, reset or bad_response, last failed attempt
    # The record the witnesses got before the last byte (proxy.observe.witness), reused at the end.
    record: Finished | None = None
    extra: dict[str, Any] = field(default_factory=dict)
