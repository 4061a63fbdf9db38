"""The uvicorn WebSocket protocol the gateway runs with (``--ws realtime.server:GatewayWebSocketProtocol``).

Three changes to uvicorn's websockets-sansio protocol:

- Shutdown: uvicorn closes every open WebSocket with 1012 (service restart) before the ASGI lifespan
  shutdown runs. The gateway promises 1001 (going away): this subclass sends that instead and marks
  the shutdown, so the relay closes the backend leg with 1001 too and records the close as the
  gateway's.
- Handshakes the websockets library refuses before the application is called (a
  ``Sec-WebSocket-Version`` other than 13, a missing or malformed ``Sec-WebSocket-Key``, a bad
  ``Upgrade``) get the gateway's problem+json instead of the library's plain text, and one observers'
  record like every other refusal. A wrong or missing version is ``426 Upgrade Required`` with
  ``Sec-WebSocket-Version: 13`` (RFC 6455 4.2.2).
- A handshake the application refuses (401, 403 origin, ...) with a whole HTTP answer counts as a
  completed handshake, so uvicorn does not log it as an error: a refusal is one access-log line.
"""

from __future__ import annotations

import time
from http import HTTPStatus
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.datastructures import Headers
from websockets.exceptions import InvalidHeader, InvalidMethod, InvalidUpgrade
from websockets.http11 import Request, Response
from websockets.server import ServerProtocol

from proxy.errors import problem_body, problem_headers
from proxy.headers import request_id_of
from realtime import records
from realtime.live import GOING_AWAY, live

VERSION = "Sec-WebSocket-Version"


class GatewayServerProtocol(ServerProtocol):
    """websockets' server handshake, with its refusals rewritten as problem+json."""

    request_id = ""
    refusal: tuple[int, str] | None = None  # status and X-Gateway-Error of a refused handshake

    def accept(self, request: Request) -> Response:
        response = super().accept(request)
        if response.status_code == 101:
            return response
        raw = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in request.headers.raw_items()]
        self.request_id = request_id_of({"headers": raw})
        exc = self.handshake_exc
        extra: list[tuple[str, str]] = []
        if isinstance(exc, InvalidHeader) and exc.name == VERSION:
            status, reason = 426, "unsupported_websocket_version"
            detail = "Only WebSocket version 13 (RFC 6455) is served."
            extra.append((VERSION, "13"))
        elif isinstance(exc, InvalidUpgrade):
            status, reason, detail = (
                426,
                "upgrade_required",
                "This is a WebSocket endpoint: upgrade with Upgrade: websocket.",
            )
            extra.append(("Upgrade", "websocket"))
        elif isinstance(exc, InvalidMethod):
            status, reason, detail = 405, "method_not_allowed", "A WebSocket handshake is a GET request."
            extra.append(("Allow", "GET"))
        else:
            status, reason = response.status_code, "invalid_websocket_handshake"
            detail = f"The WebSocket handshake is not valid: {exc}." if exc is not None else response.reason_phrase
        self.refusal = (status, reason)
        body = problem_body(status, reason, detail, self.request_id)
        headers = Headers([(n.decode(), v.decode()) for n, v in problem_headers(reason, self.request_id, len(body))])
        for name, value in [*extra, ("Connection", "close")]:
            headers[name] = value
        return Response(status, HTTPStatus(status).phrase, headers, body)


class GatewayWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # uvicorn builds its ServerProtocol in __init__; this one only rewrites refusals.
        self.conn.__class__ = GatewayServerProtocol

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        conn = self.conn
        if isinstance(conn, GatewayServerProtocol) and conn.refusal is not None:
            self._record_refusal(event, conn)

    def _record_refusal(self, event: Request, conn: GatewayServerProtocol) -> None:
        assert conn.refusal is not None
        status, reason = conn.refusal
        raw_path, _, query = event.path.partition("?")
        scope = {
            "type": "websocket",
            "path": raw_path,
            "raw_path": raw_path.encode("latin-1"),
            "query_string": query.encode("latin-1"),
            "headers": [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in event.headers.raw_items()],
            "client": self.client,
        }
        peer = self.client[0] if self.client else ""
        records.notify(
            scope, conn.request_id, time.perf_counter(), status=status, error_reason=reason, client_address=peer
        )

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.http.response.body" and self.initial_response is not None and self.close_sent:
            # A refusal (the gateway's problem+json) has gone out whole: the handshake is over. uvicorn
            # would otherwise log "ASGI callable returned without completing handshake" at error level
            # for every refused upgrade; the access log already has its one line.
            self.handshake_complete = True

    def shutdown(self) -> None:
        live.shutting_down = True
        if self.close_sent or not self.handshake_complete:
            super().shutdown()
            return
        self.stop_keepalive()
        self.queue.put_nowait({"type": "websocket.disconnect", "code": GOING_AWAY, "reason": "gateway shutdown"})
        self.conn.send_close(GOING_AWAY, "gateway shutdown")
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        self.transport.close()
