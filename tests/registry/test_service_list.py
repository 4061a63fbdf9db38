from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from registry.models import Route, Service, Target

pytestmark = pytest.mark.django_db

AssertNumQueries = Callable[[int], AbstractContextManager[Any]]


def make_service(slug: str, *, enabled: bool = True) -> Service:
    service = Service.objects.create(name=slug.title(), slug=slug, enabled=enabled)
    Target.objects.create(service=service, host="10.0.0.1", port=8080, weight=10)
    Target.objects.create(service=service, host="10.0.0.2", port=8080, enabled=False)
    Route.objects.create(service=service, name=f"{slug}-read", path_prefix=f"/{slug}", methods="GET,HEAD")
    Route.objects.create(service=service, name=f"{slug}-old", path_prefix=f"/old/{slug}", enabled=False)
    return service


def slugs(response: Any) -> list[str]:
    return [service["slug"] for service in response.json()["services"]]


def test_it_lists_a_service_with_its_routes_targets_and_health(client: Client) -> None:
    make_service("orders")
    response = client.get("/api/v1/services")
    assert response.status_code == 200
    assert response.json() == {
        "services": [
            {
                "name": "Orders",
                "slug": "orders",
                "protocol": "http",
                "enabled": True,
                "routes": [
                    {
                        "name": "orders-read",
                        "path_prefix": "/orders",
                        "host": "",
                        "methods": ["GET", "HEAD"],
                        "api_version": "",
                        "enabled": True,
                    }
                ],
                "targets": [
                    {
                        "weight": 10,
                        "enabled": True,
                        "health": {
                            "status": "unchecked",
                            "checked_at": None,
                            "latency_ms": None,
                            "breaker": "disabled",
                        },
                    }
                ],
                "health": {"status": "unknown", "checked_at": None, "targets_available": 1, "targets_total": 1},
            }
        ]
    }


def test_it_shows_target_addresses_to_staff_only(client: Client) -> None:
    make_service("orders")
    assert "address" not in client.get("/api/v1/services").json()["services"][0]["targets"][0]
    client.force_login(User.objects.create_user("ops", is_staff=True))
    targets = client.get("/api/v1/services").json()["services"][0]["targets"]
    assert [t["address"] for t in targets] == ["10.0.0.1:8080", "10.0.0.2:8080"]


def test_it_hides_disabled_objects_from_anonymous_callers(client: Client) -> None:
    make_service("orders")
    make_service("legacy", enabled=False)
    assert slugs(client.get("/api/v1/services")) == ["orders"]


def test_it_shows_disabled_objects_to_staff(client: Client) -> None:
    make_service("orders")
    make_service("legacy", enabled=False)
    client.force_login(User.objects.create_user("ops", is_staff=True))
    body = client.get("/api/v1/services").json()
    assert [s["slug"] for s in body["services"]] == ["legacy", "orders"]
    assert [len(s["routes"]) + len(s["targets"]) for s in body["services"]] == [4, 4]


def test_it_treats_a_non_staff_user_like_an_anonymous_caller(client: Client) -> None:
    make_service("legacy", enabled=False)
    client.force_login(User.objects.create_user("someone"))
    assert slugs(client.get("/api/v1/services")) == []


@pytest.mark.parametrize("count", [1, 6])
def test_it_uses_four_queries_whatever_the_number_of_services(
    client: Client, django_assert_num_queries: AssertNumQueries, count: int
) -> None:
    for i in range(count):
        make_service(f"svc{i}")
    with django_assert_num_queries(4):  # services, routes, targets, health check results
        assert len(slugs(client.get("/api/v1/services"))) == count


def test_it_answers_an_empty_list_when_nothing_is_registered(client: Client) -> None:
    assert client.get("/api/v1/services").json() == {"services": []}


def test_it_refuses_writes(client: Client) -> None:
    assert client.post("/api/v1/services").status_code == 405
