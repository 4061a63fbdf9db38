"""What a write invalidates (RFC 9111 4.4): the paths whose stored answers may no longer be true.

A request with an unsafe method (any not registered as safe: POST, PUT, PATCH, DELETE, unknown ones)
answered 2xx or 3xx invalidates its own path and the paths of its answer's ``Location`` and
``Content-Location`` when they are on the request's host (another host's entries are never touched:
a backend cannot empty the cache of a site it does not serve). A path stands for every entry stored
under it on that host: each route, query, variant (Vary) and consumer (``cache.keys.uri``). That is
more than the RFC requires (the target URI, query included), and on purpose: the query is partly
ignored per route, and a write to ``/items`` usually changes ``/items?page=2`` too.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urljoin, urlsplit

from cache import keys
from cache.answers import BYPASS, cache_status, mark_response, marks
from cache.filling import forget_flights, without_tag_headers
from cache.stores import MemoryStore, RedisStore
from proxy.errors import GatewayError
from proxy.exchange import Exchange, Response
from proxy.pipeline import Handler

# Safe methods in the IANA HTTP Method Registry; every other method is treated as unsafe.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PROPFIND", "REPORT", "SEARCH"})
_NAMED = (b"location", b"content-location")


class Invalidation:
    """Part of ``cache.policies.CachePolicy``: its step for unsafe methods."""

    counted: dict[str, Any]
    invalidations: dict[bool, Any]  # the metric's children: True done, False failed
    store: MemoryStore | RedisStore
    route_key: str  # cache.keys.route_key of the route: on a Redis Cluster, whose path indexes a write clears

    async def _write(self, exchange: Exchange, call_next: Handler) -> Response:
        """An unsafe method: to the backend, and when it succeeded (2xx, 3xx) every entry of the request's
        path, and of its Location and Content-Location on this host, goes before the answer does."""
        self.counted[BYPASS].inc()
        try:
            response = await call_next(exchange)
        except GatewayError as error:
            error.headers.extend(marks(BYPASS, cache_status(b"fwd=method"), 0))
            raise
        without_tag_headers(response)
        if not 200 <= response.status < 400:
            return mark_response(response, BYPASS, cache_status(b"fwd=method"))
        uris = written_uris(exchange.path, exchange.host, response.headers)
        forget_flights(uris)
        removed = await self.store.invalidate(uris, time.time(), self.route_key)
        if removed is None:
            self.invalidations[False].inc()
            return mark_response(response, BYPASS, cache_status(b"fwd=method", b"detail=not-invalidated"))
        self.invalidations[True].inc()
        return mark_response(response, BYPASS, cache_status(b"fwd=method", b"detail=invalidated"))


def written_uris(path: str, host: str, headers: Sequence[tuple[bytes, bytes]]) -> list[str]:
    """The ``cache.keys.uri`` of the request's path and of each same-host Location/Content-Location."""
    uris = [keys.uri(path, host)]
    for name, value in headers:
        if name in _NAMED:
            other = same_host_path(value.decode("latin-1"), host, path)
            if other is not None:
                uri = keys.uri(other, host)
                if uri not in uris:
                    uris.append(uri)
    return uris


def same_host_path(reference: str, host: str, base: str) -> str | None:
    """The path ``reference`` names, resolved against the request's ``base`` path, when it is on
    ``host`` (lower case, without a port, as ``Exchange.host``); None for another host, another
    scheme, or something no request could have asked for."""
    reference = reference.strip()
    if not reference or any(c <= " " or c == "\x7f" for c in reference):
        return None
    if reference.startswith("/") and not reference.startswith("//") and "/." not in reference:
        path = reference  # the common case: an absolute path without dot segments
    else:
        try:
            parts = urlsplit(urljoin(base, reference))
        except ValueError:  # a malformed authority (an unclosed IPv6 bracket)
            return None
        if parts.scheme and parts.scheme.lower() not in ("http", "https"):
            return None
        if parts.netloc and _host_of(parts.netloc) != host:
            return None
        path = parts.path or "/"
    path = path.split("#", 1)[0].split("?", 1)[0]
    return path if path.startswith("/") else None


def _host_of(netloc: str) -> str:
    hostport = netloc.rpartition("@")[2].lower()
    colon = hostport.rfind(":")
    if colon > 0 and "]" not in hostport[colon:]:
        hostport = hostport[:colon]
    return hostport
