"""Strict body framing in ``proxy.server.GatewayHttpToolsProtocol`` (RFC 9112 section 7), against a real
uvicorn on 127.0.0.1 (tests/support/edge_server.py): a broken chunked body is answered 400 at once and
the app reads ``http.disconnect`` instead of the rest of the body; odd transfer codings end the
connection; trailers never become headers. The gateway end to end: tests/proxy/test_framing_e2e.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.support.edge_server import Client, calls, complete, get, serve


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with serve(tmp_path_factory.mktemp("edge")) as free_port:
        yield free_port


@pytest.fixture
def client(port: int) -> Iterator[Client]:
    connection = Client(port)
    yield connection
    connection.close()


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
