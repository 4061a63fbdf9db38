"""The gateway's own errors, mapped to status codes in one place.

    GatewayError
    ├── BadRequest (400 bad_request, invalid_host, invalid_header, invalid_path, unsupported_version)
    │   └── InvalidFraming (400 invalid_framing; the connection is closed)
    ├── NoRoute (404 no_route)
    ├── MethodNotAllowed (405 method_not_allowed)
    ├── BodyTimeout (408 body_timeout)
    ├── Unauthorized (401 missing_credentials, invalid_credentials, invalid_token, credentials_in_query)
    ├── Forbidden (403 insufficient_role)
    ├── BodyTooLarge (413 body_too_large)
    ├── UpstreamUnreachable (502 upstream_unreachable)
    │   └── UpstreamTLS (502 upstream_tls)
    ├── UpstreamBroken (502 upstream_error)
    │   └── UpstreamBadResponse (502 upstream_bad_response)
    ├── NoUpstream (503 no_healthy_upstream)
    ├── UpstreamBusy (503 upstream_busy)
    ├── CircuitOpen (503 circuit_open)
    ├── DependencyDown (503 auth_unavailable)
    ├── ShuttingDown (503 shutting_down)
    └── UpstreamTimeout (504 upstream_timeout)

Each becomes an RFC 9457 problem+json response with ``X-Gateway-Error: <reason>`` and the request
id, plus the error's ``extensions`` (extension members, such as a list of ``errors``):
``problem_body`` and ``problem_headers`` on the data plane, ``problem_response`` for a Django view.
Feature apps add their own subclasses (401, 403, 429, 503) in the same way. The answers the server
protocol gives before (or instead of) the application, with the same body, are in ``proxy.server``:
400 bad_request and invalid_framing, 405 for TRACE and CONNECT, 408 request_header_timeout,
414 uri_too_long, 431 header_too_large.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse


class GatewayError(Exception):
    status = 500
    reason = "internal_error"

    def __init__(
        self,
        detail: str,
        *,
        reason: str | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
        extensions: dict[str, object] | None = None,
    ):
        super().__init__(detail)
        self.detail = detail
        if reason is not None:
            self.reason = reason
        self.headers = headers or []
        # Extra members of the problem body (RFC 9457 section 3.2), e.g. {"errors": [...]}.
        self.extensions = extensions
        # Set when the request body was not (fully) read: the connection cannot be reused.
        self.close_connection = False


class BadRequest(GatewayError):
    status = 400
    reason = "bad_request"


class InvalidFraming(BadRequest):
    """The request's framing (Content-Length, Transfer-Encoding) cannot be trusted: whatever follows
    the head on this connection cannot be told apart from a next request, so the connection ends."""

    reason = "invalid_framing"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.close_connection = True


class NoRoute(GatewayError):
    status = 404
    reason = "no_route"


class MethodNotAllowed(GatewayError):
    status = 405
    reason = "method_not_allowed"


class Unauthorized(GatewayError):
    """Missing or bad credentials; raise it with a ``WWW-Authenticate`` header in ``headers``."""

    status = 401
    reason = "invalid_credentials"


class Forbidden(GatewayError):
    status = 403
    reason = "forbidden"


class BodyTimeout(GatewayError):
    status = 408
    reason = "body_timeout"


class BodyTooLarge(GatewayError):
    status = 413
    reason = "body_too_large"


class UpstreamUnreachable(GatewayError):
    status = 502
    reason = "upstream_unreachable"


class UpstreamBroken(GatewayError):
    status = 502
    reason = "upstream_error"


class UpstreamTLS(UpstreamUnreachable):
    """The TLS handshake with the backend failed (certificate not verified, protocol error)."""

    reason = "upstream_tls"


class UpstreamBadResponse(UpstreamBroken):
    """A response whose framing or head cannot be trusted (never passed on)."""

    reason = "upstream_bad_response"


class UpstreamBusy(GatewayError):
    """Every connection the pool allows to the target stayed busy for GATEWAY_UPSTREAM_POOL_WAIT."""

    status = 503
    reason = "upstream_busy"


class NoUpstream(GatewayError):
    status = 503
    reason = "no_healthy_upstream"


class CircuitOpen(GatewayError):
    status = 503
    reason = "circuit_open"


class DependencyDown(GatewayError):
    """A service the gateway needs to decide (e.g. token introspection) cannot answer: refuse, never pass."""

    status = 503
    reason = "dependency_down"


class ShuttingDown(GatewayError):
    """The process is stopping and this request's answer had not started: retry it elsewhere."""

    status = 503
    reason = "shutting_down"


class UpstreamTimeout(GatewayError):
    status = 504
    reason = "upstream_timeout"


def problem_schema(description: str, errors: dict[str, object]) -> dict[str, object]:
    """The JSON Schema of what ``problem_body`` writes, for OpenAPI documents (``errors`` is the schema of
    the ``errors`` extension, which differs by who answers)."""
    return {
        "type": "object",
        "description": description,
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "request_id": {"type": "string"},
            "instance": {"type": "string"},
            "errors": errors,
        },
        "required": ["type", "title", "status", "detail", "request_id"],
    }


def problem_body(
    status: int,
    reason: str,
    detail: str,
    request_id: str,
    instance: str | None = None,
    extensions: dict[str, object] | None = None,
) -> bytes:
    body: dict[str, object] = {
        **(extensions or {}),
        "type": f"urn:gateway:error:{reason}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "request_id": request_id,
    }
    if instance is not None:
        body["instance"] = instance
    return json.dumps(body, separators=(",", ":")).encode()


def problem_headers(reason: str, request_id: str, length: int) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(length).encode()),
        (b"x-gateway-error", reason.encode()),
        (b"x-request-id", request_id.encode()),
        (b"cache-control", b"no-store"),
    ]


def problem(
    error: GatewayError, request_id: str, instance: str | None = None
) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The headers and body of the gateway's answer to ``error`` (``Connection: close`` included when
    the request body was left unread)."""
    body = problem_body(error.status, error.reason, error.detail, request_id, instance, error.extensions)
    headers = problem_headers(error.reason, request_id, len(body)) + error.headers
    if error.close_connection:
        headers.append((b"connection", b"close"))
    return headers, body


def problem_response(request: HttpRequest, error: GatewayError, request_id: str | None = None) -> HttpResponse:
    """The same answer from a Django view (health, sign-in limits, error pages, the publish endpoint)."""
    from django.http import HttpResponse

    from proxy.headers import request_id_or_new

    if request_id is None:
        request_id = request_id_or_new(request.headers.get("X-Request-ID", "").encode("latin-1", "replace"))
    headers, body = problem(error, request_id, request.path)
    response = HttpResponse(body, status=error.status, content_type="application/problem+json")
    for name, value in headers:
        if name not in (b"content-type", b"content-length", b"connection"):
            response[name.decode()] = value.decode("latin-1")
    return response
