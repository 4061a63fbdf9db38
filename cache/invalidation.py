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

from collections.abc import Sequence
from urllib.parse import urljoin, urlsplit

from cache import keys

# Safe methods in the IANA HTTP Method Registry; every other method is treated as unsafe.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PROPFIND", "REPORT", "SEARCH"})
_NAMED = (b"location", b"content-location")


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
