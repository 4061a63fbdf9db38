"""Through the gateway: a kept-alive upstream connection that the backend closes instead of answering
is replaced once for a GET (no error reaches the client), never for a POST."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest

from tests.support.config import ConfigHelper
from tests.support.http import call, get
from tests.support.servers import GatewayProcess


class OneAnswerPerConnection:
    """Answers the first request of each connection (keep-alive), then closes when the next arrives."""

    def __init__(self) -> None:
        self.accepted = 0
        self.requests = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(65536)
                self.requests += 1
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                conn.recv(65536)  # the next request on this connection: hang up without answering
            except OSError:
                pass

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


@pytest.fixture
def one_answer() -> Iterator[OneAnswerPerConnection]:
    server = OneAnswerPerConnection()
    yield server
    server.close()


def test_a_get_on_a_connection_the_backend_dropped_is_sent_again_on_a_new_one_but_a_post_is_not(
    config: ConfigHelper, gateway: GatewayProcess, one_answer: OneAnswerPerConnection
) -> None:
    config.route(config.service("stale", targets=[one_answer], retries=0), "/stale")
    config.sync()

    first = get(gateway, "/stale/1")
    second = get(gateway, "/stale/2")  # the kept connection is closed under it: a new one, same target
    post = call(gateway, "POST", "/stale/3", body=b"{}")  # again, but a POST is never sent twice

    assert (first.status, first.body, second.status, second.body) == (200, b"ok", 200, b"ok")
    assert one_answer.accepted == 2 and one_answer.requests == 2
    assert post.status == 502
    post.problem("upstream_error")
