"""``proxy.headers`` on its own: what goes upstream, what comes back, and what is refused."""

from __future__ import annotations

import ipaddress

import pytest

from proxy import headers as headers_module
from proxy.errors import BadRequest
from proxy.headers import (
    SERVER_KEEP,
    SERVER_REMOVE,
    RequestHead,
    inspect_request,
    is_trusted,
    new_request_id,
    product_names,
    response_headers,
)

VERSION_HEADERS = frozenset({b"accept-version", b"api-version"})
Raw = list[tuple[bytes, bytes]]


def inspect(*headers: tuple[bytes, bytes], trusted: bool = False, host: bool = True) -> RequestHead:
    raw: Raw = [(b"host", b"gw.example")] if host else []
    raw.extend(headers)
    return inspect_request(raw, trusted, VERSION_HEADERS)


def names(head: RequestHead) -> list[bytes]:
    return [n for n, _ in head.headers]


def refused(*headers: tuple[bytes, bytes], host: bool = True) -> BadRequest:
    with pytest.raises(BadRequest) as info:
        inspect(*headers, host=host)
    assert info.value.status == 400
    return info.value


# --- inspect_request: what goes upstream --------------------------------------------------------


def test_it_keeps_end_to_end_headers_in_order_with_duplicates() -> None:
    head = inspect((b"accept", b"*/*"), (b"x-multi", b"1"), (b"cookie", b"a=1"), (b"x-multi", b"2"))

    assert head.headers == [
        (b"host", b"gw.example"),
        (b"accept", b"*/*"),
        (b"x-multi", b"1"),
        (b"cookie", b"a=1"),
        (b"x-multi", b"2"),
    ]
    assert head.host == b"gw.example"


def test_it_removes_hop_by_hop_headers() -> None:
    head = inspect(
        (b"connection", b"keep-alive"),
        (b"keep-alive", b"timeout=5"),
        (b"proxy-connection", b"keep-alive"),
        (b"te", b"trailers"),
        (b"trailer", b"x-sum"),
        (b"upgrade", b"h2c"),
        (b"proxy-authorization", b"Basic eDp5"),
        (b"proxy-authenticate", b"Basic"),
        (b"x-kept", b"1"),
    )

    assert names(head) == [b"host", b"x-kept"]


def test_it_removes_the_headers_named_in_connection() -> None:
    head = inspect(
        (b"connection", b"X-Secret, close"),
        (b"connection", b"x-other"),
        (b"x-secret", b"1"),
        (b"x-other", b"2"),
        (b"x-kept", b"3"),
    )

    assert names(head) == [b"host", b"x-kept"]


def test_it_takes_out_the_request_id_via_and_version() -> None:
    head = inspect(
        (b"x-request-id", b"abc-123"),
        (b"via", b"1.0 a"),
        (b"via", b"1.1 b"),
        (b"accept-version", b" v2 "),
    )

    assert head.request_id == "abc-123"
    assert head.via == b"1.0 a, 1.1 b"
    assert head.version == "v2"
    assert b"x-request-id" not in names(head)
    assert b"via" not in names(head)
    assert b"accept-version" in names(head)  # the backend may want it too


def test_the_api_version_header_is_read_too() -> None:
    assert inspect((b"api-version", b"2024-01")).version == "2024-01"
    assert inspect().version is None


@pytest.mark.parametrize(
    "value, kept",
    [
        (b"abc", True),
        (b"a" * 128, True),
        (b"A.b_c:d-9", True),
        (b"a" * 129, False),
        (b"a" * 300, False),
        (b"has space", False),
        (b"semi;colon", False),
        (b"", False),
        (b"abc\n", False),
        (b"caf\xc3\xa9", False),
    ],
)
def test_a_request_id_is_kept_only_when_it_is_short_and_plain(value: bytes, kept: bool) -> None:
    head = inspect((b"x-request-id", value))

    if kept:
        assert head.request_id == value.decode()
    else:
        assert head.request_id != value.decode("latin-1")
        assert len(head.request_id) == 32 and int(head.request_id, 16) >= 0


def test_new_request_ids_are_unique_hex() -> None:
    ids = {new_request_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_it_reads_the_framing_headers() -> None:
    assert inspect((b"content-length", b"42")).content_length == 42
    assert inspect((b"content-length", b"42")).chunked is False
    chunked = inspect((b"transfer-encoding", b"Chunked"))
    assert chunked.chunked is True and chunked.content_length is None
    assert b"transfer-encoding" not in names(chunked)
    assert b"content-length" in names(inspect((b"content-length", b"0")))


# --- inspect_request: forwarding headers --------------------------------------------------------

FORWARDING = (
    (b"x-forwarded-for", b"6.6.6.6"),
    (b"x-forwarded-for", b"10.0.0.1"),
    (b"x-forwarded-proto", b"https"),
    (b"x-forwarded-host", b"public.example"),
    (b"x-forwarded-port", b"443"),
    (b"forwarded", b"for=6.6.6.6"),
)


def test_it_drops_forwarding_headers_from_an_untrusted_peer() -> None:
    head = inspect(*FORWARDING)

    assert (head.forwarded_for, head.forwarded_proto, head.forwarded_host) == (b"", b"", b"")
    assert names(head) == [b"host"]


def test_it_keeps_forwarding_headers_from_a_trusted_peer() -> None:
    head = inspect(*FORWARDING, trusted=True)

    assert head.forwarded_for == b"6.6.6.6, 10.0.0.1"
    assert head.forwarded_proto == b"https"
    assert head.forwarded_host == b"public.example"
    assert names(head) == [b"host", b"x-forwarded-port", b"forwarded"]


def test_is_trusted_checks_the_peer_against_the_networks() -> None:
    networks = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128")]

    assert is_trusted("10.1.2.3", networks)
    assert is_trusted("::1", networks)
    assert not is_trusted("11.0.0.1", networks)
    assert not is_trusted("", networks)
    assert not is_trusted("not-an-ip", networks)
    assert not is_trusted("10.1.2.3", [])


# --- inspect_request: refusals ------------------------------------------------------------------


def test_it_refuses_header_names_with_underscores() -> None:
    error = refused((b"x_api_key", b"secret"))
    assert error.reason == "invalid_header"
    assert "x_api_key" in error.detail


@pytest.mark.parametrize(
    "headers",
    [
        [(b"transfer-encoding", b"gzip, chunked")],
        [(b"transfer-encoding", b"identity")],
        [(b"transfer-encoding", b"chunked"), (b"transfer-encoding", b"chunked")],
        [(b"transfer-encoding", b"chunked"), (b"content-length", b"5")],
        [(b"content-length", b"5"), (b"transfer-encoding", b"chunked")],
        [(b"content-length", b"5"), (b"content-length", b"5")],
        [(b"content-length", b"-1")],
        [(b"content-length", b"1e3")],
        [(b"content-length", b" 5")],
        [(b"content-length", b"")],
        [(b"content-length", b"9" * 19)],
    ],
)
def test_it_refuses_ambiguous_framing(headers: Raw) -> None:
    assert refused(*headers).reason == "invalid_framing"


@pytest.mark.parametrize(
    "hosts",
    [
        [],
        [b"a.example", b"b.example"],
        [b""],
        [b"a.example/path"],
        [b"a example"],
        [b"a.example\n"],
        [b"user@a.example"],
    ],
)
def test_it_refuses_a_missing_duplicate_or_malformed_host(hosts: list[bytes]) -> None:
    error = refused(*[(b"host", h) for h in hosts], host=False)
    assert error.reason == "invalid_host"


@pytest.mark.parametrize(
    "host", [b"a.example", b"a.example:8080", b"127.0.0.1:80", b"[::1]:8000", b"[::1]", b"xn--bcher-kva.example"]
)
def test_it_accepts_ordinary_hosts(host: bytes) -> None:
    assert inspect((b"host", host), host=False).host == host


# --- response_headers ---------------------------------------------------------------------------


def test_response_headers_drop_hop_by_hop_and_connection_named_headers() -> None:
    out = response_headers(
        [
            (b"Content-Type", b"text/plain"),
            (b"Connection", b"X-Private, keep-alive"),
            (b"X-Private", b"1"),
            (b"Keep-Alive", b"timeout=5"),
            (b"Transfer-Encoding", b"chunked"),
            (b"Proxy-Authenticate", b"Basic"),
            (b"Upgrade", b"h2c"),
            (b"Trailer", b"X-Sum"),
            (b"X-Public", b"yes"),
        ],
        b"rid",
        b"1.1 gateway",
    )

    assert out == [
        (b"content-type", b"text/plain"),
        (b"x-public", b"yes"),
        (b"x-request-id", b"rid"),
        (b"via", b"1.1 gateway"),
    ]


def test_response_headers_strip_the_backends_x_gateway_error_and_request_id() -> None:
    out = response_headers(
        [(b"X-Gateway-Error", b"forged"), (b"X-Request-ID", b"backend-id"), (b"x-gateway-error", b"again")],
        b"rid",
        b"1.1 gateway",
    )

    assert out == [(b"x-request-id", b"rid"), (b"via", b"1.1 gateway")]


def test_response_headers_keep_repeated_headers_such_as_set_cookie() -> None:
    out = response_headers(
        [(b"Set-Cookie", b"a=1; Path=/"), (b"Set-Cookie", b"b=2; Path=/"), (b"Content-Length", b"0")],
        b"rid",
        b"1.1 gateway",
    )

    assert [v for n, v in out if n == b"set-cookie"] == [b"a=1; Path=/", b"b=2; Path=/"]
    assert (b"content-length", b"0") in out


def test_response_headers_append_the_gateway_to_the_backends_via() -> None:
    out = response_headers([(b"Via", b"1.0 cache")], b"rid", b"1.1 gateway")

    assert [v for n, v in out if n == b"via"] == [b"1.0 cache, 1.1 gateway"]


def test_response_headers_name_the_gateway_once_after_several_via_headers() -> None:
    out = response_headers([(b"Via", b"1.0 a"), (b"Via", b"1.1 b")], b"rid", b"1.1 gateway")

    combined = b", ".join(v for n, v in out if n == b"via")
    assert combined == b"1.0 a, 1.1 b, 1.1 gateway"


def test_it_drops_proxy_and_x_real_ip_from_the_client() -> None:
    head = inspect_request(
        [(b"host", b"a"), (b"proxy", b"http://evil:3128"), (b"x-real-ip", b"6.6.6.6"), (b"x-kept", b"1")],
        False,
        frozenset(),
    )
    assert head.headers == [(b"host", b"a"), (b"x-kept", b"1")]


@pytest.mark.parametrize(
    "server, names",
    [
        (b"nginx/1.25.3", b"nginx"),
        (b"Apache/2.4.41 (Ubuntu) OpenSSL/1.1.1f", b"Apache OpenSSL"),
        (b"Python/3.11 aiohttp/3.14.5", b"Python aiohttp"),
        (b"Microsoft-IIS/10.0 (Windows NT 10.0; Win64)", b"Microsoft-IIS"),
        (b"gunicorn", b"gunicorn"),
        (b"(only a comment)", b""),
    ],
)
def test_product_names_drop_versions_and_comments(server: bytes, names: bytes) -> None:
    assert product_names(server) == names


def test_response_headers_strip_the_server_version_by_default_or_as_configured() -> None:
    raw = [(b"Server", b"nginx/1.25.3 (Ubuntu)"), (b"X-Other", b"1/2")]
    assert (b"server", b"nginx") in response_headers(raw, b"rid", b"1.1 gw")
    assert not any(n == b"server" for n, _ in response_headers(raw, b"rid", b"1.1 gw", SERVER_REMOVE))
    assert (b"server", b"nginx/1.25.3 (Ubuntu)") in response_headers(raw, b"rid", b"1.1 gw", SERVER_KEEP)
    assert not any(n == b"server" for n, _ in response_headers([(b"server", b"(x)")], b"rid", b"1.1 gw"))


def test_response_headers_strip_a_repeated_server_value_the_same_way_and_keep_few_values() -> None:
    raw = [(b"server", b"Apache/2.4.41 (Ubuntu) OpenSSL/1.1.1f")]
    first = response_headers(raw, b"rid", b"1.1 gw")
    assert response_headers(raw, b"rid", b"1.1 gw") == first
    assert (b"server", b"Apache OpenSSL") in first
    for number in range(1000):  # a backend that puts a counter in its Server header
        assert (b"server", b"app") in response_headers([(b"server", f"app/{number}".encode())], b"r", b"1.1 gw")
    assert len(headers_module._PRODUCT_NAMES) <= headers_module._PRODUCT_NAMES_KEPT
