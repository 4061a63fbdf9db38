"""The edge limits of ``proxy.server.GatewayHttpToolsProtocol`` on the request head, against a real
uvicorn on 127.0.0.1 (tests/support/edge_server.py): the head deadline, the caps on the head, its
fields, the target and the header count, the refused methods, problem+json for what cannot be parsed.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator

import pytest

from tests.support.edge_server import (
    HEADER_TIMEOUT,
    MAX_FIELD_BYTES,
    MAX_HEADER_BYTES,
    MAX_HEADER_COUNT,
    MAX_URI_BYTES,
    Client,
    calls,
    get,
    serve,
)


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with serve(tmp_path_factory.mktemp("edge")) as free_port:
        yield free_port


@pytest.fixture
def client(port: int) -> Iterator[Client]:
    connection = Client(port)
    yield connection
    connection.close()


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


def test_it_gives_408_to_a_keep_alive_connection_that_dribbles_blank_lines(client: Client) -> None:
    # Blank lines before a request line start no request: the deadline still runs from the first of them.
    client.send(get("/first"))
    assert client.response().status == 200
    until = time.monotonic() + HEADER_TIMEOUT + 0.3
    while time.monotonic() < until:
        client.send(b"\r\n")
        time.sleep(0.1)
    response = client.response()
    assert response.status == 408
    assert client.is_closed_by_server()


def test_it_gives_408_to_a_second_head_that_arrives_unfinished_in_the_same_read(client: Client) -> None:
    client.send(get("/first") + b"GET /second HTTP/1.1\r\nHost: gateway.test\r\n")
    assert client.response().status == 200
    started = time.monotonic()
    dribble(client, until=started + HEADER_TIMEOUT + 0.3)
    response = client.response()
    assert response.status == 408
    assert response.headers[b"x-gateway-error"] == b"request_header_timeout"
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


def test_it_closes_a_keep_alive_connection_only_after_the_whole_idle_timeout(port: int) -> None:
    # One keep-alive timer per connection: armed at the first idle period, it must not close a
    # connection that was busy in between (the edge server's keep-alive timeout is 5 s).
    client = Client(port, timeout=10)
    client.send(get("/idle/1"))
    assert client.response().status == 200
    time.sleep(3)
    client.send(get("/idle/2"))
    assert client.response().status == 200
    time.sleep(3)  # 6 s after the first response, 3 s after the last one
    client.send(get("/idle/3"))
    assert client.response().status == 200
    idle_from = time.monotonic()
    try:
        assert client.is_closed_by_server()  # waits for the server to close it
        assert 4.5 < time.monotonic() - idle_from < 7
    finally:
        client.close()
