"""Header rules of a proxy (RFC 9110 section 7.6): hop-by-hop removal, forwarding headers, request ids.

``inspect_request`` walks the client's headers once: it validates them (the refusals the server does
not make), pulls out what routing needs, and builds the list that goes upstream.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from proxy.errors import BadRequest, InvalidFraming

Headers = list[tuple[bytes, bytes]]

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-authenticate",
        b"proxy-authorization",
    }
)
# Never taken from a client: the hop-by-hop headers, plus ``Proxy`` (httpoxy: CGI-style backends read
# it as HTTP_PROXY and send their own outbound calls through it) and ``X-Real-IP``, which the gateway
# sets itself from the client address it computed.
REQUEST_DROP = HOP_BY_HOP | {b"proxy", b"x-real-ip"}
FORWARDING = frozenset(
    {b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"x-forwarded-port", b"forwarded"}
)
# Never passed from a backend to the client: the gateway's own error marker.
RESPONSE_DROP = HOP_BY_HOP | {b"x-gateway-error"}

_PLAIN_CONNECTION = frozenset({b"keep-alive", b"close", b"Keep-Alive", b"Close"})
# Used with fullmatch: a "$" would also accept a value that ends in a newline.
_REQUEST_ID_RE = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")
_HOST_RE = re.compile(rb"(?:[A-Za-z0-9\-._~%!$&'()*+,;=]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


@dataclass(slots=True)
class RequestHead:
    headers: Headers  # what goes upstream, minus the forwarding headers added later
    host: bytes
    content_length: int | None
    chunked: bool
    request_id: str
    version: str | None
    forwarded_for: bytes  # the client's X-Forwarded-For, kept only from a trusted peer
    forwarded_proto: bytes
    forwarded_host: bytes
    via: bytes  # the client's Via, to which the gateway appends itself


def new_request_id() -> str:
    return os.urandom(16).hex()


def request_id_or_new(value: bytes) -> str:
    """The client's X-Request-ID when it is 1-128 of ``A-Za-z0-9._:-``, else a new random id."""
    return value.decode("latin-1") if value and _REQUEST_ID_RE.fullmatch(value) else new_request_id()


def request_id_of(scope: Mapping[str, Any]) -> str:
    """For requests refused before ``inspect_request`` finished: the same rule as there."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            return request_id_or_new(value)
    return new_request_id()


def inspect_request(raw: Headers, trusted_peer: bool, version_headers: frozenset[bytes]) -> RequestHead:
    out: Headers = []
    host = b""
    content_length: int | None = None
    chunked = False
    request_id = b""
    version: bytes | None = None
    connection_tokens: list[bytes] = []
    xff = xfp = xfh = via = b""
    for name, value in raw:
        if b"_" in name:
            raise BadRequest(
                f"Header names with underscores are refused ({name.decode('latin-1')!r}); use hyphens.",
                reason="invalid_header",
            )
        if name in REQUEST_DROP:
            if name == b"connection" and value not in _PLAIN_CONNECTION:
                connection_tokens.extend(t.strip().lower() for t in value.split(b","))
            elif name == b"transfer-encoding":
                if chunked or value.strip().lower() != b"chunked":
                    raise InvalidFraming("Only 'Transfer-Encoding: chunked' is accepted.")
                chunked = True
            continue
        if name == b"host":
            if host:
                raise BadRequest("The request has more than one Host header.", reason="invalid_host")
            host = value
        elif name == b"content-length":
            if content_length is not None or not value.isdigit() or len(value) > 18:
                raise InvalidFraming("The Content-Length header is missing a single valid number.")
            content_length = int(value)
        elif name == b"x-request-id":
            request_id = value
            continue
        elif name == b"via":
            via = via + b", " + value if via else value
            continue
        elif name in FORWARDING:
            if trusted_peer:
                if name == b"x-forwarded-for":
                    xff = xff + b", " + value if xff else value
                elif name == b"x-forwarded-proto":
                    xfp = value
                elif name == b"x-forwarded-host":
                    xfh = value
                else:
                    out.append((name, value))
            continue
        elif name in version_headers:
            version = value.strip()
        elif name.startswith(b"x-consumer-"):
            continue  # identity headers are the gateway's to add (proxy.auth), never the client's
        out.append((name, value))
    if chunked and content_length is not None:
        raise InvalidFraming("Content-Length and Transfer-Encoding together are refused.")
    if not host or not _HOST_RE.fullmatch(host):
        raise BadRequest("The request needs exactly one valid Host header.", reason="invalid_host")
    extra = [t for t in connection_tokens if t and t not in (b"close", b"keep-alive")]
    if extra:
        drop = set(extra)
        out = [(n, v) for n, v in out if n not in drop]
    rid = request_id_or_new(request_id)
    return RequestHead(
        headers=out,
        host=host,
        content_length=content_length,
        chunked=chunked,
        request_id=rid,
        version=version.decode("latin-1") if version else None,
        forwarded_for=xff,
        forwarded_proto=xfp,
        forwarded_host=xfh,
        via=via,
    )


def is_trusted(ip: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    if not networks or not ip:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in net for net in networks)


# What becomes of a backend's Server header (GATEWAY_BACKEND_SERVER_HEADER).
SERVER_STRIP_VERSION, SERVER_REMOVE, SERVER_KEEP = "strip-version", "remove", "keep"


def response_headers(
    raw: Sequence[tuple[bytes, bytes]], request_id: bytes, via: bytes, server: str = SERVER_STRIP_VERSION
) -> Headers:
    """Headers to send to the client from a backend's response."""
    connection_tokens: set[bytes] = set()
    out: Headers = []
    has_via = False
    for name, value in raw:
        lname = name.lower()
        if lname in RESPONSE_DROP:
            if lname == b"connection" and value not in _PLAIN_CONNECTION:
                connection_tokens.update(t.strip().lower() for t in value.split(b","))
            continue
        if lname == b"x-request-id":
            continue
        if lname == b"via":
            has_via = True
        elif lname == b"server" and server != SERVER_KEEP:
            value = _product_names(value) if server == SERVER_STRIP_VERSION else b""
            if not value:
                continue
        out.append((lname, value))
    if connection_tokens - {b"close", b"keep-alive"}:
        out = [(n, v) for n, v in out if n not in connection_tokens]
    # Several Via fields form one list: the gateway goes once, after the last of them.
    last_via = max((i for i, (n, _) in enumerate(out) if n == b"via"), default=-1) if has_via else -1
    if last_via >= 0:
        out[last_via] = (b"via", out[last_via][1] + b", " + via)
    out.append((b"x-request-id", request_id))
    if last_via < 0:
        out.append((b"via", via))
    return out


_PRODUCT_NAMES: dict[bytes, bytes] = {}  # a backend sends the same Server value every time
_PRODUCT_NAMES_KEPT = 256


def _product_names(server: bytes) -> bytes:
    names = _PRODUCT_NAMES.get(server)
    if names is None:
        names = product_names(server)
        if len(_PRODUCT_NAMES) < _PRODUCT_NAMES_KEPT:
            _PRODUCT_NAMES[server] = names
    return names


def product_names(server: bytes) -> bytes:
    """A Server value without versions or comments: ``nginx/1.25.3 (Ubuntu)`` -> ``nginx``, so a
    response does not tell an attacker which known vulnerabilities a backend has."""
    names = []
    depth = 0
    for token in server.split():
        if depth or token.startswith(b"("):
            depth += token.count(b"(") - token.count(b")")
            continue
        name = token.split(b"/", 1)[0]
        if name:
            names.append(name)
    return b" ".join(names)


def client_address(
    peer: str, forwarded_for: bytes, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> str:
    """The client as limits and audit see it. ``forwarded_for`` is only ever non-empty when the
    peer is a trusted proxy: then the right-most X-Forwarded-For entry that is not itself a trusted
    proxy is the client (entries left of it were written by the client and prove nothing). A
    malformed entry stops the walk: it cannot be trusted, so the last trusted hop's view is used."""
    if not forwarded_for:
        return peer
    address = peer
    for part in reversed(forwarded_for.split(b",")):
        entry = part.strip().decode("latin-1")
        try:
            ipaddress.ip_address(entry)
        except ValueError:
            return address
        address = entry
        if not is_trusted(entry, networks):
            return entry
    return address
