"""The upstream leg: one pooled aiohttp session per process, one ``ServiceUpstream`` per service.

Failures map to the error tree in ``proxy.errors``: connect failures 502 ``upstream_unreachable``,
read timeouts 504, broken responses 502 ``upstream_error``. A request is retried on another target
only for idempotent methods with a replayable body, and only before any response byte was sent;
connect failures and connections the backend closed before answering are retried, read timeouts
are not (the backend may still be working on the first attempt).

A service may have a ``TargetGate`` (``GATEWAY_TARGET_GATE``, the breaker app's by default): it
picks targets in the balancer's order but skips those it closes (open breaker, failed health check),
raises the 503 when none is left, and hears each attempt's outcome. Services without one pay nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp
from django.conf import settings
from django.utils.module_loading import import_string
from multidict import CIMultiDict
from yarl import URL

from proxy import tracing
from proxy.balancer import Balancer, make_balancer
from proxy.body import read_body
from proxy.errors import GatewayError, NoUpstream, UpstreamBroken, UpstreamTimeout, UpstreamUnreachable
from proxy.exchange import Exchange, Response
from proxy.headers import response_headers

if TYPE_CHECKING:
    from proxy.specs import ServiceSpec, Snapshot, TargetSpec

log = logging.getLogger(__name__)

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
SKIP_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")
# Responses with a declared length up to this are read whole and sent in one message.
SMALL_RESPONSE = 256 * 1024
STREAM_CHUNK = 64 * 1024

VIA = f"1.1 {settings.GATEWAY_VIA_NAME}".encode()
SERVER_HEADER = settings.GATEWAY_BACKEND_SERVER_HEADER

_session: aiohttp.ClientSession | None = None
_SKIP = CIMultiDict((name, None) for name in SKIP_AUTO_HEADERS)


class _PassThroughRequest(aiohttp.ClientRequest):
    """aiohttp's request with none of its default headers: the backend sees what the client sent.

    Equivalent to ``skip_auto_headers=SKIP_AUTO_HEADERS`` on the session, without rebuilding the
    skip list for every request (measured at several µs of the per-request budget).
    """

    def update_auto_headers(self, skip_auto_headers: object) -> None:
        self._skip_auto_headers = _SKIP


def get_session() -> aiohttp.ClientSession:
    global _session
    if _session is None or _session.closed:
        connector = aiohttp.TCPConnector(
            limit=settings.GATEWAY_UPSTREAM_POOL_SIZE,
            limit_per_host=0,
            keepalive_timeout=settings.GATEWAY_UPSTREAM_KEEPALIVE or None,
            ttl_dns_cache=60,
        )
        _session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,  # bodies pass through byte for byte, Content-Encoding intact
            cookie_jar=aiohttp.DummyCookieJar(),  # never share one client's cookies with another
            trust_env=False,
            request_class=_PassThroughRequest,
            timeout=aiohttp.ClientTimeout(total=None),
        )
    return _session


async def open_session() -> None:
    get_session()


async def close_session() -> None:
    global _session
    if _session is not None:
        await _session.close()
        _session = None


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
        self.timeout = aiohttp.ClientTimeout(total=None, sock_connect=spec.connect_timeout, sock_read=spec.read_timeout)
        self.origins = [(t.host, t.port) for t in spec.targets]

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


async def forward(exchange: Exchange) -> Response:
    """The innermost step of every chain: send the request to a target and return its response."""
    if tracing.enabled:
        return await tracing.client(_forward, exchange)
    return await _forward(exchange)


async def _forward(exchange: Exchange) -> Response:
    upstream = exchange.route.upstream
    if not upstream.targets:
        raise NoUpstream(f"Service {upstream.spec.name!r} has no enabled targets.")
    body = await read_body(exchange)
    replayable = not isinstance(body, AsyncIterator)
    attempts = 1 + upstream.spec.retries if replayable and exchange.method in IDEMPOTENT else 1
    headers = _upstream_headers(exchange, upstream)
    session = get_session()
    balancer = upstream.balancer
    gate = upstream.gate
    tried: list[int] = []
    error: Exception | None = None
    name = upstream.spec.name
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
        try:
            resp = await session.request(
                exchange.method,
                upstream.url(index, exchange.upstream_path, exchange.query),
                headers=headers,
                data=body,
                allow_redirects=False,
                timeout=upstream.timeout,
            )
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            failure: GatewayError = UpstreamUnreachable(f"Service {name!r} could not be reached.")
            cause, what, retry, kind = exc, "could not connect", True, "connect"
        except aiohttp.ServerDisconnectedError as exc:
            failure = UpstreamBroken(f"Service {name!r} closed the connection before answering.")
            cause, what, retry, kind = exc, "closed the connection before answering", True, "reset"
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            failure = UpstreamTimeout(f"Service {name!r} did not answer within {upstream.spec.read_timeout:g} s.")
            cause, what, kind = exc, "timed out", "timeout"
        except (aiohttp.ClientError, ValueError) as exc:
            failure = UpstreamBroken(f"Service {name!r} sent a broken response.")
            cause, what, kind = exc, "sent a broken response", "bad_response"
        except BaseException:  # cancelled: the client left
            balancer.finished(index)
            raise
        else:
            exchange.upstream_seconds = time.perf_counter() - sent_at
            if gate is not None:
                await gate.report(index, ticket, resp.status)
            return await _response(exchange, resp, index)
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


def _upstream_headers(exchange: Exchange, upstream: ServiceUpstream) -> list[tuple[str, str]]:
    headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in exchange.headers if n != b"host"]
    client = exchange.client_ip
    xff = f"{exchange.forwarded_for.decode('latin-1')}, {client}" if exchange.forwarded_for else client
    headers.append(("X-Forwarded-For", xff))
    headers.append(("X-Real-IP", exchange.client_address or client))
    headers.append(("X-Forwarded-Proto", exchange.scheme))
    headers.append(("X-Forwarded-Host", exchange.original_host.decode("latin-1")))
    headers.append(("Via", exchange.via))
    headers.append(("X-Request-ID", exchange.request_id))
    if upstream.spec.preserve_host:
        headers.append(("Host", exchange.original_host.decode("latin-1")))
    if tracing.enabled:
        return tracing.inject(headers)
    return headers


async def _response(exchange: Exchange, resp: aiohttp.ClientResponse, index: int) -> Response:
    balancer = exchange.route.upstream.balancer
    headers = response_headers(resp.raw_headers, exchange.request_id.encode(), VIA, SERVER_HEADER)
    length = resp.content_length
    if exchange.method == "HEAD" or resp.status in (204, 304) or length == 0:
        resp.release()
        balancer.finished(index)
        return Response(resp.status, headers)
    if length is not None and length <= SMALL_RESPONSE:
        try:
            body = await resp.read()
        except (aiohttp.ServerTimeoutError, TimeoutError):
            resp.close()
            raise UpstreamTimeout("The upstream stalled while sending its response.") from None
        except aiohttp.ClientError:
            resp.close()
            raise UpstreamBroken("The upstream response broke off.") from None
        except BaseException:
            resp.close()
            raise
        finally:
            balancer.finished(index)
        resp.release()
        return Response(resp.status, headers, body)
    return Response(resp.status, headers, stream=_stream(resp), close=lambda: _finish(resp, balancer, index))


async def _stream(resp: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    async for chunk in resp.content.iter_chunked(STREAM_CHUNK):
        yield chunk


def _finish(resp: aiohttp.ClientResponse, balancer: object, index: int) -> None:
    if resp.content.at_eof():
        resp.release()
    else:
        resp.close()
    balancer.finished(index)  # type: ignore[attr-defined]


def _log_failure(exchange: Exchange, target: TargetSpec, what: str, exc: BaseException) -> None:
    # Target addresses and the backend's own words go to the log, never to the client.
    log.warning("request %s: target %s %s: %s", exchange.request_id, target.address, what, _describe(exc))


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
