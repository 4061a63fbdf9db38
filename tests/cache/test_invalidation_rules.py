"""What a write invalidates (cache/invalidation.py) and how a path is named for it (cache.keys.uri)."""

from __future__ import annotations

from cache import keys
from cache.invalidation import SAFE_METHODS, same_host_path, written_uris


def test_only_registered_safe_methods_leave_the_cache_alone() -> None:
    assert {"GET", "HEAD", "OPTIONS", "TRACE"} <= SAFE_METHODS
    assert not {"POST", "PUT", "PATCH", "DELETE", "PURGE", "LINK", "MKCOL", "QUERYX"} & SAFE_METHODS


def test_a_reference_names_a_path_on_the_requests_host_or_nothing() -> None:
    base = "/orders/"
    cases = {
        "/orders/42": "/orders/42",
        "42": "/orders/42",
        "../items/7?x=1#top": "/items/7",
        "/a/./b/../c": "/a/c",
        "//api.example.com/a": "/a",
        "http://API.example.com:8080/a?b#c": "/a",
        "https://user@api.example.com/a": "/a",
        "https://elsewhere.example/orders/42": None,
        "//elsewhere.example/orders/42": None,
        "http://api.example.com.evil.example/a": None,
        "mailto:ops@api.example.com": None,
        "http://[::1/x": None,
        "/with space": None,
        "": None,
    }
    seen = {ref: same_host_path(ref, "api.example.com", base) for ref in cases}
    assert seen == cases


def test_a_write_names_its_own_path_then_each_same_host_location_once() -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"location", b"/orders/42"),
        (b"content-location", b"http://api.example.com/orders/42"),  # the same path again
        (b"location", b"https://other.example/orders/43"),
    ]
    assert written_uris("/orders", "api.example.com", headers) == [
        "/orders api.example.com",
        "/orders/42 api.example.com",
    ]


def test_a_path_is_named_the_same_however_its_percent_encoding_is_spelled() -> None:
    assert keys.uri("/caf%c3%a9/%7Euser/a%2fb", "h") == keys.uri("/caf%C3%A9/~user/a%2Fb", "h")
    assert keys.uri("/caf%C3%A9/~user/a%2Fb", "h") == "/caf%C3%A9/~user/a%2Fb h"
    assert keys.uri("/a%2Fb", "h") != keys.uri("/a/b", "h")  # an encoded slash is not a slash
    long = keys.uri("/" + "x" * 5000, "h")
    assert len(long) < 1100 and long != keys.uri("/" + "x" * 5001, "h")
