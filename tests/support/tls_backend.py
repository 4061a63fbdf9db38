"""A TLS backend on 127.0.0.1 for end-to-end tests, in a thread of the test process.

Every request is answered with what the backend saw of its TLS session, as JSON: the common name of
the client certificate (``""`` without one) and the number of the connection it came on. The SNI
names clients sent are kept in ``server_names``.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
from pathlib import Path
from typing import Any


def server_context(cert: Path, key: Path, client_ca: Path | None = None) -> ssl.SSLContext:
    """A server context; with ``client_ca`` the client must show a certificate that CA signed."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    if client_ca is not None:
        context.load_verify_locations(client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


class TLSBackend:
    """Blocking sockets, a thread per connection: a refused handshake ends with the TLS alert a real
    server sends (asyncio's server closes without it). ``connections`` counts completed handshakes."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        context.sni_callback = self._sni
        self.server_names: list[str | None] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True, name="tls-backend")

    def start(self) -> TLSBackend:
        self._thread.start()
        return self

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(10)

    def _sni(self, sslobj: Any, name: str | None, context: ssl.SSLContext) -> None:
        self.server_names.append(name)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        raw.settimeout(10)
        try:
            conn = self.context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()  # the handshake was refused (the alert is sent)
            return
        with self._lock:
            self.connections += 1
            number = self.connections
        subject: Any = (conn.getpeercert() or {}).get("subject", ())
        client = next((value for rdn in subject for name, value in rdn if name == "commonName"), "")
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:  # GET requests only: no body to read
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                buffer = buffer.split(b"\r\n\r\n", 1)[1]
                body = json.dumps({"client": client, "connection": number}).encode()
                head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
                conn.sendall(head.encode() + body)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()
