"""The uvicorn WebSocket protocol the gateway runs with (``--ws realtime.server:GatewayWebSocketProtocol``).

uvicorn's own shutdown closes every open WebSocket with 1012 (service restart) before the ASGI
lifespan shutdown runs. The gateway promises 1001 (going away): this subclass sends that instead and
marks the shutdown, so the relay closes the backend leg with 1001 too and records the close as the
gateway's.
"""

from __future__ import annotations

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from realtime.live import GOING_AWAY, live


class GatewayWebSocketProtocol(WebSocketsSansIOProtocol):
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
