"""Requests through the real gateway process to a real backend."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import random
import urllib.request
from collections.abc import Iterator

import pytest
from aiohttp import web

from tests.support.config import ConfigHelper
from tests.support.http import call, connect, get, read_reply
from tests.support.servers import BackendThread, GatewayProcess

SMALL_GZIP = gzip.compress(b"hello gateway " * 1000)
# Incompressible, and larger than the gateway's 256 KiB "read it whole" threshold: streamed through.
LARGE_GZIP = gzip.compress(random.Random(7).randbytes(600_000))


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


def special_app() -> web.Application:
    """A backend with the responses the demo backend cannot make."""

    async def digest(request: web.Request) -> web.Response:
        body = await request.read()
        return web.json_response(
            {
                "bytes": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
                "transfer_encoding": request.headers.get("Transfer-Encoding"),
                "content_length": request.headers.get("Content-Length"),
            }
        )

    async def gateway_error(request: web.Request) -> web.Response:
        return web.Response(text="backend says hi", headers={"X-Gateway-Error": "forged", "X-Backend": "special"})

    async def small_gzip(request: web.Request) -> web.Response:
        return web.Response(body=SMALL_GZIP, headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"})

    async def large_gzip(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Encoding": "gzip", "Content-Type": "application/octet-stream"})
        await response.prepare(request)
        for start in range(0, len(LARGE_GZIP), 50_000):
            await response.write(LARGE_GZIP[start : start + 50_000])
        await response.write_eof()
        return response

    async def via(request: web.Request) -> web.Response:
        return web.Response(text="via", headers={"Via": "1.0 backend-cache"})

    async def cookies(request: web.Request) -> web.Response:
        response = web.Response(text="cookies")
        response.headers.add("Set-Cookie", "a=1; Path=/")
        response.headers.add("Set-Cookie", "b=2; Path=/; HttpOnly")
        response.headers.add("Via", "1.0 inner")
        response.headers.add("Via", "1.1 outer")
        return response

    async def raw_target(request: web.Request) -> web.Response:
        return web.json_response({"raw_path": request.raw_path})

    app = web.Application(client_max_size=1024**3)
    app.router.add_route("*", "/digest", digest)
    app.router.add_get("/gateway-error", gateway_error)
    app.router.add_get("/small.gz", small_gzip)
    app.router.add_get("/large.gz", large_gzip)
    app.router.add_get("/via", via)
    app.router.add_get("/raw/{tail:.*}", raw_target)
    app.router.add_get("/cookies", cookies)
    return app


@pytest.fixture
def special() -> Iterator[BackendThread]:
    server = BackendThread("special", app=special_app()).start()
    yield server
    server.stop()


def test_it_forwards_a_request_to_the_backend_with_the_prefix_stripped(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    service = config.service("orders", targets=[backend])
    config.route(service, "/orders")
    config.sync()

    status, headers, body = _get(f"{gateway.url}/orders/42?x=1")

    assert status == 200
    echoed = json.loads(body)
    assert echoed["path"] == "/42"
    assert echoed["query"] == "x=1"
    assert headers["via"] == "1.1 gateway"
    assert "x-gateway-error" not in headers


def test_it_forwards_the_root_of_a_stripped_prefix_as_slash(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.route(config.service("orders", targets=[backend]), "/orders")
    config.sync()

    assert get(gateway, "/orders").json()["path"] == "/"
    assert get(gateway, "/orders/").json()["path"] == "/"


def test_it_keeps_the_prefix_when_strip_prefix_is_off(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.route(config.service("orders", targets=[backend]), "/orders", strip_prefix=False)
    config.sync()

    assert get(gateway, "/orders/42").json()["path"] == "/orders/42"
    assert get(gateway, "/orders").json()["path"] == "/orders"


def test_it_prepends_the_service_base_path(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    service = config.service("orders", targets=[backend], base_path="/internal/v3")
    config.route(service, "/orders")
    config.route(service, "/legacy", strip_prefix=False)
    config.sync()

    assert get(gateway, "/orders/42").json()["path"] == "/internal/v3/42"
    assert get(gateway, "/orders").json()["path"] == "/internal/v3"
    assert get(gateway, "/legacy/7").json()["path"] == "/internal/v3/legacy/7"


def test_it_keeps_the_query_string_and_percent_encoding_untouched(
    config: ConfigHelper, gateway: GatewayProcess, special: BackendThread
) -> None:
    config.route(config.service("s", targets=[special]), "/s")
    config.sync()

    echoed = get(gateway, "/s/raw/a%20b/caf%C3%A9?q=a%20b&x=1&x=2&empty=&plus=a+b").json()

    assert echoed["raw_path"] == "/raw/a%20b/caf%C3%A9?q=a%20b&x=1&x=2&empty=&plus=a+b"


def test_it_forwards_a_small_request_body(
    config: ConfigHelper, gateway: GatewayProcess, special: BackendThread
) -> None:
    config.route(config.service("up", targets=[special]), "/up")
    config.sync()
    body = b'{"hello": "world"}'

    reply = call(gateway, "POST", "/up/digest", {"Content-Type": "application/json"}, body)

    assert reply.status == 200
    assert reply.json()["bytes"] == len(body)
    assert reply.json()["sha256"] == hashlib.sha256(body).hexdigest()


def test_it_streams_a_5_mb_chunked_upload_to_the_backend_intact(
    config: ConfigHelper, gateway: GatewayProcess, special: BackendThread
) -> None:
    config.route(config.service("up", targets=[special]), "/up")
    config.sync()
    block = random.Random(1).randbytes(64 * 1024)
    chunks = [block] * 80  # 5 MiB
    expected = hashlib.sha256(b"".join(chunks)).hexdigest()

    reply = call(gateway, "POST", "/up/digest", body=iter(chunks), timeout=30)

    assert reply.status == 200
    assert reply.json()["bytes"] == 80 * 64 * 1024
    assert reply.json()["sha256"] == expected


def test_it_forwards_a_5_mb_upload_with_a_content_length(
    config: ConfigHelper, gateway: GatewayProcess, special: BackendThread
) -> None:
    config.route(config.service("up", targets=[special]), "/up")
    config.sync()
    body = random.Random(2).randbytes(5 * 1024 * 1024)

    reply = call(gateway, "PUT", "/up/digest", body=body, timeout=30)

    assert reply.status == 200
    assert reply.json()["bytes"] == len(body)
    assert reply.json()["sha256"] == hashlib.sha256(body).hexdigest()


def test_it_forwards_each_method_as_sent(config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread) -> None:
    config.route(config.service("m", targets=[backend]), "/m")
    config.sync()

    for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        reply = call(gateway, method, "/m/thing", body=b"x" if method in ("POST", "PUT", "PATCH") else None)

        assert reply.status == 200, method
        assert reply.json()["method"] == method
        assert reply.json()["path"] == "/thing"
        assert reply.json()["body_bytes"] == (1 if method in ("POST", "PUT", "PATCH") else 0)


def test_it_answers_head_with_the_headers_and_no_body(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.route(config.service("m", targets=[backend]), "/m")
    config.sync()
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    try:
        conn.request("HEAD", "/m/thing")
        head = conn.getresponse()
        head_body = head.read()
        # same connection: a body sent after the head would be read as the next response
        conn.request("GET", "/m/thing")
        after = conn.getresponse()
        after_body = after.read()
    finally:
        conn.close()

    assert head.status == 200
    assert head_body == b""
    assert head.getheader("content-type") == "application/json; charset=utf-8"
    assert int(head.getheader("content-length") or 0) > 0
    assert head.getheader("x-backend") == "backend-a"
    assert after.status == 200
    assert json.loads(after_body)["method"] == "GET"


def test_it_passes_a_204_through_without_a_body(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.route(config.service("m", targets=[backend]), "/m")
    config.sync()

    reply = call(gateway, "DELETE", "/m/status/204")

    assert reply.status == 204
    assert reply.body == b""
    assert not reply.has("x-gateway-error")


def test_it_accepts_a_valid_x_request_id_and_sends_it_upstream_and_back(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.route(config.service("m", targets=[backend]), "/m")
    config.sync()
    request_id = "client-req.42:abc_DEF"

    reply = get(gateway, "/m/x", {"X-Request-ID": request_id})

    assert reply.header("x-request-id") == request_id
    assert reply.all("x-request-id") == [request_id]
    assert reply.echoed_headers()["x-request-id"] == [request_id]


def test_it_replaces_an_invalid_x_request_id(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.route(config.service("m", targets=[backend]), "/m")
    config.sync()

    for bad_id in ["a" * 300, "x" * 129, "has spaces in it", "semi;colon", 'quote"d']:
        reply = get(gateway, "/m/x", {"X-Request-ID": bad_id})

        replaced = reply.header("x-request-id")
        assert replaced is not None and replaced != bad_id
        assert len(replaced) == 32 and all(c in "0123456789abcdef" for c in replaced), replaced
        assert reply.echoed_headers()["x-request-id"] == [replaced]
    assert get(gateway, "/m/x", {"X-Request-ID": "y" * 128}).header("x-request-id") == "y" * 128


def test_it_makes_up_a_request_id_when_there_is_none_and_sends_the_same_one_both_ways(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.route(config.service("m", targets=[backend]), "/m")
    config.sync()

    first = get(gateway, "/m/x")
    second = get(gateway, "/m/x")

    assert first.echoed_headers()["x-request-id"] == [first.header("x-request-id")]
    assert first.header("x-request-id") != second.header("x-request-id")


def test_it_appends_itself_to_via_both_ways(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread, special: BackendThread
) -> None:
    config.route(config.service("m", targets=[backend]), "/m")
    config.route(config.service("s", targets=[special]), "/s")
    config.sync()

    plain = get(gateway, "/m/x")
    through_proxy = get(gateway, "/m/x", {"Via": "1.1 corporate-proxy"})
    from_cache = get(gateway, "/s/via")

    assert plain.echoed_headers()["via"] == ["1.1 gateway"]
    assert plain.all("via") == ["1.1 gateway"]
    assert through_proxy.echoed_headers()["via"] == ["1.1 corporate-proxy, 1.1 gateway"]
    assert from_cache.all("via") == ["1.0 backend-cache, 1.1 gateway"]


def test_it_strips_an_x_gateway_error_header_sent_by_a_backend(
    config: ConfigHelper, gateway: GatewayProcess, special: BackendThread
) -> None:
    config.route(config.service("s", targets=[special]), "/s")
    config.sync()

    reply = get(gateway, "/s/gateway-error")

    assert reply.status == 200
    assert reply.body == b"backend says hi"
    assert reply.header("x-backend") == "special"
    assert not reply.has("x-gateway-error")


@pytest.mark.parametrize("path, expected", [("/s/small.gz", SMALL_GZIP), ("/s/large.gz", LARGE_GZIP)])
def test_it_passes_a_gzip_body_through_byte_for_byte(
    config: ConfigHelper, gateway: GatewayProcess, special: BackendThread, path: str, expected: bytes
) -> None:
    config.route(config.service("s", targets=[special]), "/s")
    config.sync()

    reply = get(gateway, path, {"Accept-Encoding": "gzip"}, timeout=30)

    assert reply.status == 200
    assert reply.header("content-encoding") == "gzip"
    assert reply.body == expected


def test_it_passes_repeated_response_headers_and_names_itself_once_in_via(
    config: ConfigHelper, gateway: GatewayProcess, special: BackendThread
) -> None:
    config.route(config.service("s", targets=[special]), "/s")
    config.sync()

    reply = get(gateway, "/s/cookies")

    assert reply.all("set-cookie") == ["a=1; Path=/", "b=2; Path=/; HttpOnly"]
    assert ", ".join(reply.all("via")) == "1.0 inner, 1.1 outer, 1.1 gateway"


def test_it_passes_repeated_request_headers_and_adds_none_of_its_own_choosing(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.route(config.service("m", targets=[backend]), "/m")
    config.sync()

    seen = call(
        gateway, "POST", "/m/x", [("X-Multi", "1"), ("X-Multi", "2"), ("Cookie", "k=v")], b"{}"
    ).echoed_headers()

    assert seen["x-multi"] == ["1", "2"]
    assert seen["cookie"] == ["k=v"]
    # the upstream client adds nothing the client did not send
    for name in ("user-agent", "accept", "accept-encoding", "content-type"):
        assert name not in seen, name


def test_it_honours_expect_100_continue(config: ConfigHelper, gateway: GatewayProcess, special: BackendThread) -> None:
    config.route(config.service("up", targets=[special]), "/up")
    config.sync()
    body = b"x" * 5000

    with connect(gateway) as sock:
        sock.sendall(
            b"POST /up/digest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n"
        )
        interim = read_reply(sock)
        sock.sendall(body)
        final = read_reply(sock)

    assert interim.status == 100
    assert final.status == 200
    assert final.json()["sha256"] == hashlib.sha256(body).hexdigest()


def test_a_head_request_that_fails_gets_the_error_head_without_a_body(
    config: ConfigHelper, gateway: GatewayProcess
) -> None:
    config.sync()
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    try:
        conn.request("HEAD", "/nowhere")
        head = conn.getresponse()
        head_body = head.read()
        conn.request("GET", "/nowhere")
        after = conn.getresponse()
        after_body = after.read()
    finally:
        conn.close()

    assert head.status == 404
    assert head_body == b""
    assert head.getheader("x-gateway-error") == "no_route"
    assert after.status == 404
    assert json.loads(after_body)["status"] == 404
