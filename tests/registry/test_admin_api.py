from __future__ import annotations

import threading
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from rest_framework.test import APIClient

from registry.models import ConfigVersion, Route, Service, Target
from tests.support.problems import errors

pytestmark = pytest.mark.django_db

API = "/admin/api"


def version() -> int:
    return ConfigVersion.objects.get(pk=1).version


@pytest.fixture
def staff() -> User:
    user = User.objects.create_user("ops", password="s3cret-pass", is_staff=True)
    # Writes need the model permissions (as the operator group has them).
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="registry"))
    return user


@pytest.fixture
def api(staff: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(staff)
    return client


@pytest.fixture
def service() -> Service:
    return Service.objects.create(name="Orders", slug="orders")


@pytest.fixture
def route(service: Service) -> Route:
    return Route.objects.create(service=service, name="orders", path_prefix="/orders", methods="GET")


def new_route(**overrides: Any) -> dict[str, Any]:
    return {"name": "shop", "service": "orders", "path_prefix": "/shop", "methods": ["get", "post"]} | overrides


# --- Access -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/services/", "/targets/", "/routes/", "/schema/", "/docs/"])
def test_it_refuses_an_anonymous_caller(path: str) -> None:
    assert APIClient().get(API + path).status_code in (401, 403)


@pytest.mark.parametrize("path", ["/services/", "/targets/", "/routes/", "/schema/", "/docs/"])
def test_it_refuses_a_non_staff_user(path: str) -> None:
    client = APIClient()
    client.force_authenticate(User.objects.create_user("someone"))
    assert client.get(API + path).status_code == 403


def test_the_schema_and_the_docs_load_for_staff(api: APIClient) -> None:
    schema = api.get(f"{API}/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/admin/api/routes/" in schema.json()["paths"]
    docs = api.get(f"{API}/docs/")
    assert docs.status_code == 200
    assert b"drf_spectacular_sidecar/swagger-ui-dist" in docs.content
    assert b"cdn" not in docs.content.lower()


def test_a_staff_user_gets_a_token_and_uses_it(staff: User, service: Service) -> None:
    client = APIClient()
    tokens = client.post(f"{API}/token/", {"username": "ops", "password": "s3cret-pass"}, format="json").json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.get(f"{API}/services/").json()["results"][0]["slug"] == "orders"

    refreshed = client.post(f"{API}/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert refreshed.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")
    assert client.get(f"{API}/routes/").status_code == 200


def test_it_refuses_a_token_to_a_non_staff_user() -> None:
    User.objects.create_user("someone", password="s3cret-pass")
    response = APIClient().post(f"{API}/token/", {"username": "someone", "password": "s3cret-pass"}, format="json")
    assert response.status_code == 401


def test_it_refuses_a_bad_password() -> None:
    response = APIClient().post(f"{API}/token/", {"username": "ops", "password": "wrong"}, format="json")
    assert response.status_code == 401


def test_it_refuses_a_forged_token(service: Service) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    response = client.get(f"{API}/services/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response["X-Gateway-Error"] == "invalid_token"
    assert response["Content-Type"] == "application/problem+json"


# --- CRUD, each write one version bump --------------------------------------------------------


def test_services_can_be_created_read_updated_and_deleted(api: APIClient) -> None:
    before = version()
    created = api.post(f"{API}/services/", {"name": "Billing", "slug": "billing"}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["lb_algorithm"] == "round_robin"
    assert version() == before + 1

    assert api.get(f"{API}/services/billing/").json()["name"] == "Billing"
    patched = api.patch(f"{API}/services/billing/", {"read_timeout": 5}, format="json")
    assert patched.json()["read_timeout"] == 5
    assert version() == before + 2

    assert api.delete(f"{API}/services/billing/").status_code == 204
    assert not Service.objects.filter(slug="billing").exists()
    assert version() == before + 3


def test_targets_can_be_created_read_updated_and_deleted(api: APIClient, service: Service) -> None:
    before = version()
    created = api.post(f"{API}/targets/", {"service": "orders", "host": "::1", "port": 8080}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["address"], body["weight"]) == ("[::1]:8080", 100)
    assert version() == before + 1

    url = f"{API}/targets/{body['id']}/"
    assert api.get(url).json()["service"] == "orders"
    assert (
        api.put(url, {"service": "orders", "host": "::1", "port": 8080, "weight": 0}, format="json").json()["weight"]
        == 0
    )
    assert version() == before + 2

    assert api.delete(url).status_code == 204
    assert version() == before + 3


def test_routes_can_be_created_read_updated_and_deleted(api: APIClient, service: Service) -> None:
    before = version()
    created = api.post(f"{API}/routes/", new_route(host="API.example.com"), format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["methods"], body["host"]) == (["GET", "POST"], "api.example.com")
    assert Route.objects.get(name="shop").methods == "GET,POST"
    assert version() == before + 1

    url = f"{API}/routes/{body['id']}/"
    assert api.patch(url, {"methods": []}, format="json").json()["methods"] == []
    assert version() == before + 2

    assert api.delete(url).status_code == 204
    assert version() == before + 3


def test_deleting_a_service_with_children_is_one_config_change(api: APIClient, route: Route) -> None:
    Target.objects.create(service=route.service, host="10.0.0.1", port=80)
    before = version()
    assert api.delete(f"{API}/services/orders/").status_code == 204
    assert version() == before + 1


def test_it_filters_by_service_and_enabled(api: APIClient, service: Service) -> None:
    other = Service.objects.create(name="Billing", slug="billing")
    Target.objects.create(service=service, host="10.0.0.1", port=80)
    Target.objects.create(service=service, host="10.0.0.2", port=80, enabled=False)
    Target.objects.create(service=other, host="10.0.0.3", port=80)

    def hosts(query: str) -> list[str]:
        return [t["host"] for t in api.get(f"{API}/targets/?{query}").json()["results"]]

    assert hosts("service=orders") == ["10.0.0.1", "10.0.0.2"]
    assert hosts("service=orders&enabled=false") == ["10.0.0.2"]
    assert hosts("enabled=true") == ["10.0.0.3", "10.0.0.1"]
    assert api.get(f"{API}/targets/?enabled=maybe").status_code == 400


# --- Validation ---------------------------------------------------------------------------------


def test_it_answers_400_for_a_bad_target_host(api: APIClient, service: Service) -> None:
    before = version()
    response = api.post(f"{API}/targets/", {"service": "orders", "host": "http://x", "port": 80}, format="json")
    assert response.status_code == 400
    assert "is not a host name or IP address" in errors(response)["host"][0]
    assert version() == before


def test_it_answers_400_for_a_bad_route_host(api: APIClient, service: Service) -> None:
    response = api.post(f"{API}/routes/", new_route(host="bad host!"), format="json")
    assert response.status_code == 400
    assert list(errors(response)) == ["host"]


def test_it_answers_400_for_a_reserved_prefix(api: APIClient, service: Service) -> None:
    response = api.post(f"{API}/routes/", new_route(path_prefix="/admin/x"), format="json")
    assert response.status_code == 400
    assert "served by the gateway itself" in errors(response)["path_prefix"][0]


def test_it_answers_400_for_an_unknown_method(api: APIClient, service: Service) -> None:
    response = api.post(f"{API}/routes/", new_route(methods=["GET", "FETCH"]), format="json")
    assert response.status_code == 400
    assert len(errors(response)["methods"]) == 1
    assert "'FETCH' is not a proxied method" in errors(response)["methods"][0]


def test_it_answers_400_for_methods_that_are_not_a_list(api: APIClient, service: Service) -> None:
    response = api.post(f"{API}/routes/", new_route(methods="GET"), format="json")
    assert response.status_code == 400
    assert "Expected a list" in errors(response)["methods"][0]


def test_it_answers_409_for_two_routes_that_clash(api: APIClient, route: Route) -> None:
    before = version()
    response = api.post(f"{API}/routes/", new_route(path_prefix="/orders", methods=["GET"]), format="json")
    assert response.status_code == 409
    assert "already matches" in errors(response)["non_field_errors"][0]
    assert version() == before


def test_a_clash_on_update_leaves_the_route_unchanged(api: APIClient, route: Route, service: Service) -> None:
    other = Route.objects.create(service=service, name="other", path_prefix="/other", methods="GET")
    response = api.patch(f"{API}/routes/{other.pk}/", {"path_prefix": "/orders"}, format="json")
    assert response.status_code == 409
    other.refresh_from_db()
    assert other.path_prefix == "/other"


def test_a_reserved_slug_is_400_and_a_duplicate_target_409(api: APIClient, service: Service) -> None:
    assert "slug" in errors(api.post(f"{API}/services/", {"name": "S", "slug": "docs"}, format="json"))
    target = {"service": "orders", "host": "10.0.0.1", "port": 80}
    assert api.post(f"{API}/targets/", target, format="json").status_code == 201
    response = api.post(f"{API}/targets/", target, format="json")
    assert response.status_code == 409
    assert "non_field_errors" in errors(response)


def test_it_answers_409_for_an_unknown_service(api: APIClient) -> None:
    response = api.post(f"{API}/routes/", new_route(service="nope"), format="json")
    assert response.status_code == 409
    assert list(errors(response)) == ["service"]


def test_the_browsable_api_renders_and_accepts_methods_from_a_form(api: APIClient, route: Route) -> None:
    for path in ["/", "/routes/", f"/routes/{route.pk}/", "/services/orders/"]:
        assert api.get(API + path, HTTP_ACCEPT="text/html").status_code == 200
    form = {"name": "shop", "service": "orders", "path_prefix": "/shop", "methods": "GET,post"}
    response = api.post(f"{API}/routes/", form, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["methods"] == ["GET", "POST"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_cannot_create_two_routes_that_clash(staff: User, service: Service) -> None:
    # Without the config lock Postgres let 5 of 8 such requests through; SQLite serialises writes anyway.
    start = threading.Barrier(8)
    statuses: list[int] = []

    def create(i: int) -> None:
        client = APIClient()
        client.force_authenticate(staff)
        start.wait()
        statuses.append(client.post(f"{API}/routes/", new_route(name=f"r{i}"), format="json").status_code)
        connection.close()

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [409] * 7
    assert Route.objects.count() == 1
