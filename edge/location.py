"""Rewriting a backend's ``Location`` and ``Content-Location`` that name its own address (what
nginx's ``proxy_redirect default`` does), on by default.

A backend behind the gateway sees the target's address as its Host (unless the service preserves
the client's), so its redirects name ``http://10.0.0.5:8080/login``: unreachable for the client,
and a leak of the internal address. Such a value is rewritten to the URL the client used: its
scheme (``X-Forwarded-Proto`` from a trusted proxy) and Host (or a trusted ``X-Forwarded-Host``),
and the path moves from the backend's side of the route to the client's (``/base/login`` on a
service with base path ``/base`` behind the stripped prefix ``/shop`` becomes ``/shop/login``).
Relative values and other hosts' URLs are left alone.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from proxy.exchange import Exchange, Headers

if TYPE_CHECKING:
    from proxy.specs import RouteSpec

ORIGINAL_PATH = "edge.upstream_path"  # exchange.extra: the upstream path before a rewrite
NAMES = (b"location", b"content-location")
_HOST_RE = re.compile(r"(?:[A-Za-z0-9\-._~%!$&'()*+,;=]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


class LocationRewrite:
    def __init__(self, origins: frozenset[str], base_path: str, strip_prefix: bool) -> None:
        self.origins = origins
        self.base_path = base_path
        self.strip_prefix = strip_prefix

    @classmethod
    def for_route(cls, route: RouteSpec) -> LocationRewrite | None:
        service = route.service
        origins = internal_origins(service.scheme, service.targets)
        return cls(origins, service.base_path, route.strip_prefix) if origins else None

    def apply(self, headers: Headers, exchange: Exchange) -> Headers:
        for index, (name, value) in enumerate(headers):
            if name in NAMES:
                rewritten = self.rewrite(value, exchange)
                if rewritten is not value:
                    headers = list(headers)
                    headers[index] = (name, rewritten)
        return headers

    def rewrite(self, value: bytes, exchange: Exchange) -> bytes:
        host = exchange.original_host.decode("latin-1")
        if not _HOST_RE.fullmatch(host):
            return value
        upstream_path = exchange.extra.get(ORIGINAL_PATH, exchange.upstream_path)
        upstream_root, public_root = self.roots(exchange.path, upstream_path)
        text = value.decode("latin-1")
        found = rewrite_location(text, self.origins, f"{exchange.scheme}://{host}", upstream_root, public_root)
        return value if found is None else found.encode("latin-1")

    def roots(self, path: str, upstream_path: str) -> tuple[str, str]:
        """(the backend's side, the client's side) of this request's path mapping."""
        base = self.base_path
        if not self.strip_prefix:
            return base, ""
        forwarded = upstream_path[len(base) :] if upstream_path.startswith(base) else upstream_path
        if forwarded and path.endswith(forwarded):
            return base, path[: len(path) - len(forwarded)]
        return base, path


def internal_origins(scheme: str, targets: Any) -> frozenset[str]:
    """How a backend may name itself in a redirect: ``scheme://host:port`` of each target, without
    the port too when it is the scheme's default."""
    out = set()
    default = 443 if scheme == "https" else 80
    for target in targets:
        host = f"[{target.host}]" if ":" in target.host else target.host
        out.add(f"{scheme}://{host.lower()}:{target.port}")
        if target.port == default:
            out.add(f"{scheme}://{host.lower()}")
    return frozenset(out)


def rewrite_location(
    value: str, origins: frozenset[str], public: str, upstream_root: str, public_root: str
) -> str | None:
    """``value`` pointing at the public URL instead of a backend origin in ``origins``; None when it
    does not point at one. The path moves with it when it lies below the backend's side of the
    route (``upstream_root``, e.g. the service's base path), which becomes ``public_root`` (the
    route's prefix, when the route strips it)."""
    start = value.find("://")
    if start <= 0:
        return None
    ends = [i for i in (value.find(c, start + 3) for c in "/?#") if i >= 0]
    origin_end = min(ends, default=len(value))
    if value[:origin_end].lower() not in origins:
        return None
    rest = value[origin_end:]
    cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    path, suffix = rest[:cut], rest[cut:]
    below = not upstream_root or path == upstream_root or path.startswith(upstream_root + "/")
    if path.startswith("/") and upstream_root != public_root and below:
        path = public_root.rstrip("/") + path[len(upstream_root) :] or "/"
    return public + path + suffix
