"""Admin API for consumers, API keys and JWT issuers: keys shown once, revoke, rotate, no secrets read back."""

from __future__ import annotations

import hashlib
import hmac
import importlib

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from registry.models import ApiKey, ConfigVersion, Consumer, JwtIssuer, Route, Service
from tests.support.problems import errors

pytestmark = pytest.mark.django_db

API = "/admin/api"


def version() -> int:
    return ConfigVersion.objects.get(pk=1).version


@pytest.fixture
def api() -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("root"))
    return client


def test_staff_without_the_model_permissions_cannot_see_or_issue_keys(consumer: Consumer) -> None:
    client = APIClient()
    client.force_authenticate(User.objects.create_user("operator", is_staff=True))

    assert client.get(f"{API}/api-keys/").status_code == 403
    assert client.post(f"{API}/api-keys/", {"consumer": "alice"}, format="json").status_code == 403
    assert client.post(f"{API}/consumers/", {"name": "mallory"}, format="json").status_code == 403
    assert not ApiKey.objects.exists()


@pytest.fixture
def consumer() -> Consumer:
    return Consumer.objects.create(name="alice", roles="orders:read")


def test_it_creates_a_consumer_linked_to_a_user(api: APIClient) -> None:
    User.objects.create_user("bob")
    before = version()

    response = api.post(f"{API}/consumers/", {"name": "bob", "user": "bob", "roles": "a, b"}, format="json")

    assert response.status_code == 201, response.data
    assert Consumer.objects.get(name="bob").user.username == "bob"  # type: ignore[union-attr]
    assert version() == before + 1


def test_it_refuses_a_malformed_role(api: APIClient) -> None:
    response = api.post(f"{API}/consumers/", {"name": "bob", "roles": "ok, not ok"}, format="json")

    assert response.status_code == 400
    assert "roles" in errors(response)


def test_the_key_is_in_the_creation_response_only(api: APIClient, consumer: Consumer) -> None:
    response = api.post(f"{API}/api-keys/", {"consumer": "alice", "label": "ci"}, format="json")

    assert response.status_code == 201, response.data
    key = response.data["key"]
    assert key.startswith(f"gw_{response.data['prefix']}_")
    stored = ApiKey.objects.get(pk=response.data["id"])
    assert key not in (stored.digest, stored.prefix)
    assert stored.digest == hmac.new(settings.GATEWAY_API_KEY_PEPPER, key.encode(), hashlib.sha256).hexdigest()
    assert api.get(f"{API}/api-keys/{stored.pk}/").data["key"] is None
    assert all(item["key"] is None for item in api.get(f"{API}/api-keys/").data["results"])


def test_revoke_stops_the_key_and_keeps_the_row(api: APIClient, consumer: Consumer) -> None:
    key_id = api.post(f"{API}/api-keys/", {"consumer": "alice"}, format="json").data["id"]
    before = version()

    response = api.post(f"{API}/api-keys/{key_id}/revoke/")

    assert response.status_code == 200 and response.data["revoked_at"] is not None
    assert ApiKey.objects.get(pk=key_id).revoked_at is not None
    assert api.get(f"{API}/api-keys/{key_id}/").status_code == 200
    assert version() == before + 1


def test_delete_removes_the_key_and_it_is_gone(api: APIClient, consumer: Consumer) -> None:
    key_id = api.post(f"{API}/api-keys/", {"consumer": "alice"}, format="json").data["id"]
    before = version()

    response = api.delete(f"{API}/api-keys/{key_id}/")

    assert response.status_code == 204
    assert not ApiKey.objects.filter(pk=key_id).exists()
    assert api.get(f"{API}/api-keys/{key_id}/").status_code == 404
    assert version() == before + 1


def test_rotate_issues_a_new_key_and_limits_the_old_one(api: APIClient, consumer: Consumer) -> None:
    old_id = api.post(f"{API}/api-keys/", {"consumer": "alice"}, format="json").data["id"]
    until = "2030-01-01T00:00:00Z"

    response = api.post(f"{API}/api-keys/{old_id}/rotate/", {"old_valid_until": until}, format="json")

    assert response.status_code == 201, response.data
    assert response.data["key"].startswith("gw_")
    assert ApiKey.objects.get(pk=old_id).expires_at.isoformat().startswith("2030-01-01")  # type: ignore[union-attr]
    assert ApiKey.objects.get(pk=response.data["id"]).expires_at is None


def test_keys_cannot_be_edited_through_the_api(api: APIClient, consumer: Consumer) -> None:
    key_id = api.post(f"{API}/api-keys/", {"consumer": "alice"}, format="json").data["id"]

    assert api.patch(f"{API}/api-keys/{key_id}/", {"label": "x"}, format="json").status_code == 405


def test_an_issuer_secret_is_write_only(api: APIClient) -> None:
    body = {"name": "hs", "issuer": "i", "audience": "a", "algorithm": "HS256", "secret": "s" * 40}

    response = api.post(f"{API}/jwt-issuers/", body, format="json")

    assert response.status_code == 201, response.data
    assert "secret" not in response.data
    assert "secret" not in api.get(f"{API}/jwt-issuers/{response.data['id']}/").data


def test_an_issuer_needs_exactly_one_kind_of_key(api: APIClient) -> None:
    body = {"name": "rs", "issuer": "i", "audience": "a", "algorithm": "RS256"}

    # Rules between fields that no schema carries: 422 (registry/api/problems.py).
    assert api.post(f"{API}/jwt-issuers/", body, format="json").status_code == 422
    bad_pem = body | {"public_key": "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----"}
    assert api.post(f"{API}/jwt-issuers/", bad_pem, format="json").status_code == 422
    short = body | {"algorithm": "HS256", "secret": "short"}
    assert api.post(f"{API}/jwt-issuers/", short, format="json").status_code == 422


def test_routes_carry_their_auth_settings(api: APIClient) -> None:
    Service.objects.create(name="Orders", slug="orders")
    JwtIssuer.objects.create(name="idp", issuer="i", audience="a", algorithm="HS256", secret="s" * 40)
    body = {
        "name": "orders",
        "service": "orders",
        "path_prefix": "/orders",
        "auth_mode": "jwt",
        "required_roles": "orders:read",
        "jwt_issuers": ["idp"],
    }

    response = api.post(f"{API}/routes/", body, format="json")

    assert response.status_code == 201, response.data
    route = Route.objects.get(name="orders")
    assert [i.name for i in route.jwt_issuers.all()] == ["idp"]
    assert response.data["jwt_issuers"] == ["idp"]


@pytest.mark.parametrize(
    ("fields", "field", "status"),
    [
        ({"required_roles": "x"}, "required_roles", 422),
        ({"auth_mode": "api_key", "required_roles": "x", "allow_anonymous": True}, "allow_anonymous", 422),
        ({"auth_mode": "jwt", "api_key_query_param": "key"}, "api_key_query_param", 422),
        ({"auth_mode": "api_key", "identity_headers": "x-everything"}, "identity_headers", 400),
        ({"auth_mode": "api_key", "api_key_header": "Authorization"}, "api_key_header", 422),
        ({"auth_mode": "api_key", "api_key_header": "X-Consumer-Key"}, "api_key_header", 422),
    ],
)
def test_it_refuses_contradictory_route_auth_settings(
    api: APIClient, fields: dict[str, object], field: str, status: int
) -> None:
    Service.objects.create(name="Orders", slug="orders")
    body = {"name": "orders", "service": "orders", "path_prefix": "/orders"} | fields

    response = api.post(f"{API}/routes/", body, format="json")

    assert response.status_code == status
    assert field in errors(response)


@pytest.mark.parametrize("role", ["viewer", "compliance officer"])
def test_read_only_roles_cannot_change_routes_through_the_api(role: str) -> None:
    importlib.import_module("registry.migrations.0005_admin_roles").create_roles(django_apps, None)
    user = User.objects.create_user(role.replace(" ", "-"), is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client = APIClient()
    client.force_authenticate(user)
    Service.objects.create(name="Orders", slug="orders")

    assert client.get(f"{API}/routes/").status_code == 200
    body = {"name": "orders", "service": "orders", "path_prefix": "/orders"}
    assert client.post(f"{API}/routes/", body, format="json").status_code == 403
    assert client.delete(f"{API}/services/orders/").status_code == 403


def test_an_operator_changes_routes_but_not_keys() -> None:
    importlib.import_module("registry.migrations.0005_admin_roles").create_roles(django_apps, None)
    user = User.objects.create_user("op", is_staff=True)
    user.groups.add(Group.objects.get(name="operator"))
    client = APIClient()
    client.force_authenticate(user)
    Service.objects.create(name="Orders", slug="orders")
    Consumer.objects.create(name="alice")

    body = {"name": "orders", "service": "orders", "path_prefix": "/orders"}
    assert client.post(f"{API}/routes/", body, format="json").status_code == 201
    assert client.get(f"{API}/api-keys/").status_code == 403
    assert client.post(f"{API}/api-keys/", {"consumer": "alice"}, format="json").status_code == 403
