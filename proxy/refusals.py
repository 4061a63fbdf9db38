"""What the server protocol (``proxy.server``) answers for the requests it refuses, and records.

A ``Refusal`` is one such answer: status, ``X-Gateway-Error`` reason, detail, extra headers. ``answer``
is its bytes on the wire (the same RFC 9457 body as every gateway error, ``Connection: close``);
``record`` hands the observers (audit, metrics, access log) the one record every answered request gets.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE

from proxy import observe
from proxy.errors import problem_body, problem_headers

Headers = Sequence[tuple[bytes, bytes]]

REFUSED_METHODS = frozenset({b"TRACE", b"CONNECT"})
ALLOW = (b"allow", b"GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
# Trailer fields that would change how the request is framed, routed, authenticated or interpreted if
# they were taken for headers (RFC 9110 6.5.1): the request is refused. Others are dropped: the
# gateway forwards no trailers.
FORBIDDEN_TRAILERS = frozenset(
    {
        b"authorization",
        b"connection",
        b"content-encoding",
        b"content-length",
        b"content-range",
        b"content-type",
        b"cookie",
        b"expect",
        b"host",
        b"keep-alive",
        b"max-forwards",
        b"proxy-authorization",
        b"range",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
RECORDED_PATH = 2000  # longest path (and query) a refusal's record keeps: the audit column's size


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    reason: str  # X-Gateway-Error
    detail: str
    headers: tuple[tuple[bytes, bytes], ...] = ()
    head_valid: bool = False  # the request head itself was fine: its (redacted) headers are recorded


BAD_REQUEST = Refusal(400, "bad_request", "The request is not valid HTTP/1.1.")
INVALID_FRAMING = Refusal(
    400, "invalid_framing", "The request body is not framed correctly (RFC 9112).", head_valid=True
)


def method_refused(method: bytes) -> Refusal:
    return Refusal(405, "method_not_allowed", f"{method.decode()} is not served here.", (ALLOW,), True)


def trailer_refused(name: bytes) -> Refusal:
    detail = f"A trailer field may not carry {name.decode('latin-1')[:64]}."
    return Refusal(400, "invalid_framing", detail, head_valid=True)


def answer(refusal: Refusal, request_id: str, default_headers: Headers) -> bytes:
    body = problem_body(refusal.status, refusal.reason, refusal.detail, request_id)
    content = [STATUS_LINE[refusal.status]]
    headers = [*default_headers, *problem_headers(refusal.reason, request_id, len(body)), *refusal.headers]
    for name, value in headers:
        content += (name, b": ", value, b"\r\n")
    content += (b"connection: close\r\n\r\n", body)
    return b"".join(content)


def record(
    refusal: Refusal,
    request_id: str,
    method: str,
    target: bytes,
    headers: Headers,
    client: tuple[str, int] | None,
    max_target: int,
) -> None:
    """The observers' record of a refused request. Of a head refused for its size or syntax only the
    request line is kept (cut to the audit column's size): its headers are what was wrong, or
    incomplete."""
    if not observe.active():
        return
    path, _, query = target.decode("latin-1").partition("?")
    scope: dict[str, Any] = {
        "type": "http",
        "method": method,
        "path": path[:RECORDED_PATH],
        "raw_path": path[:RECORDED_PATH].encode("latin-1"),
        "query_string": query[:RECORDED_PATH].encode("latin-1") if len(target) <= max_target else b"",
        "headers": list(headers) if refusal.head_valid else [],
        "client": client,
    }
    now = time.perf_counter()
    peer = client[0] if client else ""
    observe.notify(observe.finished_early(scope, request_id, now, now, refusal.status, refusal.reason, peer))
