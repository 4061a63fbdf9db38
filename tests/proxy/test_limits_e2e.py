"""Request body limits: the early 413, chunked uploads cut off at the limit, the global default,
and the 408 for a body that stalls."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from aiohttp import web

from tests.support.config import ConfigHelper
from tests.support.http import call, closed_by_peer, connect, read_reply
from tests.support.servers import BackendThread, GatewayProcess

GLOBAL_LIMIT = 1000
BODY_TIMEOUT = 1


class Recorder:
    """A backend that records every request body it received in full, and how many began."""

    def __init__(self) -> None:
        self.started = 0
        self.complete: list[int] = []
        self.app = web.Application(client_max_size=1024**3)
        self.app.router.add_route("*", "/{tail:.*}", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        self.started += 1
        body = await request.read()
        self.complete.append(len(body))
        return web.json_response({"bytes": len(body)})


@pytest.fixture
def recorder() -> Iterator[tuple[Recorder, BackendThread]]:
    recorder = Recorder()
    server = BackendThread("recorder", app=recorder.app).start()
    yield recorder, server
    server.stop()


@pytest.fixture(scope="module")
def tight_gateway(django_db_setup: None, django_db_blocker: object) -> Iterator[GatewayProcess]:
    """A gateway with a tiny global body limit and a 1 s body timeout."""
    env = {"GATEWAY_MAX_BODY_BYTES": str(GLOBAL_LIMIT), "GATEWAY_BODY_TIMEOUT": str(BODY_TIMEOUT)}
    process = GatewayProcess(env=env).start()
    yield process
    process.stop()


@pytest.fixture
def tight(config: ConfigHelper, tight_gateway: GatewayProcess) -> ConfigHelper:
    config.gateways.append(tight_gateway)
    return config


def _head(path: str, *lines: str) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(f"{line}\r\n" for line in lines) + "\r\n").encode()


def test_it_answers_413_before_the_body_is_sent(
    config: ConfigHelper, gateway: GatewayProcess, recorder: tuple[Recorder, BackendThread]
) -> None:
    record, server = recorder
    config.route(config.service("up", targets=[server]), "/up", max_body_bytes=1024 * 1024)
    config.sync()

    with connect(gateway, timeout=2) as sock:
        started = time.monotonic()
        sock.sendall(_head("/up/files", "Content-Length: 104857600", "Content-Type: application/octet-stream"))
        reply = read_reply(sock)  # raises socket.timeout after 2 s: the body is never sent
        elapsed = time.monotonic() - started

        assert reply.status == 413
        problem = reply.problem("body_too_large")
        assert "104857600" in problem["detail"]
        assert reply.header("connection") == "close"
        assert elapsed < 2
        assert closed_by_peer(sock)
    assert record.started == 0


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_client_that_sends_its_whole_body_before_reading_still_reads_the_413(
    config: ConfigHelper, gateway: GatewayProcess, recorder: tuple[Recorder, BackendThread], framing: str
) -> None:
    """Like most HTTP clients, it writes the whole upload before it reads: the gateway keeps reading
    (and dropping) what arrives after its answer instead of resetting the connection under it."""
    record, server = recorder
    config.route(config.service("up", targets=[server]), "/up", max_body_bytes=1024)
    config.sync()
    body = b"u" * (4 * 1024 * 1024)
    if framing == "chunked":
        head = _head("/up/files", "Transfer-Encoding: chunked")
        payload = b"".join(b"%x\r\n%s\r\n" % (65536, body[i : i + 65536]) for i in range(0, len(body), 65536))
        payload += b"0\r\n\r\n"
    else:
        head, payload = _head("/up/files", f"Content-Length: {len(body)}"), body

    with connect(gateway, timeout=5) as sock:
        sock.sendall(head)
        time.sleep(0.2)  # the answer is sent, and the connection ended, while the body is on its way
        sock.sendall(payload)  # a reset would raise here
        reply = read_reply(sock)

    assert reply.status == 413
    reply.problem("body_too_large")
    assert reply.header("connection") == "close"
    assert record.started == 0


def test_it_answers_413_instead_of_100_continue(
    config: ConfigHelper, gateway: GatewayProcess, recorder: tuple[Recorder, BackendThread]
) -> None:
    record, server = recorder
    config.route(config.service("up", targets=[server]), "/up", max_body_bytes=1024)
    config.sync()

    with connect(gateway, timeout=2) as sock:
        sock.sendall(_head("/up/files", "Content-Length: 2048", "Expect: 100-continue"))
        reply = read_reply(sock)

    assert reply.status == 413
    reply.problem("body_too_large")
    assert record.started == 0


def test_it_answers_413_early_for_the_global_default_limit_too(
    config: ConfigHelper, gateway: GatewayProcess, recorder: tuple[Recorder, BackendThread]
) -> None:
    record, server = recorder
    config.route(config.service("up", targets=[server]), "/up")  # no limit of its own: 10 MiB
    config.sync()

    with connect(gateway, timeout=2) as sock:
        sock.sendall(_head("/up/files", f"Content-Length: {10 * 1024 * 1024 + 1}"))
        reply = read_reply(sock)

    assert reply.status == 413
    reply.problem("body_too_large")
    assert record.started == 0


def test_it_accepts_a_body_of_exactly_the_limit(
    config: ConfigHelper, gateway: GatewayProcess, recorder: tuple[Recorder, BackendThread]
) -> None:
    record, server = recorder
    config.route(config.service("up", targets=[server]), "/up", max_body_bytes=100_000)
    config.sync()

    assert call(gateway, "POST", "/up/x", body=b"a" * 100_000).status == 200
    assert call(gateway, "POST", "/up/x", body=b"a" * 100_001).status == 413
    assert call(gateway, "POST", "/up/x", body=iter([b"a" * 50_000, b"a" * 50_000])).status == 200
    assert record.complete == [100_000, 100_000]


def _send_chunked(sock: socket.socket, chunk: bytes, count: int) -> None:
    try:
        for _ in range(count):
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            time.sleep(0.001)
        sock.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the gateway gave up on the upload: expected


def test_it_cuts_off_a_chunked_upload_over_the_limit_with_413(
    config: ConfigHelper, gateway: GatewayProcess, recorder: tuple[Recorder, BackendThread]
) -> None:
    record, server = recorder
    limit = 256 * 1024
    config.route(config.service("up", targets=[server]), "/up", max_body_bytes=limit)
    config.sync()

    with connect(gateway, timeout=5) as sock:
        sock.sendall(_head("/up/files", "Transfer-Encoding: chunked"))
        sender = threading.Thread(target=_send_chunked, args=(sock, b"z" * 16384, 256), daemon=True)  # 4 MiB
        sender.start()
        reply = read_reply(sock)
        sender.join(10)

    assert reply.status == 413
    reply.problem("body_too_large")
    assert reply.header("connection") == "close"
    time.sleep(0.2)
    assert record.complete == []  # the backend never got the whole body (nor any complete one)


def test_the_global_limit_applies_when_the_route_has_none(
    tight: ConfigHelper, tight_gateway: GatewayProcess, recorder: tuple[Recorder, BackendThread]
) -> None:
    record, server = recorder
    service = tight.service("up", targets=[server], dynamic_route=True)
    tight.route(service, "/default")
    tight.route(service, "/roomy", max_body_bytes=5000)
    tight.sync()

    assert call(tight_gateway, "POST", "/default/x", body=b"a" * GLOBAL_LIMIT).status == 200
    over = call(tight_gateway, "POST", "/default/x", body=b"a" * (GLOBAL_LIMIT + 1))
    assert over.status == 413
    over.problem("body_too_large")
    assert call(tight_gateway, "POST", "/default/x", body=iter([b"a" * 600, b"a" * 600])).status == 413
    assert call(tight_gateway, "POST", "/roomy/x", body=b"a" * 3000).status == 200
    # the dynamic /api/v1/{service} routes use the global limit as well
    assert call(tight_gateway, "POST", "/api/v1/up/x", body=b"a" * (GLOBAL_LIMIT + 1)).status == 413
    assert record.complete == [GLOBAL_LIMIT, 3000]


@pytest.mark.parametrize(
    "head, sent",
    [
        (("Content-Length: 100",), b""),
        (("Content-Length: 100",), b"0123456789"),
        (("Transfer-Encoding: chunked",), b"a\r\n0123456789\r\n"),
    ],
    ids=["nothing-sent", "part-sent", "chunked-part-sent"],
)
def test_it_answers_408_when_the_body_stalls(
    tight: ConfigHelper,
    tight_gateway: GatewayProcess,
    recorder: tuple[Recorder, BackendThread],
    head: tuple[str, ...],
    sent: bytes,
) -> None:
    record, server = recorder
    tight.route(tight.service("up", targets=[server]), "/up")
    tight.sync()

    with connect(tight_gateway, timeout=BODY_TIMEOUT + 3) as sock:
        started = time.monotonic()
        sock.sendall(_head("/up/files", *head) + sent)
        reply = read_reply(sock)
        elapsed = time.monotonic() - started

    assert reply.status == 408
    reply.problem("body_timeout")
    assert reply.header("connection") == "close"
    assert BODY_TIMEOUT * 0.9 <= elapsed < BODY_TIMEOUT + 2
    assert record.complete == []
