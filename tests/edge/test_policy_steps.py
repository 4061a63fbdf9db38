"""Which edge steps a route gets: none for what it does not use (the Location rewrite, on by
default, is the one step a route without settings has), all of them in the documented order."""

from __future__ import annotations

import pytest

from edge.models import ConsumerEdge, EdgeDefaults
from proxy.table import compile_table
from registry.models import Consumer, Route, Service, Target
from registry.sections import save_with_sections
from registry.snapshot import load_snapshot

pytestmark = pytest.mark.django_db


EDGE = {"edge_response", "ip_lists", "cors", "consumer_ip_lists", "request_transform"}


def steps(name: str, edge_only: bool = True) -> list[str]:
    table = compile_table(load_snapshot())
    route = next(r for r in table.routes if r.spec.name == name)
    return [p.name for p in route.policies if p.name in EDGE or not edge_only]


@pytest.fixture
def service() -> Service:
    service = Service.objects.create(name="Orders", slug="orders")
    Target.objects.create(service=service, host="10.0.0.1", port=8080)
    return service


def route(service: Service, name: str, **fields: object) -> Route:
    return save_with_sections(Route(), {"service": service, "name": name, "path_prefix": f"/{name}", **fields})


def test_a_route_without_settings_has_only_the_location_step_and_none_once_that_is_off(service: Service) -> None:
    route(service, "plain")
    route(service, "bare", rewrite_location="off")

    assert steps("plain") == ["edge_response"]
    assert steps("bare") == []


def test_a_route_using_everything_has_each_step_in_the_documented_order(service: Service) -> None:
    route(
        service,
        "full",
        auth_mode=Route.AuthMode.API_KEY,
        cors="on",
        cors_origins="https://app.example",
        security_headers="recommended",
        ip_allow="127.0.0.1",
        request_headers_set="X-A: 1",
    )
    ConsumerEdge.objects.create(consumer=Consumer.objects.create(name="c"), ip_allow="10.0.0.0/8")

    assert steps("full", edge_only=False) == [
        "edge_response", "ip_lists", "cors", "body_limit", "auth", "consumer_ip_lists", "request_transform",
    ]  # fmt: skip


def test_a_route_with_cors_matches_options_though_its_methods_do_not_list_it(service: Service) -> None:
    route(service, "cors", methods="GET", cors="on", cors_origins="*")
    route(service, "nocors", methods="GET")
    table = compile_table(load_snapshot())

    found = table.match("any", "/cors/x", "OPTIONS", None)
    refused = table.match("any", "/nocors/x", "OPTIONS", None)

    assert isinstance(found, tuple) and found[0].spec.name == "cors"
    assert not isinstance(refused, tuple)


def test_the_defaults_reach_every_route_and_a_service_can_opt_out(service: Service) -> None:
    EdgeDefaults(cors="on", cors_origins="*", rewrite_location="off").save()
    other = Service.objects.create(name="Other", slug="other")
    save_with_sections(other, {"cors": "off"})
    route(service, "inherits")
    route(other, "opted-out")

    assert steps("inherits") == ["cors"]
    assert steps("opted-out") == []
