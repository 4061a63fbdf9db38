"""The gateway's own errors: status, problem+json body, ``X-Gateway-Error``, and retries."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from registry.models import Target
from tests.support.config import ConfigHelper
from tests.support.http import call, get
from tests.support.servers import BackendThread, GatewayProcess, free_port


class RawBackend:
    """A TCP server on 127.0.0.1 that reads a request and answers ``reply`` (or nothing) and hangs up."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.accepted = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    if self.reply:
                        conn.sendall(self.reply)
                except OSError:
                    pass

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() of the thread
        self.sock.close()
        self.thread.join(5)


@pytest.fixture
def hangs_up() -> Iterator[RawBackend]:
    server = RawBackend(b"")
    yield server
    server.close()


@pytest.fixture
def garbage() -> Iterator[RawBackend]:
    server = RawBackend(b"this is not http\r\n\r\n")
    yield server
    server.close()


class _Down:
    """Stands in for a backend in ``ConfigHelper.service``: a port with nothing listening."""

    def __init__(self) -> None:
        self.port = free_port()


def test_it_answers_404_no_route_with_a_problem_body(config: ConfigHelper, gateway: GatewayProcess) -> None:
    config.sync()

    reply = get(gateway, "/nowhere/at/all?x=1")

    assert reply.status == 404
    problem = reply.problem("no_route")
    assert problem["title"] == "Not Found"
    assert problem["instance"] == "/nowhere/at/all"
    assert reply.header("cache-control") == "no-store"
    assert len(problem["request_id"]) == 32


def test_a_gateway_error_carries_the_clients_request_id(config: ConfigHelper, gateway: GatewayProcess) -> None:
    config.sync()

    reply = get(gateway, "/nowhere", {"X-Request-ID": "trace-me-123"})

    assert reply.status == 404
    assert reply.problem("no_route")["request_id"] == "trace-me-123"
    assert reply.header("x-request-id") == "trace-me-123"


def test_a_refused_request_still_carries_a_request_id(config: ConfigHelper, gateway: GatewayProcess) -> None:
    config.sync()

    reply = get(gateway, "/nowhere", {"X-Request-ID": "bad id", "Bad_Name": "1"})

    assert reply.status == 400
    problem = reply.problem("invalid_header")
    assert problem["request_id"] != "bad id"
    assert len(problem["request_id"]) == 32


def test_it_answers_405_with_allow_when_the_route_excludes_the_method(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.route(config.service("ro", targets=[backend]), "/ro", methods="GET,POST")
    config.sync()
    before = backend.count()

    reply = call(gateway, "DELETE", "/ro/1")

    assert reply.status == 405
    reply.problem("method_not_allowed")
    assert reply.header("allow") == "GET, POST"
    assert backend.count() == before
    assert get(gateway, "/ro/1").status == 200


def test_it_answers_502_when_the_target_is_unreachable(config: ConfigHelper, gateway: GatewayProcess) -> None:
    config.route(config.service("down", targets=[_Down()]), "/down")
    config.sync()

    reply = get(gateway, "/down/x")

    assert reply.status == 502
    problem = reply.problem("upstream_unreachable")
    assert problem["title"] == "Bad Gateway"


def test_it_answers_504_when_the_backend_is_slower_than_the_read_timeout(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.route(config.service("slow", targets=[backend], read_timeout=0.5), "/slow")
    config.sync()

    started = time.monotonic()
    reply = get(gateway, "/slow/slow?seconds=3")
    elapsed = time.monotonic() - started

    assert reply.status == 504
    reply.problem("upstream_timeout")
    assert 0.45 <= elapsed < 2
    assert get(gateway, "/slow/slow?seconds=0.1").status == 200


def test_a_read_timeout_is_not_retried_on_another_target(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread, backend_b: BackendThread
) -> None:
    config.route(config.service("slow", targets=[backend, backend_b], read_timeout=0.3, retries=3), "/slow")
    config.sync()

    reply = get(gateway, "/slow/slow?seconds=1")

    assert reply.status == 504
    assert backend.count() + backend_b.count() == 1  # the first target may still be working on it


def test_it_answers_503_when_the_service_has_no_enabled_target(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    empty = config.service("empty")
    config.route(empty, "/empty")
    disabled = config.service("disabled")
    Target.objects.create(service=disabled, host="127.0.0.1", port=backend.port, enabled=False)
    config.route(disabled, "/disabled")
    config.sync()

    for path in ("/empty/x", "/disabled/x"):
        reply = get(gateway, path)
        assert reply.status == 503, path
        reply.problem("no_healthy_upstream")
    assert backend.count() == 0


def test_a_get_is_retried_on_another_target_when_one_is_down(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.route(config.service("half", targets=[_Down(), backend]), "/half")
    config.sync()

    statuses = [get(gateway, f"/half/{i}").status for i in range(10)]

    assert statuses == [200] * 10
    assert backend.count() == 10


def test_a_post_is_not_retried_on_another_target(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.route(config.service("half", targets=[_Down(), backend]), "/half")
    config.sync()

    replies = [call(gateway, "POST", f"/half/{i}", body=b"{}") for i in range(10)]

    statuses = [r.status for r in replies]
    assert set(statuses) == {200, 502}
    assert 3 <= statuses.count(502) <= 7  # round-robin over two targets: about half
    for reply in replies:
        if reply.status == 502:
            reply.problem("upstream_unreachable")
    assert backend.count() == statuses.count(200)


def test_a_backend_that_hangs_up_without_answering_gives_502_and_a_get_goes_to_the_other_target(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread, hangs_up: RawBackend
) -> None:
    config.route(config.service("alone", targets=[hangs_up]), "/alone")
    config.route(config.service("pair", targets=[hangs_up, backend]), "/pair")
    config.sync()

    alone = get(gateway, "/alone/x")
    pair_gets = [get(gateway, f"/pair/{i}").status for i in range(6)]
    pair_posts = [call(gateway, "POST", f"/pair/{i}", body=b"{}").status for i in range(6)]

    assert alone.status == 502
    alone.problem("upstream_error")
    assert pair_gets == [200] * 6
    assert set(pair_posts) == {200, 502}


def test_a_backend_that_answers_garbage_gives_502_upstream_bad_response(
    config: ConfigHelper, gateway: GatewayProcess, garbage: RawBackend
) -> None:
    config.route(config.service("junk", targets=[garbage]), "/junk")
    config.sync()

    reply = get(gateway, "/junk/x")

    assert reply.status == 502
    reply.problem("upstream_bad_response")
    assert garbage.accepted == 1  # a broken answer is not retried


def test_an_upstream_error_does_not_reveal_the_targets_address_to_the_client(
    config: ConfigHelper, gateway: GatewayProcess, garbage: RawBackend, backend: BackendThread
) -> None:
    down = _Down()
    config.route(config.service("junk", targets=[garbage]), "/junk")
    config.route(config.service("down", targets=[down]), "/down")
    config.route(config.service("slow", targets=[backend], read_timeout=0.2), "/slow")
    config.sync()

    for path, port in (("/junk/x", garbage.port), ("/down/x", down.port), ("/slow/slow?seconds=1", backend.port)):
        reply = get(gateway, path)
        assert reply.status in (502, 504)
        detail = reply.problem()["detail"]
        assert str(port) not in detail and "127.0.0.1" not in detail, detail


def test_retries_zero_means_a_get_is_not_retried_either(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.route(config.service("half", targets=[_Down(), backend], retries=0), "/half")
    config.sync()

    statuses = [get(gateway, f"/half/{i}").status for i in range(10)]

    assert set(statuses) == {200, 502}


def test_a_backends_own_error_passes_through_without_x_gateway_error(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.route(config.service("b", targets=[backend]), "/b")
    config.sync()

    for status in (400, 404, 500, 502, 503, 504):
        reply = get(gateway, f"/b/status/{status}")

        assert reply.status == status
        assert not reply.has("x-gateway-error"), status
        assert reply.header("content-type") == "application/json; charset=utf-8"
        assert reply.json() == {"backend": "backend-a", "status": status}
        assert reply.has("x-request-id")
