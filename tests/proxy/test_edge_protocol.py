"""The edge limits of ``proxy.server.GatewayHttpToolsProtocol``, against a real uvicorn on 127.0.0.1.

The server runs in a subprocess with small limits set through the environment, serving ``app`` below,
which counts its calls per path (and the bodies it read to their end) so a test can prove the app
never saw a refused request, or never got a broken body whole.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEADER_TIMEOUT = 0.5
MAX_HEADER_BYTES = 16384
MAX_HEADER_COUNT = 64
MAX_FIELD_BYTES = 4096
MAX_URI_BYTES = 4096

CALLS: Counter[str] = Counter()
COMPLETE: Counter[str] = Counter()  # bodies read to their end (more_body false), by path


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": "hi"})
        while (message := await receive())["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": message.get("text") or ""})
        return
    if scope["path"] == "/calls":
        body = str(CALLS[scope["query_string"].decode()]).encode()
    elif scope["path"] == "/complete":
        body = str(COMPLETE[scope["query_string"].decode()]).encode()
    else:
        CALLS[scope["path"][:200]] += 1
        received, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # what a proxy must do: abandon the request
            received += message.get("body", b"")
            more = message.get("more_body", False)
        COMPLETE[scope["path"][:200]] += 1
        if scope["path"] == "/slow":
            await asyncio.sleep(0.3)
        body = f"ok {scope['path']} headers={len(scope['headers'])} body={len(received)}".encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@dataclass
class Response:
    status: int
    headers: dict[bytes, bytes]
    body: bytes

    def problem(self) -> dict[str, Any]:
        assert self.headers[b"content-type"] == b"application/problem+json"
        problem: dict[str, Any] = json.loads(self.body)
        assert problem["status"] == self.status
        assert problem["request_id"] == self.headers[b"x-request-id"].decode()
        assert problem["type"] == "urn:gateway:error:" + self.headers[b"x-gateway-error"].decode()
        return problem


class Client:
    def __init__(self, port: int, timeout: float = 3.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may refuse before reading everything; its answer is still readable

    def response(self) -> Response:
        while b"\r\n\r\n" not in self.buffer:
            self.read_more()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *lines = head.split(b"\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get(b"content-length", b"0"))
        while len(self.buffer) < length:
            self.read_more()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return Response(int(status_line.split()[1]), headers, body)

    def is_closed_by_server(self) -> bool:
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()

    def read_more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"server closed the connection; unread: {self.buffer[:200]!r}")
        self.buffer += chunk


def get(path: str = "/", extra: bytes = b"") -> bytes:
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: gateway.test\r\n" + extra + b"\r\n"


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    env = {
        **os.environ,
        "GATEWAY_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
        "GATEWAY_MAX_HEADER_BYTES": str(MAX_HEADER_BYTES),
        "GATEWAY_MAX_HEADER_COUNT": str(MAX_HEADER_COUNT),
        "GATEWAY_MAX_HEADER_FIELD_BYTES": str(MAX_FIELD_BYTES),
        "GATEWAY_MAX_URI_BYTES": str(MAX_URI_BYTES),
    }
    command = [
        sys.executable, "-m", "uvicorn", "tests.proxy.test_edge_protocol:app",
        "--http", "proxy.server:GatewayHttpToolsProtocol", "--loop", "uvloop", "--lifespan", "off",
        "--host", "127.0.0.1", "--port", str(free_port), "--timeout-keep-alive", "5", "--log-level", "warning",
    ]  # fmt: skip
    log = (tmp_path_factory.mktemp("edge") / "uvicorn.log").open("wb")
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", free_port), timeout=0.2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"uvicorn did not start, see {log.name}") from None
                time.sleep(0.05)
        yield free_port
    finally:
        server.terminate()
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    output = Path(log.name).read_text()
    assert "Traceback" not in output, output


@pytest.fixture
def client(port: int) -> Iterator[Client]:
    connection = Client(port)
    yield connection
    connection.close()


def calls(port: int, path: str, what: str = "calls") -> int:
    connection = Client(port)
    try:
        connection.send(get(f"/{what}?" + path[:200]))
        return int(connection.response().body)
    finally:
        connection.close()


def complete(port: int, path: str) -> int:
    return calls(port, path, "complete")


def dribble(client: Client, until: float) -> None:
    while time.monotonic() < until:
        client.send(b"X-Slow: 1\r\n")
        time.sleep(0.1)


def test_it_closes_a_slowloris_connection_with_408_after_the_header_deadline(client: Client, port: int) -> None:
    started = time.monotonic()
    client.send(b"GET /slowloris HTTP/1.1\r\nHost: gateway.test\r\n")
    dribble(client, until=started + HEADER_TIMEOUT + 0.3)
    response = client.response()
    assert response.status == 408
    assert response.headers[b"connection"] == b"close"
    assert response.headers[b"x-gateway-error"] == b"request_header_timeout"
    assert "0.5 seconds" in response.problem()["detail"]
    assert client.is_closed_by_server()
    assert time.monotonic() - started < HEADER_TIMEOUT + 1
    assert calls(port, "/slowloris") == 0


def test_it_closes_a_connection_that_sends_nothing_with_408(client: Client) -> None:
    response = client.response()
    assert response.status == 408
    assert client.is_closed_by_server()


def test_it_gives_a_dribbled_second_keep_alive_request_408(client: Client) -> None:
    client.send(get("/first"))
    assert client.response().status == 200
    client.send(b"GET /second HTTP/1.1\r\n")
    dribble(client, until=time.monotonic() + HEADER_TIMEOUT + 0.3)
    response = client.response()
    assert response.status == 408
    assert response.problem()["title"] == "Request Timeout"
    assert client.is_closed_by_server()


def test_it_starts_the_deadline_of_a_keep_alive_request_at_its_first_byte(client: Client) -> None:
    client.send(get("/first"))
    assert client.response().status == 200
    time.sleep(HEADER_TIMEOUT + 0.3)
    client.send(get("/after-idle"))
    assert client.response().status == 200


def test_it_serves_several_quick_requests_on_one_keep_alive_connection(client: Client) -> None:
    for number in range(5):
        client.send(get(f"/quick/{number}"))
        response = client.response()
        assert response.status == 200
        assert response.body.startswith(f"ok /quick/{number}".encode())
        assert b"connection" not in response.headers


def test_it_leaves_a_slow_body_to_the_app(client: Client) -> None:
    client.send(b"POST /upload HTTP/1.1\r\nHost: gateway.test\r\nContent-Length: 8\r\n\r\n")
    for _ in range(8):
        time.sleep(HEADER_TIMEOUT / 4)
        client.send(b"x")
    response = client.response()
    assert response.status == 200
    assert response.body.endswith(b"body=8")


def test_it_answers_431_for_a_huge_header_without_calling_the_app(client: Client, port: int) -> None:
    client.send(get("/huge-header", b"X-Huge: " + b"a" * (1024 * 1024) + b"\r\n"))
    response = client.response()
    assert response.status == 431
    assert response.headers[b"connection"] == b"close"
    assert response.headers[b"x-gateway-error"] == b"header_too_large"
    problem = response.problem()
    assert problem["title"] == "Request Header Fields Too Large"
    assert f"{MAX_HEADER_BYTES} bytes" in problem["detail"]
    assert client.is_closed_by_server()
    assert calls(port, "/huge-header") == 0


def test_it_answers_431_for_headers_just_over_the_byte_limit_in_one_packet(client: Client, port: int) -> None:
    client.send(get("/just-over", b"X-Big: " + b"a" * MAX_HEADER_BYTES + b"\r\n"))
    assert client.response().status == 431
    assert calls(port, "/just-over") == 0


def test_it_answers_431_for_ten_thousand_headers(client: Client, port: int) -> None:
    client.send(get("/many-headers", b"".join(b"X-H%d: v\r\n" % n for n in range(10_000))))
    response = client.response()
    assert response.status == 431
    assert f"more than {MAX_HEADER_COUNT} header fields" in response.problem()["detail"]
    assert client.is_closed_by_server()
    assert calls(port, "/many-headers") == 0


def test_it_answers_431_for_one_header_over_the_count(client: Client) -> None:
    client.send(get("/count", b"".join(b"X-H%d: v\r\n" % n for n in range(MAX_HEADER_COUNT))))
    assert client.response().status == 431


def test_it_serves_a_request_with_exactly_the_maximum_number_of_headers(client: Client) -> None:
    client.send(get("/count", b"".join(b"X-H%d: v\r\n" % n for n in range(MAX_HEADER_COUNT - 1))))
    assert client.response().status == 200


def test_it_does_not_count_a_large_body_that_arrives_with_its_head(client: Client) -> None:
    body = b"b" * (200 * 1024)
    post = b"POST /big-body HTTP/1.1\r\nHost: gateway.test\r\nContent-Length: %d\r\n\r\n" % len(body)
    client.send(post + body + get("/after-big-body"))
    assert client.response().body.endswith(b"body=204800")
    assert client.response().body.startswith(b"ok /after-big-body")


def test_it_serves_a_request_with_fifty_headers_under_the_limits(client: Client) -> None:
    client.send(get("/fifty", b"".join(b"X-Header-%d: %s\r\n" % (n, b"v" * 100) for n in range(49))))
    response = client.response()
    assert response.status == 200
    assert response.body == b"ok /fifty headers=50 body=0"


def test_it_answers_a_malformed_request_line_with_problem_json_400(client: Client) -> None:
    client.send(b"GET / HTTP/1.1 extra\r\nHost: gateway.test\r\n\r\n")
    response = client.response()
    assert response.status == 400
    assert response.headers[b"x-gateway-error"] == b"bad_request"
    assert response.headers[b"connection"] == b"close"
    assert response.problem()["title"] == "Bad Request"
    assert client.is_closed_by_server()


def test_it_still_serves_pipelined_requests(client: Client) -> None:
    client.send(get("/slow") + get("/pipelined/1") + get("/pipelined/2"))
    bodies = [client.response().body for _ in range(3)]
    assert [body.split()[1] for body in bodies] == [b"/slow", b"/pipelined/1", b"/pipelined/2"]


def test_it_answers_a_refused_pipelined_request_after_the_ones_before_it(client: Client, port: int) -> None:
    many = b"".join(b"X-H%d: v\r\n" % n for n in range(MAX_HEADER_COUNT + 1))
    client.send(get("/slow") + get("/refused-after-slow", many))
    assert client.response().status == 200
    assert client.response().status == 431
    assert client.is_closed_by_server()
    assert calls(port, "/refused-after-slow") == 0


def test_it_hands_websocket_upgrades_over_and_leaves_them_alone(client: Client) -> None:
    key = base64.b64encode(os.urandom(16))
    client.send(
        get("/ws", b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n").replace(
            b"\r\n\r\n", b"\r\nSec-WebSocket-Key: " + key + b"\r\n\r\n"
        )
    )
    assert client.response().status == 101
    time.sleep(HEADER_TIMEOUT + 0.3)
    mask = os.urandom(4)
    client.send(b"\x81\x84" + mask + bytes(byte ^ mask[n % 4] for n, byte in enumerate(b"ping")))
    while client.buffer.count(b"\x81") < 2:
        client.read_more()
    assert client.buffer == b"\x81\x02hi\x81\x04ping"


# --- Per-field and target caps, refused methods ---------------------------------------------------


@pytest.mark.parametrize("name", [b"X-Big", b"Cookie"])
def test_it_answers_431_for_one_header_field_over_its_cap(client: Client, port: int, name: bytes) -> None:
    path = f"/big-field-{name.decode()}"
    client.send(get(path, name + b": " + b"a" * MAX_FIELD_BYTES + b"\r\n"))  # the whole head is under its cap
    response = client.response()
    assert response.status == 431
    assert response.headers[b"x-gateway-error"] == b"header_too_large"
    assert (
        f"{name.decode().lower()} header field is larger than {MAX_FIELD_BYTES} bytes" in response.problem()["detail"]
    )
    assert client.is_closed_by_server()
    assert calls(port, path) == 0


def test_it_serves_a_header_field_just_under_its_cap(client: Client) -> None:
    client.send(get("/field-fits", b"X-Fits: " + b"a" * (MAX_FIELD_BYTES - len(b"X-Fits: ")) + b"\r\n"))
    assert client.response().status == 200


def test_it_answers_414_for_a_request_target_over_its_cap(client: Client, port: int) -> None:
    path = "/long-" + "a" * MAX_URI_BYTES
    client.send(get(path))
    response = client.response()
    assert response.status == 414
    assert response.headers[b"x-gateway-error"] == b"uri_too_long"
    assert response.problem()["title"].endswith("URI Too Long")
    assert client.is_closed_by_server()
    assert calls(port, path) == 0


def test_it_answers_414_for_a_target_that_is_still_arriving(client: Client) -> None:
    client.send(b"GET /endless-")
    for _ in range(4):
        client.send(b"a" * MAX_HEADER_BYTES)
        time.sleep(0.05)
    assert client.response().status == 414


@pytest.mark.parametrize(
    "request_line",
    [b"TRACE /traced HTTP/1.1", b"CONNECT /traced HTTP/1.1", b"CONNECT example.com:443 HTTP/1.1"],
    ids=["trace", "connect-path", "connect-authority"],
)
def test_it_answers_405_for_trace_and_connect_without_calling_the_app(
    client: Client, port: int, request_line: bytes
) -> None:
    client.send(request_line + b"\r\nHost: gateway.test\r\n\r\n")
    response = client.response()
    assert response.status == 405
    assert response.headers[b"x-gateway-error"] == b"method_not_allowed"
    assert b"GET" in response.headers[b"allow"]
    response.problem()
    assert client.is_closed_by_server()
    assert calls(port, "/traced") == 0


# --- Body framing (RFC 9112 section 7) ------------------------------------------------------------


def chunked_post(path: str, extra: bytes = b"") -> bytes:
    return (
        b"POST "
        + path.encode()
        + b" HTTP/1.1\r\nHost: gateway.test\r\nTransfer-Encoding: chunked\r\n"
        + extra
        + b"\r\n"
    )


BROKEN_CHUNKS = {
    "size-overflow": b"ffffffffffffffffff1\r\nabc\r\n0\r\n\r\n",
    "bare-lf-in-extension": b"3;name=value\nabc\r\n0\r\n\r\n",
    "no-crlf-after-data": b"3\r\nabcX\r\n0\r\n\r\n",
    "not-hex": b"zz\r\nabc\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("broken", list(BROKEN_CHUNKS), ids=list(BROKEN_CHUNKS))
@pytest.mark.parametrize("after_a_good_chunk", [False, True], ids=["first", "after-good-chunk"])
def test_it_answers_a_broken_chunk_with_400_at_once_and_the_app_never_gets_the_body(
    client: Client, port: int, broken: str, after_a_good_chunk: bool
) -> None:
    path = f"/chunks-{broken}-{after_a_good_chunk}"
    client.send(chunked_post(path))
    if after_a_good_chunk:
        client.send(b"5\r\nhello\r\n")
        time.sleep(0.2)  # the app has read the first chunk and waits for more
    started = time.monotonic()
    client.send(BROKEN_CHUNKS[broken])
    response = client.response()
    assert time.monotonic() - started < 1  # not after a body timeout
    assert response.status == 400
    assert response.headers[b"x-gateway-error"] == b"invalid_framing"
    assert response.headers[b"connection"] == b"close"
    response.problem()
    assert client.is_closed_by_server()
    assert complete(port, path) == 0


@pytest.mark.parametrize("coding", [b"gzip", b"xchunked", b"chunked, gzip"])
def test_it_answers_a_transfer_coding_it_cannot_frame_once_and_closes(client: Client, port: int, coding: bytes) -> None:
    body = b"3\r\nabc\r\n0\r\n\r\n" + get("/smuggled")
    client.send(b"POST /coded HTTP/1.1\r\nHost: gateway.test\r\nTransfer-Encoding: " + coding + b"\r\n\r\n" + body)
    response = client.response()
    assert response.status == 400
    assert response.headers[b"connection"] == b"close"
    assert client.is_closed_by_server()  # no second answer: the body was never parsed as a request
    assert client.buffer == b""
    assert calls(port, "/smuggled") == 0
    assert complete(port, "/coded") == 0


@pytest.mark.parametrize("field", [b"Content-Length: 3", b"Host: evil.test", b"Authorization: Bearer stolen"])
def test_it_refuses_a_trailer_that_could_pass_for_a_header(client: Client, port: int, field: bytes) -> None:
    path = f"/trailer-{field.split(b':')[0].decode()}"
    client.send(chunked_post(path) + b"3\r\nabc\r\n0\r\n" + field + b"\r\n\r\n")
    response = client.response()
    assert response.status == 400
    assert response.headers[b"x-gateway-error"] == b"invalid_framing"
    assert client.is_closed_by_server()
    assert complete(port, path) == 0


def test_it_drops_other_trailers_instead_of_adding_them_to_the_headers(client: Client) -> None:
    client.send(chunked_post("/trailer-ok") + b"3\r\nabc\r\n0\r\nX-Checksum: 1\r\nX-Other: 2\r\n\r\n")
    response = client.response()
    assert response.status == 200
    assert response.body == b"ok /trailer-ok headers=2 body=3"  # Host and Transfer-Encoding only


def test_it_answers_a_broken_pipelined_body_after_the_request_before_it(client: Client, port: int) -> None:
    client.send(get("/slow") + chunked_post("/pipelined-broken") + b"zz\r\nabc\r\n")
    assert client.response().status == 200
    response = client.response()
    assert response.status == 400
    assert response.headers[b"x-gateway-error"] == b"invalid_framing"
    assert client.is_closed_by_server()
    assert calls(port, "/pipelined-broken") == 0  # it never started


def test_it_still_serves_a_well_framed_chunked_body_on_a_keep_alive_connection(client: Client) -> None:
    for _ in range(2):
        client.send(chunked_post("/chunked-fine") + b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        response = client.response()
        assert response.status == 200
        assert response.body.endswith(b"body=5")
