"""The upstream leg: the data plane's own HTTP/1.1 client (``proxy.client``), one ``ServiceUpstream`` per service.

Failures map to the error tree in ``proxy.errors``: connect failures 502 ``upstream_unreachable``,
TLS failures 502 ``upstream_tls``, read timeouts 504, a backend that closes before answering 502
``upstream_error``, a response that cannot be framed 502 ``upstream_bad_response``, no free
connection in time 503 ``upstream_busy``. A request is retried on another target only for
idempotent methods with a replayable body, and only before any response byte was sent; connect
failures and connections the backend closed before answering are retried, read timeouts are not
(the backend may still be working on the first attempt). A kept-alive connection that the backend
had closed while idle is replaced by a new one once, for those same requests only.

A service may have a ``TargetGate`` (``GATEWAY_TARGET_GATE``, the breaker app's by default): it
picks targets in the balancer's order but skips those it closes (open breaker, failed health check),
raises the 503 when none is left, and hears each attempt's outcome. Services without one pay nothing.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from django.conf import settings
from django.utils.module_loading import import_string
from yarl import URL

from proxy import tracing
from proxy.balancer import Balancer, make_balancer
from proxy.body import read_body
from proxy.client import BadResponse, ClientFailure, ConnectFailed, Disconnected, PoolBusy, TLSFailed
from proxy.client.connection import Connection
from proxy.client.pool import Pool, PoolStats, Resolver
from proxy.client.tls import TLSConfigError, TLSContexts, TLSIdentity
from proxy.errors import (
    GatewayError,
    NoUpstream,
    UpstreamBadResponse,
    UpstreamBroken,
    UpstreamBusy,
    UpstreamTimeout,
    UpstreamTLS,
    UpstreamUnreachable,
)
from proxy.exchange import Exchange, Response
from proxy.headers import response_headers

if TYPE_CHECKING:
    from proxy.specs import ServiceSpec, Snapshot, TargetSpec

log = logging.getLogger(__name__)

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Methods that carry a body: an empty one is still announced with "Content-Length: 0".
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Responses with a declared length up to this are read whole and sent in one message.
SMALL_RESPONSE = 256 * 1024

VIA = f"1.1 {settings.GATEWAY_VIA_NAME}".encode()
SERVER_HEADER = settings.GATEWAY_BACKEND_SERVER_HEADER
# Request headers the client writes itself (from the body it actually sends).
_OWN_HEADERS = frozenset({b"host", b"content-length"})


# (scheme, host, port, TLS server name, TLS identity digest): connections made with different TLS
# settings (another CA, another client certificate, another SNI) never share a pool.
PoolKey = tuple[str, str, int, str, str]


class Pools:
    """Every target's pool in this process, for the running event loop (a new loop starts afresh)."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.by_origin: dict[PoolKey, Pool] = {}
        self.resolver = Resolver()

    def get(self, key: PoolKey, tls: ssl.SSLContext | None) -> Pool:
        loop = asyncio.get_running_loop()
        if loop is not self.loop:
            self.close()
            self.loop = loop
        pool = self.by_origin.get(key)
        if pool is None:
            _, host, port, server_name, _ = key
            pool = Pool(
                host=host,
                port=port,
                tls=tls,
                resolver=self.resolver,
                limit=settings.GATEWAY_UPSTREAM_POOL_SIZE,
                wait=settings.GATEWAY_UPSTREAM_POOL_WAIT,
                idle_timeout=settings.GATEWAY_UPSTREAM_KEEPALIVE,
                max_idle=settings.GATEWAY_UPSTREAM_MAX_IDLE,
                server_name=server_name,
            )
            self.by_origin[key] = pool
        elif pool.tls is not tls:
            pool.tls = tls  # the same settings, rebuilt because a file changed: new connections use it
        return pool

    def sweep(self) -> None:
        now = time.monotonic()
        for pool in self.by_origin.values():
            pool.sweep(now)

    def close(self) -> None:
        for pool in self.by_origin.values():
            pool.close()
        self.by_origin = {}
        self.resolver = Resolver()


pools = Pools()
# Every TLS context of the process, built while tables are compiled (``ServiceUpstream``).
tls_contexts = TLSContexts()


class TLSSettings(Protocol):
    """A service's TLS fields: a ``ServiceSpec``, or the ``registry.Service`` row (health probes)."""

    @property
    def tls_ca_bundle(self) -> str: ...
    @property
    def tls_client_cert(self) -> str: ...
    @property
    def tls_client_key(self) -> str: ...


def tls_identity(spec: TLSSettings) -> TLSIdentity:
    """The service's TLS settings, each empty one replaced by the global setting: its CA bundle
    replaces GATEWAY_UPSTREAM_CA_BUNDLE (and the system store), its client certificate and key
    replace GATEWAY_UPSTREAM_CLIENT_CERT and _KEY."""
    if spec.tls_client_cert:
        cert, key = spec.tls_client_cert, spec.tls_client_key
    else:
        cert, key = settings.GATEWAY_UPSTREAM_CLIENT_CERT, settings.GATEWAY_UPSTREAM_CLIENT_KEY
    if spec.tls_ca_bundle:
        return TLSIdentity(ca_pem=spec.tls_ca_bundle, cert=cert, key=key)
    return TLSIdentity(ca_file=settings.GATEWAY_UPSTREAM_CA_BUNDLE, cert=cert, key=key)


# Connections opened and reused, pool waits and TLS handshakes, by service slug, for the life of the
# process (a reload keeps them); proxy.metrics turns them into counters.
service_stats: dict[str, PoolStats] = {}


async def open_session() -> None:
    """Nothing to open: pools are made on first use, on the loop that serves."""


async def close_session() -> None:
    pools.close()


async def sweep_idle() -> None:
    """Close connections idle longer than GATEWAY_UPSTREAM_KEEPALIVE (``proxy.apps`` runs it)."""
    pools.sweep()


class TargetGate(Protocol):
    async def pick(self, balancer: Balancer, tried: list[int]) -> tuple[int, Any]:
        """The next target's index (-1: none left) and a ticket for ``report``. Raises the gateway's
        503 when no target was tried yet and every one is closed to traffic."""
        ...

    async def report(self, index: int, ticket: Any, status: int | None) -> None:
        """The attempt's outcome: the backend's status, or None when it gave no answer in time."""
        ...


class TargetGateFactory(Protocol):
    def for_service(self, spec: ServiceSpec, snapshot: Snapshot) -> TargetGate | None: ...


def load_gate_factory(path: str) -> TargetGateFactory | None:
    return import_string(path) if path else None


class ServiceUpstream:
    """Targets, balancer, timeouts and target gate of one service, compiled with the routing table."""

    def __init__(self, spec: ServiceSpec, gate: TargetGate | None = None) -> None:
        self.spec = spec
        self.gate = gate
        self.targets = spec.targets
        self.balancer = make_balancer(spec.lb_algorithm, [t.weight for t in spec.targets])
        self.origins = [(t.host, t.port) for t in spec.targets]
        self.stats = service_stats.setdefault(spec.slug, PoolStats())
        # TLS, for https: the context is built here, at compile time. Settings that cannot be loaded
        # leave ``tls_error`` set: every request to the service answers 502 upstream_tls.
        self.tls: ssl.SSLContext | None = None
        self.tls_error = ""
        self.tls_key: TLSIdentity | None = None
        digest = ""
        if spec.scheme == "https":
            self.tls_key = tls_identity(spec)
            digest = self.tls_key.digest
            try:
                self.tls = tls_contexts.context(self.tls_key)
            except TLSConfigError as exc:
                self.tls_error = str(exc)
                log.error("service %r: its requests answer 502 upstream_tls: %s", spec.name, exc)
        self.pool_keys: list[PoolKey] = [
            (spec.scheme, host, port, spec.tls_server_name, digest) for host, port in self.origins
        ]
        default_port = 443 if spec.scheme == "https" else 80
        self.host_headers = [
            _host_header(t.host, t.port, default_port).encode("ascii" if t.host.isascii() else "idna")
            for t in spec.targets
        ]

    def url(self, index: int, path: str, query: bytes) -> URL:
        host, port = self.origins[index]
        return URL.build(
            scheme=self.spec.scheme,
            host=host,
            port=port,
            path=path,
            query_string=query.decode("latin-1"),
            encoded=True,
        )

    def pool(self, index: int) -> Pool:
        return pools.get(self.pool_keys[index], self.tls)

    def refuse_tls(self, exchange: Exchange) -> NoReturn:
        """The service's TLS settings could not be loaded (``tls_error``): 502 upstream_tls, logged."""
        exchange.upstream_error = "tls"
        log.warning("request %s: service %r cannot use TLS: %s", exchange.request_id, self.spec.name, self.tls_error)
        raise UpstreamTLS(f"Service {self.spec.name!r} has TLS settings the gateway cannot load.")


def _host_header(host: str, port: int, default_port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port == default_port else f"{shown}:{port}"


async def forward(exchange: Exchange) -> Response:
    """The innermost step of every chain: send the request to a target and return its response."""
    if tracing.enabled:
        return await tracing.client(_forward, exchange)
    return await _forward(exchange)


async def _forward(exchange: Exchange) -> Response:
    upstream = exchange.route.upstream
    if not upstream.targets:
        raise NoUpstream(f"Service {upstream.spec.name!r} has no enabled targets.")
    if upstream.tls_error:
        upstream.refuse_tls(exchange)
    body = await read_body(exchange)
    replayable = not isinstance(body, AsyncIterator)
    retryable = replayable and exchange.method in IDEMPOTENT
    attempts = 1 + upstream.spec.retries if retryable else 1
    head, chunked = _request_head(exchange, upstream, body)
    spec = upstream.spec
    balancer = upstream.balancer
    gate = upstream.gate
    tried: list[int] = []
    error: Exception | None = None
    name = spec.name
    ticket: Any = None
    for _ in range(attempts):
        if gate is None:
            index = balancer.pick(tried)
        else:
            index, ticket = await gate.pick(balancer, tried)
        if index < 0:
            break
        tried.append(index)
        target = upstream.targets[index]
        exchange.target = target
        exchange.attempts += 1
        balancer.started(index)
        retry = False
        cause: BaseException
        sent_at = time.perf_counter()
        pool = upstream.pool(index)
        conn: Connection | None = None
        try:
            conn = await pool.acquire(spec.connect_timeout, also=upstream.stats)
            host = exchange.original_host if spec.preserve_host else upstream.host_headers[index]
            request = head + host + b"\r\n\r\n"
            try:
                await _exchange_once(conn, request, body, chunked, exchange.method == "HEAD", spec.read_timeout)
            except Disconnected:
                if not (conn.reused and retryable):
                    raise
                # A kept-alive connection the backend closed while it was idle: one more on a new one.
                pool.discard(conn)
                conn = None
                conn = await pool.acquire(spec.connect_timeout, fresh=True, also=upstream.stats)
                await _exchange_once(conn, request, body, chunked, exchange.method == "HEAD", spec.read_timeout)
        except ConnectFailed as exc:
            failure: GatewayError = UpstreamUnreachable(f"Service {name!r} could not be reached.")
            cause, what, retry, kind = exc, "could not connect", True, "connect"
        except TLSFailed as exc:
            failure = UpstreamTLS(f"Service {name!r} failed the TLS handshake or certificate check.")
            cause, what, retry, kind = exc, f"of service {name!r} failed TLS", True, "tls"
        except PoolBusy as exc:
            failure = UpstreamBusy(f"Service {name!r} has no free connection; retry later.")
            cause, what, kind = exc, "had no free connection", "busy"
        except Disconnected as exc:
            failure = UpstreamBroken(f"Service {name!r} closed the connection before answering.")
            cause, what, retry, kind = exc, "closed the connection before answering", True, "reset"
        except TimeoutError as exc:
            failure = UpstreamTimeout(f"Service {name!r} did not answer within {spec.read_timeout:g} s.")
            cause, what, kind = exc, "timed out", "timeout"
        except BadResponse as exc:
            failure = UpstreamBadResponse(f"Service {name!r} sent a response that cannot be read.")
            cause, what, kind = exc, "sent a broken response", "bad_response"
        except ClientFailure as exc:
            failure = UpstreamBroken(f"Service {name!r} sent a broken response.")
            cause, what, kind = exc, "sent a broken response", "bad_response"
        except BaseException:  # cancelled (the client left), or the client's body failed
            if conn is not None:
                pool.discard(conn)
            balancer.finished(index)
            raise
        else:
            assert conn is not None
            exchange.upstream_seconds = time.perf_counter() - sent_at
            if gate is not None:
                await gate.report(index, ticket, conn.status)
            return await _response(exchange, conn, pool, index)
        if conn is not None:
            pool.discard(conn)
        exchange.upstream_seconds = time.perf_counter() - sent_at
        exchange.upstream_error = kind
        balancer.finished(index)
        if exchange.body_error is not None:
            raise exchange.body_error from None  # the client's fault, not the target's
        _log_failure(exchange, target, what, cause)
        if gate is not None:
            await gate.report(index, ticket, None)
        if not retry:
            raise failure from None
        error = failure
    if error is None:
        error = NoUpstream(f"Service {upstream.spec.name!r} has no target left to try.")
    raise error


async def _exchange_once(
    conn: Connection,
    request: bytes,
    body: bytes | AsyncIterator[bytes] | None,
    chunked: bool,
    head_only: bool,
    read_seconds: float,
) -> None:
    conn.start(head_only)
    await conn.send(request, body, chunked, read_seconds)
    await conn.read_head(read_seconds)


def _request_head(
    exchange: Exchange, upstream: ServiceUpstream, body: bytes | AsyncIterator[bytes] | None
) -> tuple[bytes, bool]:
    """The request line and headers from the edge's raw bytes (no str round trip), ending with
    ``host: `` (its value depends on the target), and whether the body goes chunked."""
    target = exchange.upstream_path or "/"
    line = f"{exchange.method} {target}".encode("latin-1")
    if exchange.query:
        line += b"?" + exchange.query
    parts = [line, b" HTTP/1.1\r\n"]
    headers = exchange.headers
    if tracing.enabled:
        headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in tracing.inject(_as_str(headers))]
    for name, value in headers:
        if name.lower() not in _OWN_HEADERS:
            parts += (name, b": ", value, b"\r\n")
    client = exchange.client_ip.encode("latin-1")
    parts += (b"x-forwarded-for: ", exchange.forwarded_for + b", " + client if exchange.forwarded_for else client)
    parts += (b"\r\nx-real-ip: ", (exchange.client_address or exchange.client_ip).encode("latin-1"))
    parts += (b"\r\nx-forwarded-proto: ", exchange.scheme.encode("latin-1"))
    parts += (b"\r\nx-forwarded-host: ", exchange.original_host)
    parts += (b"\r\nvia: ", exchange.via.encode("latin-1"))
    parts += (b"\r\nx-request-id: ", exchange.request_id.encode("latin-1"), b"\r\n")
    chunked = False
    if isinstance(body, bytes) and body:
        parts += (b"content-length: ", str(len(body)).encode(), b"\r\n")
    elif body is None or isinstance(body, bytes):
        if exchange.method in BODY_METHODS or exchange.content_length is not None:
            parts.append(b"content-length: 0\r\n")
    elif exchange.content_length is not None:
        parts += (b"content-length: ", str(exchange.content_length).encode(), b"\r\n")
    else:
        parts.append(b"transfer-encoding: chunked\r\n")
        chunked = True
    parts.append(b"host: ")
    return b"".join(parts), chunked


def _as_str(headers: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in headers]


async def _response(exchange: Exchange, conn: Connection, pool: Pool, index: int) -> Response:
    balancer = exchange.route.upstream.balancer
    headers = response_headers(conn.headers, exchange.request_id.encode(), VIA, SERVER_HEADER)
    status = conn.status
    if conn.done and conn.error is None:
        body = conn.take()
        pool.release(conn)
        balancer.finished(index)
        return Response(status, headers, body)
    length = conn.content_length()
    if length is not None and length <= SMALL_RESPONSE:
        timeout = exchange.route.upstream.spec.read_timeout
        parts = []
        try:
            while True:
                chunk = await conn.read_chunk(timeout)
                if not chunk:
                    break
                parts.append(chunk)
        except TimeoutError:
            pool.discard(conn)
            raise UpstreamTimeout("The upstream stalled while sending its response.") from None
        except ClientFailure:
            pool.discard(conn)
            raise UpstreamBroken("The upstream response broke off.") from None
        except BaseException:
            pool.discard(conn)
            raise
        finally:
            balancer.finished(index)
        pool.release(conn)
        return Response(status, headers, b"".join(parts))
    return Response(
        status,
        headers,
        stream=_stream(conn, exchange.route.upstream.spec.read_timeout),
        close=lambda: _finish(conn, pool, balancer, index),
    )


async def _stream(conn: Connection, read_seconds: float) -> AsyncIterator[bytes]:
    while True:
        try:
            chunk = await conn.read_chunk(read_seconds)
        except TimeoutError:
            raise UpstreamTimeout("The upstream stalled while sending its response.") from None
        except ClientFailure as exc:
            raise UpstreamBroken(f"The upstream response broke off: {exc}") from None
        if not chunk:
            return
        yield chunk


def _finish(conn: Connection, pool: Pool, balancer: Balancer, index: int) -> None:
    if conn.reusable():
        pool.release(conn)
    else:
        pool.discard(conn)
    balancer.finished(index)


def _log_failure(exchange: Exchange, target: TargetSpec, what: str, exc: BaseException) -> None:
    # Target addresses and the backend's own words go to the log, never to the client.
    log.warning("request %s: target %s %s: %s", exchange.request_id, target.address, what, _describe(exc))


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
