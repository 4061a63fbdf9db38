"""``RoutingTable.match`` on tables compiled from hand-made specs: no database, no gateway process."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from proxy.specs import RouteSpec, ServiceSpec, Snapshot, TargetSpec
from proxy.table import CompiledRoute, MethodMismatch, RoutingTable, compile_table, dynamic_route

LIMIT = 1234


def service(slug: str = "svc", base_path: str = "", **fields: Any) -> ServiceSpec:
    values: dict[str, Any] = {
        "id": abs(hash(slug)) % 10_000,
        "slug": slug,
        "name": slug.title(),
        "scheme": "http",
        "base_path": base_path,
        "connect_timeout": 1.0,
        "read_timeout": 5.0,
        "retries": 1,
        "lb_algorithm": "round_robin",
        "preserve_host": False,
        "targets": (TargetSpec(id=1, host="127.0.0.1", port=9, weight=100),),
    }
    values.update(fields)
    return ServiceSpec(**values)


DEFAULT = service()


def route(prefix: str, name: str | None = None, svc: ServiceSpec = DEFAULT, **fields: Any) -> RouteSpec:
    source = fields.pop("version_source", "either")
    methods = fields.pop("methods", None)
    values: dict[str, Any] = {
        "id": 1,
        "name": name or prefix,
        "service": svc,
        "prefix": prefix,
        "host": "",
        "methods": frozenset(methods) if methods else None,
        "strip_prefix": True,
        "priority": 0,
        "api_version": "",
        "version_in_path": source in ("path", "either"),
        "version_in_header": source in ("header", "either"),
        "max_body_bytes": LIMIT,
    }
    values.update(fields)
    return RouteSpec(**values)


def table(
    *routes: RouteSpec, dynamic: bool = False, services: tuple[ServiceSpec, ...] = (), switch: bool = True
) -> RoutingTable:
    """``dynamic``: every service opted in to its /api/v1/{slug} route; ``switch``: GATEWAY_DYNAMIC_SERVICE_ROUTES."""
    known = {s.slug: s for s in services}
    for spec in routes:
        known.setdefault(spec.service.slug, spec.service)
    with override_settings(GATEWAY_DYNAMIC_SERVICE_ROUTES=switch, GATEWAY_MAX_BODY_BYTES=LIMIT):
        extra = tuple(dynamic_route(s, None) for s in known.values()) if dynamic else ()
        snapshot = Snapshot(version=7, services=tuple(known.values()), routes=routes, dynamic=extra)
        return compile_table(snapshot, factories=[])


def hit(t: RoutingTable, path: str, host: str = "gw.test", method: str = "GET", version: str | None = None) -> str:
    """The name of the matching route, or 404 / 405."""
    found = t.match(host, path, method, version)
    if found is None:
        return "404"
    if isinstance(found, MethodMismatch):
        return "405"
    return found[0].spec.name


def upstream(t: RoutingTable, path: str, version: str | None = None, host: str = "gw.test") -> str:
    found = t.match(host, path, "GET", version)
    assert isinstance(found, tuple), found
    return found[1]


# --- Ordering -----------------------------------------------------------------------------------


def test_the_longest_prefix_wins_whatever_the_order_of_the_routes() -> None:
    routes = [route("/a"), route("/a/b/c"), route("/a/b"), route("/")]
    for ordering in (routes, routes[::-1]):
        t = table(*ordering)
        assert hit(t, "/a/b/c/d") == "/a/b/c"
        assert hit(t, "/a/b/x") == "/a/b"
        assert hit(t, "/a/x") == "/a"
        assert hit(t, "/other") == "/"


def test_a_higher_priority_wins_between_equal_prefixes_and_then_the_name() -> None:
    t = table(route("/p", "low", priority=-5), route("/p", "high", priority=5), route("/p", "mid"))
    assert hit(t, "/p/x") == "high"

    t = table(route("/p", "b-route"), route("/p", "a-route"))
    assert hit(t, "/p/x") == "a-route"


def test_a_longer_prefix_beats_a_higher_priority() -> None:
    t = table(route("/p", "short", priority=100), route("/p/q", "long", priority=-100))
    assert hit(t, "/p/q/1") == "long"


def test_a_versioned_route_is_tried_before_an_unversioned_one_at_the_same_prefix() -> None:
    t = table(route("/p", "plain", priority=50), route("/p", "v2", api_version="v2"))
    assert hit(t, "/p/v2/x") == "v2"
    assert hit(t, "/p/x", version="v2") == "v2"
    assert hit(t, "/p/x") == "plain"


# --- Segment boundaries -------------------------------------------------------------------------


def test_a_prefix_only_matches_whole_path_segments() -> None:
    t = table(route("/api"))
    assert hit(t, "/api") == "/api"
    assert hit(t, "/api/") == "/api"
    assert hit(t, "/api/x") == "/api"
    assert hit(t, "/apix") == "404"
    assert hit(t, "/apix/y") == "404"
    assert hit(t, "/ap") == "404"
    assert hit(t, "/") == "404"


def test_a_multi_segment_prefix_only_matches_whole_segments() -> None:
    t = table(route("/a/b"))
    assert hit(t, "/a/b/c") == "/a/b"
    assert hit(t, "/a/bc") == "404"
    assert hit(t, "/a") == "404"
    assert hit(t, "/a/c") == "404"


def test_the_root_route_catches_what_no_other_route_takes() -> None:
    t = table(route("/a/b", "ab"), route("/", "root"))
    assert hit(t, "/a/b/x") == "ab"
    assert hit(t, "/a/c") == "root"  # same first segment as /a/b, but not under it
    assert hit(t, "/a") == "root"
    assert hit(t, "/zzz") == "root"
    assert hit(t, "/") == "root"


# --- Hosts --------------------------------------------------------------------------------------


def test_an_exact_host_beats_a_wildcard_which_beats_any_host() -> None:
    t = table(
        route("/h", "any"),
        route("/h", "wild", host="*.example.com"),
        route("/h", "deep-wild", host="*.eu.example.com"),
        route("/h", "exact", host="api.example.com"),
    )
    assert hit(t, "/h/x", host="api.example.com") == "exact"
    assert hit(t, "/h/x", host="shop.example.com") == "wild"
    assert hit(t, "/h/x", host="shop.eu.example.com") == "deep-wild"
    assert hit(t, "/h/x", host="example.com") == "any"
    assert hit(t, "/h/x", host="badexample.com") == "any"
    assert hit(t, "/h/x", host="other.test") == "any"


def test_a_host_whose_routes_do_not_match_the_path_falls_back_to_hostless_routes() -> None:
    t = table(route("/only-api", "api", host="api.example.com"), route("/shared", "shared"))
    assert hit(t, "/shared/x", host="api.example.com") == "shared"
    assert hit(t, "/only-api/x", host="api.example.com") == "api"
    assert hit(t, "/only-api/x", host="www.example.com") == "404"


# --- Versions -----------------------------------------------------------------------------------


def test_the_version_comes_from_the_path_segment_after_the_prefix() -> None:
    t = table(route("/cat", "v1", api_version="v1"), route("/cat", "v2", api_version="v2"))
    assert hit(t, "/cat/v1/items") == "v1"
    assert hit(t, "/cat/v2/items") == "v2"
    assert hit(t, "/cat/v2") == "v2"
    assert hit(t, "/cat/v2x/items") == "404"
    assert hit(t, "/cat/items") == "404"
    assert hit(t, "/cat/v3/items") == "404"


def test_the_version_comes_from_the_header_when_the_route_reads_it() -> None:
    t = table(
        route("/e", "either", api_version="v1"),
        route("/h", "header", api_version="v1", version_source="header"),
        route("/p", "path", api_version="v1", version_source="path"),
    )
    assert hit(t, "/e/x", version="v1") == "either"
    assert hit(t, "/e/v1/x") == "either"
    assert hit(t, "/h/x", version="v1") == "header"
    assert hit(t, "/h/v1/x") == "404"
    assert hit(t, "/p/v1/x") == "path"
    assert hit(t, "/p/x", version="v1") == "404"
    assert hit(t, "/e/x", version="v2") == "404"


def test_the_path_version_segment_is_not_forwarded_but_a_header_version_keeps_the_path() -> None:
    t = table(route("/cat", "v1", api_version="v1"))
    assert upstream(t, "/cat/v1/items/3") == "/items/3"
    assert upstream(t, "/cat/v1") == "/"
    assert upstream(t, "/cat/items/3", version="v1") == "/items/3"


def test_an_unversioned_route_ignores_the_version_header() -> None:
    t = table(route("/plain"))
    assert hit(t, "/plain/x", version="v7") == "/plain"
    assert upstream(t, "/plain/v7/x") == "/v7/x"


# --- Methods ------------------------------------------------------------------------------------


def test_a_method_no_route_accepts_gives_a_method_mismatch_with_every_allowed_method() -> None:
    t = table(route("/m", "reads", methods={"GET", "HEAD"}), route("/m", "writes", methods={"POST"}, priority=1))

    assert hit(t, "/m/1", method="GET") == "reads"
    assert hit(t, "/m/1", method="POST") == "writes"
    found = t.match("gw.test", "/m/1", "DELETE", None)
    assert isinstance(found, MethodMismatch)
    assert found.allowed == ["GET", "HEAD", "POST"]


def test_a_path_no_route_takes_is_a_404_not_a_405() -> None:
    t = table(route("/m", methods={"GET"}))
    assert t.match("gw.test", "/other", "POST", None) is None


def test_a_route_for_any_method_takes_what_a_method_limited_route_refuses() -> None:
    t = table(route("/m", "reads", methods={"GET"}, priority=1), route("/m", "fallback"))
    assert hit(t, "/m/1", method="DELETE") == "fallback"
    assert hit(t, "/m/1", method="GET") == "reads"


# --- The upstream path --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prefix, strip, base, path, expected",
    [
        ("/orders", True, "", "/orders/42", "/42"),
        ("/orders", True, "", "/orders", "/"),
        ("/orders", True, "", "/orders/", "/"),
        ("/orders", False, "", "/orders/42", "/orders/42"),
        ("/orders", True, "/v1", "/orders/42", "/v1/42"),
        ("/orders", True, "/v1", "/orders", "/v1"),
        ("/orders", True, "/v1", "/orders/", "/v1/"),
        ("/orders", False, "/v1", "/orders/42", "/v1/orders/42"),
        ("/", True, "", "/x/y", "/x/y"),
        ("/", True, "/base", "/x/y", "/base/x/y"),
        ("/a/b", True, "/internal/api", "/a/b/c%20d", "/internal/api/c%20d"),
    ],
)
def test_the_upstream_path_is_built_from_strip_prefix_and_the_base_path(
    prefix: str, strip: bool, base: str, path: str, expected: str
) -> None:
    t = table(route(prefix, svc=service("s", base_path=base), strip_prefix=strip))
    assert upstream(t, path) == expected


# --- Compilation --------------------------------------------------------------------------------


def test_dynamic_service_routes_reach_each_service_by_slug_after_configured_routes() -> None:
    billing = service("billing", base_path="/internal")
    explicit = route("/api/v1/billing/special", "explicit")
    t = table(explicit, dynamic=True, services=(billing, service("inventory")))

    assert hit(t, "/api/v1/inventory/items/1") == "dynamic:inventory"
    assert upstream(t, "/api/v1/inventory/items/1") == "/items/1"
    assert upstream(t, "/api/v1/billing/invoices") == "/internal/invoices"
    assert hit(t, "/api/v1/billing/special/1") == "explicit"
    assert hit(t, "/api/v1/inventoryx/1") == "404"
    assert hit(t, "/api/v1/nothing/1") == "404"
    found = t.match("gw.test", "/api/v1/inventory/x", "GET", None)
    assert isinstance(found, tuple)
    assert found[0].spec.max_body_bytes == LIMIT
    assert found[0].spec.methods is None


def test_no_dynamic_routes_without_an_opted_in_service_or_with_the_switch_off() -> None:
    assert hit(table(services=(service("inventory"),)), "/api/v1/inventory/items") == "404"
    assert hit(table(services=(service("inventory"),), dynamic=True, switch=False), "/api/v1/inventory/x") == "404"


def test_routes_of_one_service_share_one_upstream_pool() -> None:
    other = service("other")
    t = table(route("/a"), route("/b"), route("/c", svc=other))
    by_name: dict[str, CompiledRoute] = {r.spec.name: r for r in t.routes}

    assert t.version == 7
    assert by_name["/a"].upstream is by_name["/b"].upstream
    assert by_name["/a"].upstream is not by_name["/c"].upstream
    assert set(t.upstreams) == {"svc", "other"}
    assert by_name["/a"].policies == ()
