"""No variant of a protected path reaches a less protected route: ``proxy.paths`` and the table's use
of it, on tables compiled from hand-made specs (the end-to-end proof is in test_path_variants_e2e.py)."""

from __future__ import annotations

import pytest

from proxy.errors import BadRequest
from proxy.paths import read_path
from proxy.table import RoutingTable
from tests.proxy.test_routing_table import hit, route, service, table, upstream

SVC = service("svc-a")

# Every spelling of /api/v1/svc-a/private that some backend reads as that path.
VARIANTS = [
    "/api/v1/svc-a/private",
    "/api/v1/svc-a/Private",
    "/api/v1/svc-a/PRIVATE/x",
    "/API/V1/SVC-A/private",
    "/api/v1/svc-a/private;x=1",
    "/api/v1/svc-a/private;x=1/x",
    "/api/v1/svc-a;a=b/private",
    "/api/v1/svc-a//private",
    "//api/v1/svc-a/private",
    "/api/v1/svc-a/;x/private",
    "/api/v1/svc-a/private/",
    "/api/v1/svc-a/private.",
    "/api/v1/svc-a/private../x",
    "/api/v1/svc-a/private%20",
    "/api/v1/svc-a/private.%20.",
    "/api/v1/svc-a/%70rivate",
    "/api/v1/svc-a/priv%61te",
    "/api/v1/svc-a/PRIV%41TE",
    "/api/v1/svc-a/private%3bx",
    "/api/v1/svc-a/private%3B/x",
]

# Paths that have no single reading: 400 before any route is looked at.
REFUSED = [
    "/api/v1/svc-a/private%00",
    "/api/v1/svc-a/private%00.json",
    "/api/v1/svc-a/private%0a",
    "/api/v1/svc-a/private%0D%0AX-Injected:%201",
    "/api/v1/svc-a/private%09",
    "/api/v1/svc-a/private%7f",
    "/api/v1/svc-a/private%1F",
    "/api/v1/svc-a/private\x00",
    "/api/v1/svc-a/private\x01",
    "/api/v1/svc-a/private\t",
    "/api/v1/svc-a/private\x7f",
    "/api/v1/svc-a%2Fprivate",
    "/api/v1/svc-a%2fprivate",
    "/api/v1/svc-a/x%2F..%2Fprivate",
    "/api/v1/svc-a%5Cprivate",
    "/api/v1/svc-a\\private",
    "/api/v1/svc-a/%2e%2e/svc-a/private",
    "/api/v1/svc-a/x/%2E/private",
    "/api/v1/svc-a/x/../private",
    "/api/v1/svc-a/./private",
    "/api/v1/svc-a/.../private",
    "/api/v1/svc-a/. ./private",
    "/api/v1/svc-a/%zzprivate",
    "/api/v1/svc-a/private%",
    "/api/v1/svc-a/private%4",
    "/api/v1/svc-a/private;x=%00",
    "/api/v1/svc-a/private;x=%2F",
    "/api/v1/svc-a/private;%zz",
    "api/v1/svc-a/private",
    "*",
]


def protected_table(dynamic: bool = True) -> RoutingTable:
    return table(
        route("/api/v1/svc-a/private", "protected", svc=SVC),
        route("/api/v1/svc-a", "open", svc=SVC),
        route("/", "root", svc=SVC),
        dynamic=dynamic,
    )


@pytest.mark.parametrize("path", VARIANTS)
def test_every_variant_of_a_protected_path_reaches_the_protected_route(path: str) -> None:
    assert hit(protected_table(), path) == "protected"
    assert hit(protected_table(dynamic=False), path) == "protected"


@pytest.mark.parametrize("path", REFUSED)
def test_a_path_with_no_single_reading_is_refused_with_400(path: str) -> None:
    with pytest.raises(BadRequest) as refused:
        protected_table().match("gw.test", path, "GET", None)
    assert refused.value.status == 400 and refused.value.reason == "invalid_path"


def test_an_encoded_semicolon_starts_parameters_like_a_raw_one() -> None:
    assert read_path("/a/private%3bx").key == "/a/private"
    assert read_path("/a/private;%3b/b").key == "/a/private/b"


def test_the_backend_gets_the_path_as_sent_cut_after_the_prefix_segments() -> None:
    t = table(route("/svc/private", "p", svc=SVC))

    assert upstream(t, "/svc/private/a") == "/a"
    assert upstream(t, "/SVC/Private/A;b=1") == "/A;b=1"
    assert upstream(t, "/svc;j=1/private;k=2/a%20b") == "/a%20b"
    assert upstream(t, "/svc//private//a") == "//a"
    assert upstream(t, "/svc/private./a") == "/a"
    assert upstream(t, "/svc/%70rivate") == "/"
    kept = table(route("/svc/private", "p", svc=SVC, strip_prefix=False))
    assert upstream(kept, "/Svc/Private;x=1/a") == "/Svc/Private;x=1/a"


def test_a_path_version_segment_is_matched_in_any_case_and_cut_as_sent() -> None:
    t = table(route("/cat", "v2", svc=SVC, api_version="v2"))

    assert hit(t, "/Cat/V2/items") == "v2"
    assert upstream(t, "/Cat/V2;x/items") == "/items"
    assert upstream(t, "/cat//v2/items") == "/items"


def test_a_prefix_with_capitals_or_escapes_matches_the_same_paths() -> None:
    t = table(route("/Orders/%7Euser", "orders", svc=SVC))

    assert hit(t, "/orders/~user/1") == "orders"
    assert hit(t, "/ORDERS/%7eUSER") == "orders"
    assert hit(t, "/orders/user") == "404"


def test_non_ascii_bytes_match_their_percent_encoded_form() -> None:
    t = table(route("/caf%C3%A9", "cafe", svc=SVC))

    assert hit(t, "/caf%c3%a9/x") == "cafe"
    assert hit(t, "/caf\xc3\xa9/x") == "cafe"  # raw UTF-8 bytes, read as latin-1 like the gateway does
    assert hit(t, "/CAF%C3%89/x") == "404"  # only ASCII letters fold: É is not é


def test_plain_paths_keep_their_fast_reading() -> None:
    plain = read_path("/Orders/42/items.json")

    assert plain.key == "/orders/42/items.json" and plain.ends is None
    assert read_path("/orders/").key == "/orders/"
