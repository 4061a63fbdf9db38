"""Reading the client's request body under the route's limit and its two timeouts.

A small body (or one that arrives in a single message) is read whole so that it can be replayed on
a retry; anything else is streamed to the upstream as it arrives, cut off at the limit. The body
must arrive within the route's ``body_timeout`` of the request's head (``GATEWAY_BODY_DEADLINE``, a
body dribbled a byte at a time is not served forever) and never stall longer than
``GATEWAY_BODY_TIMEOUT`` between two reads: 408 ``body_timeout``, with the connection closed.
A body whose framing breaks is refused by the server protocol (``proxy.server``); this reader then
sees ``http.disconnect`` and the upstream request, if it started, is abandoned. A policy
that must see the body before the backend is called (request validation) reads it whole with
``buffer_body``; the upstream leg then sends those bytes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from django.conf import settings

from proxy.errors import BodyTimeout, BodyTooLarge, GatewayError
from proxy.exchange import Exchange

# Bodies up to this size are buffered (and so can be retried on another target).
BUFFER_LIMIT = 64 * 1024


class ClientGone(Exception):
    """The client disconnected before its request was complete."""


async def read_body(exchange: Exchange) -> bytes | AsyncIterator[bytes] | None:
    if exchange.buffered is not None:
        return exchange.buffered
    if not exchange.chunked and not exchange.content_length:
        exchange.body_done = True
        return None
    first, more = await _receive_chunk(exchange)
    if not more:
        exchange.body_done = True
        return first
    length = exchange.content_length
    if length is not None and length <= BUFFER_LIMIT:
        parts = [first]
        while more:
            chunk, more = await _receive_chunk(exchange)
            parts.append(chunk)
        exchange.body_done = True
        return b"".join(parts)
    return _stream(exchange, first)


async def buffer_body(exchange: Exchange) -> bytes:
    """The whole request body, read now under the route's limit and the body timeout (a policy
    pays for this only on the routes where it asks)."""
    if exchange.buffered is None:
        body = await read_body(exchange)
        if isinstance(body, bytes | None):
            exchange.buffered = body or b""
        else:
            exchange.buffered = b"".join([chunk async for chunk in body])
    return exchange.buffered


async def _stream(exchange: Exchange, first: bytes) -> AsyncIterator[bytes]:
    try:
        yield first
        more = True
        while more:
            chunk, more = await _receive_chunk(exchange)
            if chunk:
                yield chunk
        exchange.body_done = True
    except Exception as exc:
        # aiohttp wraps what a body generator raises; keep the real cause for the error answer.
        exchange.body_error = exc
        raise


async def _receive_chunk(exchange: Exchange) -> tuple[bytes, bool]:
    idle = settings.GATEWAY_BODY_TIMEOUT
    deadline = exchange.route.spec.body_timeout
    left = exchange.started + deadline - time.perf_counter()
    try:
        async with asyncio.timeout(min(idle, left)):
            message = await exchange.receive()
    except TimeoutError:
        if left < idle:
            detail = f"The request body was not complete within {deadline:g} s."
        else:
            detail = f"The request body stalled for more than {idle:g} s."
        error: GatewayError = BodyTimeout(detail)
        error.close_connection = True
        exchange.body_error = error
        raise error from None
    if message["type"] == "http.disconnect":
        raise ClientGone()
    chunk: bytes = message.get("body", b"")
    exchange.bytes_in += len(chunk)
    if exchange.bytes_in > exchange.body_limit:
        error = BodyTooLarge(f"The request body exceeds this route's limit of {exchange.body_limit} bytes.")
        error.close_connection = True
        exchange.body_error = error
        raise error
    return chunk, bool(message.get("more_body", False))
