"""Request and response transformations through a real gateway process: headers with templates,
query parameters, the upstream path, response headers, levels and consumers."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from edge.models import ConsumerEdge, EdgeDefaults
from registry.models import Route, Service
from registry.sections import save_with_sections
from tests.support.config import ConfigHelper
from tests.support.http import get
from tests.support.servers import BackendThread, GatewayProcess


def test_request_headers_are_removed_renamed_set_and_added_with_templates(
    config: ConfigHelper, gateway: GatewayProcess, edge_backend: BackendThread
) -> None:
    service = config.service("orders", [edge_backend], name="Orders")
    route = config.route(
        service,
        "/orders",
        name="orders-api",
        auth_mode=Route.AuthMode.API_KEY,
        request_headers_remove="X-Debug, Authorization",
        request_headers_rename="X-Old-Trace: X-Trace",
        request_headers_set="X-Tenant: {consumer_name}@{route}\nX-Env: prod",
        request_headers_add="X-Via-Service: {service}\nX-Caller: {consumer_id}/{client_address}/{request_id}",
    )
    alice = config.consumer("alice")
    _, key = config.api_key(alice)
    config.sync()

    reply = get(
        gateway,
        "/orders/x",
        {
            "Authorization": f"Bearer {key}",
            "X-Debug": "1",
            "X-Old-Trace": "abc",
            "X-Env": "dev",
            "X-Tenant": "forged",
            "X-Request-ID": "req-42",
        },
    )

    seen = reply.echoed_headers()
    assert reply.status == 200
    assert "x-debug" not in seen and "authorization" not in seen and "x-old-trace" not in seen
    assert seen["x-trace"] == ["abc"]
    assert seen["x-env"] == ["prod"]
    assert seen["x-tenant"] == ["alice@orders-api"]
    assert seen["x-via-service"] == ["Orders"]
    assert seen["x-caller"] == [f"{alice.pk}/127.0.0.1/req-42"]
    assert route.pk


def test_placeholders_of_an_anonymous_caller_leave_the_header_out(
    config: ConfigHelper, gateway: GatewayProcess, edge_backend: BackendThread
) -> None:
    service = config.service("orders", [edge_backend])
    config.route(service, "/orders", request_headers_add="X-Tenant: {consumer_name}\nX-Static: {{literal}}")
    config.sync()

    seen = get(gateway, "/orders/x").echoed_headers()

    assert "x-tenant" not in seen
    assert seen["x-static"] == ["{literal}"]


def test_query_parameters_are_removed_even_encoded_and_added_encoded(
    config: ConfigHelper, gateway: GatewayProcess, edge_backend: BackendThread
) -> None:
    service = config.service("orders", [edge_backend])
    config.route(service, "/orders", query_remove="api_key, debug", query_add="source=gateway\nroute={route} x&y")
    config.sync()

    reply = get(gateway, "/orders/x?a=1&api_key=secret&%61pi_key=secret2&debug&b=2")

    assert reply.json()["query"] == "a=1&b=2&source=gateway&route=orders-orders%20x%26y"


def test_the_upstream_path_is_rewritten_with_capture_groups_and_left_alone_without_a_match(
    config: ConfigHelper, gateway: GatewayProcess, edge_backend: BackendThread
) -> None:
    service = config.service("orders", [edge_backend], base_path="/internal")
    config.route(service, "/orders", path_rewrite=r"^/internal/v1/(?P<rest>.*)$", path_rewrite_to=r"/api/\g<rest>")
    config.route(service, "/items", path_rewrite=r"/item/(\d+)", path_rewrite_to=r"/items/\1/detail")
    config.sync()

    assert get(gateway, "/orders/v1/list?x=1").json()["path"] == "/api/list"
    assert get(gateway, "/orders/v2/list").json()["path"] == "/internal/v2/list"  # no match: unchanged
    assert get(gateway, "/items/item/42/x").json()["path"] == "/internal/items/42/detail/x"
    long_path = "/orders/v1/" + "a" * 1100
    assert get(gateway, long_path).problem("uri_too_long")


def test_a_rewrite_that_would_make_a_dot_segment_is_refused(
    config: ConfigHelper, gateway: GatewayProcess, edge_backend: BackendThread
) -> None:
    service = config.service("orders", [edge_backend])
    config.route(service, "/files", path_rewrite=r"^/a(..)b$", path_rewrite_to=r"/\1")
    config.sync()

    reply = get(gateway, "/files/a..b")

    assert reply.status == 400 and reply.problem("invalid_path")


def test_response_headers_are_removed_set_and_added(
    config: ConfigHelper, gateway: GatewayProcess, edge_backend: BackendThread
) -> None:
    service = config.service("orders", [edge_backend])
    config.route(
        service,
        "/orders",
        response_headers_remove="X-Backend-Secret",
        response_headers_set="Content-Security-Policy: default-src 'self'\nCache-Control: max-age=60",
        response_headers_add="X-Served-By: {route}\nX-Request: {request_id}",
    )
    config.sync()

    reply = get(gateway, "/orders/noisy", {"X-Request-ID": "rid-1"})
    missing = get(gateway, "/nowhere")

    assert not reply.has("x-backend-secret")
    assert reply.all("content-security-policy") == ["default-src 'self'"]
    assert reply.header("cache-control") == "max-age=60"
    assert reply.header("x-served-by") == "orders-orders"
    assert reply.header("x-request") == "rid-1"
    assert not missing.has("x-served-by")  # no route: no route's policies


def test_the_levels_add_up_and_the_most_specific_set_wins(
    config: ConfigHelper, gateway: GatewayProcess, edge_backend: BackendThread
) -> None:
    EdgeDefaults(request_headers_add="X-Level: defaults", request_headers_set="X-Who: defaults").save()
    service = config.service(
        "orders", [edge_backend], request_headers_add="X-Level: service", request_headers_set="X-Who: service"
    )
    config.route(service, "/orders", request_headers_add="X-Level: route", request_headers_set="X-Who: route")
    config.route(service, "/plain")
    config.sync()

    route = get(gateway, "/orders/x").echoed_headers()
    plain = get(gateway, "/plain/x").echoed_headers()

    assert route["x-level"] == ["defaults", "service", "route"]
    assert route["x-who"] == ["route"]
    assert plain["x-who"] == ["service"]


def test_a_consumers_request_headers_apply_after_the_routes(
    config: ConfigHelper, gateway: GatewayProcess, edge_backend: BackendThread
) -> None:
    service = config.service("orders", [edge_backend])
    config.route(service, "/orders", auth_mode=Route.AuthMode.API_KEY, request_headers_set="X-Plan: basic")
    gold, plain = config.consumer("gold"), config.consumer("plain")
    _, gold_key = config.api_key(gold)
    _, plain_key = config.api_key(plain)
    ConsumerEdge.objects.create(
        consumer=gold, request_headers_set="X-Plan: gold", request_headers_add="X-Vip: {consumer_name}"
    )
    config.sync()

    gold_seen = get(gateway, "/orders/x", {"Authorization": f"Bearer {gold_key}"}).echoed_headers()
    plain_seen = get(gateway, "/orders/x", {"Authorization": f"Bearer {plain_key}"}).echoed_headers()

    assert gold_seen["x-plan"] == ["gold"] and gold_seen["x-vip"] == ["gold"]
    assert plain_seen["x-plan"] == ["basic"] and "x-vip" not in plain_seen


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"request_headers_set": "X-Bad Name: 1"}, "request_headers_set", "not a header name"),
        ({"request_headers_set": "X_Under: 1"}, "request_headers_set", "underscores"),
        ({"request_headers_set": "X-Ok"}, "request_headers_set", "one 'Name: value'"),
        ({"request_headers_set": "X-Ok: caf\u00e9"}, "request_headers_set", "visible ASCII"),
        ({"request_headers_set": "X-Ok:"}, "request_headers_set", "give a value"),
        ({"request_headers_add": "X-Ok: {user}"}, "request_headers_add", "Unknown placeholder"),
        ({"request_headers_add": "X-Ok: {consumer_id"}, "request_headers_add", "Unknown placeholder"),
        ({"request_headers_add": "X-Ok: a}b"}, "request_headers_add", "lone '}'"),
        ({"request_headers_set": "Host: evil"}, "request_headers_set", "managed by the gateway"),
        ({"request_headers_set": "X-Forwarded-For: 1.2.3.4"}, "request_headers_set", "managed by the gateway"),
        ({"request_headers_set": "X-Consumer-Id: 1"}, "request_headers_set", "managed by the gateway"),
        ({"request_headers_set": "Authorization: Basic eA=="}, "request_headers_set", "plain text"),
        ({"request_headers_rename": "X-A: Content-Length"}, "request_headers_rename", "managed by the gateway"),
        ({"response_headers_set": "X-Gateway-Error: none"}, "response_headers_set", "managed by the gateway"),
        ({"response_headers_remove": "Transfer-Encoding"}, "response_headers_remove", "managed by the gateway"),
        ({"query_add": "a b=1"}, "query_add", "plain query parameter"),
        ({"path_rewrite": "^/(unclosed"}, "path_rewrite", "Not a regular expression"),
        ({"path_rewrite": "^/(a+)+$", "path_rewrite_to": "/x"}, "path_rewrite", "exponential"),
        ({"path_rewrite": r"^/(a)\1$", "path_rewrite_to": "/x"}, "path_rewrite", "Back-references"),
        ({"path_rewrite": "^(.*)(.*)(.*)$", "path_rewrite_to": "/x"}, "path_rewrite", "two unbounded"),
        ({"path_rewrite": "^/" + "a" * 200, "path_rewrite_to": "/x"}, "path_rewrite", "200"),
        ({"path_rewrite": "^/(a)$", "path_rewrite_to": r"/\2"}, "path_rewrite_to", "no group"),
        ({"path_rewrite": "^/(a)$", "path_rewrite_to": "/x y"}, "path_rewrite_to", "path characters"),
        ({"path_rewrite": "^/(a)$"}, "path_rewrite_to", "both"),
    ],
)
def test_bad_transformations_are_refused_with_the_field_and_the_reason(
    fields: dict[str, object], field: str, reason: str
) -> None:
    service = Service.objects.create(name="Orders", slug="orders")
    with pytest.raises(ValidationError) as raised:
        save_with_sections(Route(), {"service": service, "name": "r", "path_prefix": "/r", **fields})
    assert reason in " ".join(raised.value.message_dict.get(field, [])), raised.value.message_dict
