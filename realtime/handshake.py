"""Before a WebSocket handshake is accepted: credentials browsers can send, the Origin check, refusals.

Browsers cannot set an ``Authorization`` header on a WebSocket, so where a route allows it the
credential may come as a ``bearer.<credential>`` entry of ``Sec-WebSocket-Protocol`` or as the
``access_token`` query parameter. Either is turned into ``Authorization: Bearer <credential>`` for
the route's auth policy, and removed from what the backend sees (the gateway never selects the
``bearer.`` subprotocol, so the browser accepts a handshake without it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from proxy.auth.credentials import Unauthenticated
from proxy.errors import GatewayError, Unauthorized, problem
from realtime.errors import OriginRefused

TOKEN_PROTOCOL = "bearer."  # noqa: S105  (a marker, not a password)
QUERY_PARAM = b"access_token"
Headers = list[tuple[bytes, bytes]]


def take_credentials(
    headers: Headers, query: bytes, subprotocols: Sequence[str], from_protocol: bool, from_query: bool
) -> tuple[Headers, bytes, list[str]]:
    """``(headers, query, subprotocols)`` with a credential from the subprotocol list or the query
    string moved into an Authorization header. Credentials in places the route does not read are
    still removed, never forwarded."""
    found: list[str] = []
    kept_protocols = []
    for protocol in subprotocols:
        if protocol.lower().startswith(TOKEN_PROTOCOL):
            if from_protocol:
                found.append(protocol[len(TOKEN_PROTOCOL) :])
        else:
            kept_protocols.append(protocol)
    if query:
        prefix = QUERY_PARAM + b"="
        parts = query.split(b"&")
        tokens = [part[len(prefix) :] for part in parts if part.startswith(prefix)]
        if tokens:
            if from_query:
                found.extend(unquote(t.decode("latin-1")) for t in tokens)
            query = b"&".join(part for part in parts if not part.startswith(prefix))
    if found:
        if len(found) > 1 or any(name == b"authorization" for name, _ in headers):
            raise _refused("The handshake carries more than one credential.")
        headers = [*headers, (b"authorization", b"Bearer " + found[0].encode("latin-1"))]
    return headers, query, kept_protocols


def _refused(detail: str) -> Unauthorized:
    refusal = Unauthenticated(detail, "invalid_credentials")
    return Unauthorized(str(refusal), reason=refusal.reason, headers=[(b"www-authenticate", b'Bearer realm="gateway"')])


def check_origin(headers: Headers, host: bytes, scheme: str, allowed: tuple[str, ...]) -> None:
    """Browsers always send Origin on a WebSocket: refuse those not allowed (403). Other clients
    send none and are not checked (they could forge it anyway)."""
    origins = [value for name, value in headers if name == b"origin"]
    if not origins:
        return
    if len(origins) > 1:
        raise OriginRefused("The handshake carries more than one Origin header.")
    origin = origins[0].decode("latin-1").strip().lower().rstrip("/")
    if allowed == ("*",) or origin in allowed:
        return
    if not allowed:
        parts = urlsplit(origin)
        own = _without_default_port(host.decode("latin-1").lower())
        if parts.scheme in ("http", "https") and _without_default_port(parts.netloc) == own:
            return
    raise OriginRefused(f"Origin {origin[:200]!r} may not open WebSockets here.")


def _without_default_port(netloc: str) -> str:
    for port in (":80", ":443"):
        if netloc.endswith(port):
            return netloc[: -len(port)]
    return netloc


async def refuse(scope: dict[str, Any], send: Any, error: GatewayError, request_id: str, path: str) -> None:
    """Answer the upgrade with the gateway's problem+json (or a close 1008 where the server cannot)."""
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1008, "reason": error.reason})
        return
    headers, body = problem(error, request_id, path)
    await send({"type": "websocket.http.response.start", "status": error.status, "headers": headers})
    await send({"type": "websocket.http.response.body", "body": body})


async def answer(scope: dict[str, Any], send: Any, status: int, headers: Headers, body: bytes) -> None:
    """Pass a non-101 answer (the backend's refusal, or a policy's response) to the client."""
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1008 if status < 500 else 1011})
        return
    await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
    await send({"type": "websocket.http.response.body", "body": body})
