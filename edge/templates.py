"""Header and query values with placeholders, compiled once: ``X-Tenant: {consumer_name}@{route}``.

    {consumer_id} {consumer_name}   the authenticated caller ("" for an anonymous one)
    {route} {service}               the route's and service's names (filled in at compile time)
    {request_id} {client_address}   this request's id and the client address (behind trusted proxies)

``{{`` and ``}}`` are literal braces. A value is checked when saved (``parse``): unknown placeholders
and unbalanced braces are refused there, so rendering never fails. Whatever a placeholder brings at
request time is made safe for a header (``safe``): a name with a CR/LF or a non-ASCII letter cannot
produce an invalid header, it is percent-encoded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from django.core.exceptions import ValidationError

if TYPE_CHECKING:
    from proxy.exchange import Exchange
    from proxy.specs import RouteSpec

PER_REQUEST = ("consumer_id", "consumer_name", "request_id", "client_address")
PER_ROUTE = ("route", "service")
PLACEHOLDERS = PER_REQUEST + PER_ROUTE
# What a header value may hold (RFC 9110 5.5, visible ASCII and spaces); anything else is encoded.
_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")

Part = str | tuple[str]  # a literal, or (placeholder,)


def parse(value: str) -> tuple[Part, ...]:
    """The literal and placeholder parts of ``value``; ``ValidationError`` when it is malformed."""
    parts: list[Part] = []
    literal: list[str] = []
    i = 0
    while i < len(value):
        char = value[i]
        if char in "{}" and value[i : i + 2] in ("{{", "}}"):
            literal.append(char)
            i += 2
            continue
        if char == "}":
            raise ValidationError("A lone '}' : write '}}' for a literal brace.", code="template")
        if char == "{":
            end = value.find("}", i)
            name = value[i + 1 : end] if end > 0 else ""
            if name not in PLACEHOLDERS:
                shown = value[i : end + 1] if end > 0 else value[i:]
                raise ValidationError(
                    f"Unknown placeholder {shown[:40]!r}; use {', '.join('{' + p + '}' for p in PLACEHOLDERS)}, "
                    "or '{{' for a literal brace.",
                    code="template",
                )
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append((name,))
            i = end + 1
            continue
        literal.append(char)
        i += 1
    if literal:
        parts.append("".join(literal))
    return tuple(parts)


def safe(value: str) -> str:
    """``value`` as it may stand in a header: visible ASCII kept, everything else percent-encoded."""
    if value.isascii() and value.isprintable() and "%" not in value:
        return value
    return quote(value, safe=_SAFE)


@dataclass(frozen=True, slots=True)
class Template:
    """A value for one route: per-route placeholders already filled in; ``static`` when nothing is
    left to fill per request."""

    parts: tuple[Part, ...]
    static: bytes | None

    @classmethod
    def for_route(cls, parts: tuple[Part, ...], route: RouteSpec) -> Template:
        filled: list[Part] = []
        for part in parts:
            if isinstance(part, tuple) and part[0] in PER_ROUTE:
                part = safe(route.name if part[0] == "route" else route.service.name)
            if isinstance(part, str) and filled and isinstance(filled[-1], str):
                filled[-1] += part
            else:
                filled.append(part)
        if all(isinstance(p, str) for p in filled):
            return cls(tuple(filled), "".join(filled).encode())  # type: ignore[arg-type]
        return cls(tuple(filled), None)

    def value(self, exchange: Exchange) -> bytes:
        """The rendered value; b"" when every placeholder came out empty (the header is then left out,
        so an anonymous caller gets no ``X-Tenant: ``)."""
        if self.static is not None:
            return self.static
        out = []
        filled = False
        identity = exchange.identity
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            name = part[0]
            if name == "consumer_id":
                text = identity.consumer_id if identity is not None else ""
            elif name == "consumer_name":
                text = safe(identity.name) if identity is not None else ""
            elif name == "request_id":
                text = exchange.request_id
            else:
                text = exchange.client_address or exchange.client_ip
            filled = filled or bool(text)
            out.append(text)
        return "".join(out).strip().encode() if filled else b""
