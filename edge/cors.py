"""CORS (the Fetch standard's CORS protocol): allowed origins, checked when saved, compiled per route.

Origins are written as ``https://app.example.com``, ``*`` (any origin, never with credentials: the
standard forbids it) or ``https://*.example.com`` (any subdomain, at any depth, of example.com; not
example.com itself). A port is part of an origin: ``http://localhost:3000``. ``null`` is refused: it
is what sandboxed frames and local files send, so allowing it allows anyone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from edge import headers as h
from registry.validators import HTTP_METHODS

ANY = "*"
DEFAULT_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_ORIGIN_RE = re.compile(rf"(https?)://((?:\*\.)?{_LABEL}(?:\.{_LABEL})*|\[[0-9a-f:.]+\])(?::([0-9]{{1,5}}))?")


def parse_origins(value: str) -> tuple[str, ...]:
    """The origins of a list, normalised (lower case, no default port, no trailing slash)."""
    found = h.items(value)
    h.check_count(found)
    out: list[str] = []
    for item in found:
        origin = _origin(item)
        if origin not in out:
            out.append(origin)
    if ANY in out and len(out) > 1:
        raise ValidationError("'*' already allows every origin; list it alone.", code="origin_any")
    return tuple(out)


def _origin(item: str) -> str:
    if item == ANY:
        return ANY
    lowered = item.lower().rstrip("/")
    if lowered == "null":
        raise ValidationError(
            "'null' is the origin of sandboxed frames and local files, which anyone can make: it is refused.",
            code="origin_null",
        )
    found = _ORIGIN_RE.fullmatch(lowered)
    if found is None:
        raise ValidationError(
            f"{item[:60]!r} is not an origin: write scheme://host[:port], e.g. https://app.example.com, "
            "https://*.example.com or *, with no path.",
            code="origin",
        )
    scheme, host, port = found.groups()
    if port is not None and not 0 < int(port) < 65536:
        raise ValidationError(f"{item[:60]!r}: the port must be 1-65535.", code="origin")
    if port is None or port == {"http": "80", "https": "443"}[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{int(port)}"


def parse_methods(value: str) -> tuple[str, ...]:
    out: list[str] = []
    for item in h.items(value.upper()):
        if item not in HTTP_METHODS:
            raise ValidationError(f"{item[:20]!r} is not one of {', '.join(HTTP_METHODS)}.", code="method")
        if item not in out:
            out.append(item)
    return tuple(out)


def parse_header_list(value: str) -> tuple[str, ...]:
    """Request or exposed header names, or ``*`` alone."""
    found = h.items(value)
    if found == [ANY]:
        return (ANY,)
    h.check_count(found)
    out: list[str] = []
    for name in found:
        lowered = h.check_name(name)
        if lowered not in out:
            out.append(lowered)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class CorsSpec:
    """One level's CORS settings (route, service or the defaults), as saved."""

    enabled: bool
    origins: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()  # empty: the route's methods
    allow_headers: tuple[str, ...] = ()  # empty: whatever the preflight asks for
    expose_headers: tuple[str, ...] = ()
    credentials: bool = False
    max_age: int | None = None


class Origins:
    """Which origins a route allows: exact ones in a set, subdomain patterns in one expression."""

    def __init__(self, origins: tuple[str, ...]) -> None:
        self.any = ANY in origins
        self.exact = frozenset(o.encode() for o in origins if "*" not in o)
        patterns = [
            re.escape(scheme) + r"://(?:[a-z0-9-]+\.)+" + re.escape(rest[2:])
            for scheme, _, rest in (o.partition("://") for o in origins if o.startswith(("http://*.", "https://*.")))
        ]
        self.pattern = re.compile("|".join(patterns).encode()) if patterns else None

    def allows(self, origin: bytes) -> bool:
        if self.any or origin in self.exact:
            return True
        return self.pattern is not None and self.pattern.fullmatch(origin.lower()) is not None
