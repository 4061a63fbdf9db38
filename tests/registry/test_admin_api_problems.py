"""The admin API answers every refusal as problem+json, with the status its schema documents: bad
pagination and bad types are 400s, CSRF and permission failures 403s, unknown paths 404s, never an
HTML page or a server error."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from registry.models import Service
from tests.support.problems import errors

pytestmark = pytest.mark.django_db
API = "/admin/api"


@pytest.fixture
def api() -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456"))
    return client


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=" + "9" * 35, "limit"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("offset=-1", "offset"),
        ("offset=1e3", "offset"),
        ("limit=5&limit=6", "limit"),
        ("enabled=", "enabled"),
        ("enabled=1", "enabled"),
    ],
)
def test_bad_list_parameters_are_400_naming_the_parameter(api: APIClient, query: str, field: str) -> None:
    response = api.get(f"{API}/services/?{query}")

    assert response.status_code == 400
    assert field in errors(response)


def test_json_bodies_need_json_types_and_known_keys(api: APIClient) -> None:
    as_text = api.post(f"{API}/services/", {"name": "A", "slug": "a", "retries": "2"}, format="json")
    unknown = api.post(f"{API}/services/", {"name": "A", "slug": "a", "colour": "blue"}, format="json")
    number_as_name = api.post(f"{API}/services/", {"name": 7, "slug": "a"}, format="json")

    assert "retries" in errors(as_text)
    assert errors(unknown) == {"colour": ["Unknown field."]}
    assert "name" in errors(number_as_name)
    assert not Service.objects.exists()


def test_a_taken_name_is_409_and_a_rule_between_fields_is_422(api: APIClient) -> None:
    api.post(f"{API}/services/", {"name": "A", "slug": "a"}, format="json")

    taken = api.post(f"{API}/services/", {"name": "A", "slug": "b"}, format="json")
    rule = api.post(f"{API}/services/", {"name": "B", "slug": "b", "publish_docs": True}, format="json")

    assert taken.status_code == 409 and "name" in errors(taken)
    assert rule.status_code == 422 and "publish_docs" in errors(rule)


def test_csrf_and_permission_failures_are_problems() -> None:
    viewer = User.objects.create_user("viewer", password="pw-viewer-123456", is_staff=True)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(viewer)

    csrf = browser.post(f"{API}/services/", {"name": "A", "slug": "a"}, content_type="application/json")
    denied = browser.get(f"{API}/services/")
    anonymous = Client().get(f"{API}/services/")

    assert csrf.status_code == 403 and csrf["X-Gateway-Error"] == "csrf_failed"
    assert denied.status_code == 403 and denied["X-Gateway-Error"] == "forbidden"
    assert anonymous.status_code == 401 and anonymous["X-Gateway-Error"] == "missing_credentials"
    for response in (csrf, denied, anonymous):
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["request_id"] == response["X-Request-ID"]


@pytest.mark.parametrize("path", [f"{API}/nowhere/", f"{API}/services/a.b/", f"{API}/compliance-jobs/x/"])
def test_an_unknown_api_path_is_a_404_problem_not_the_admin_login(api: APIClient, path: str) -> None:
    response = api.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_a_nul_byte_in_the_url_is_a_400_not_a_database_error(api: APIClient) -> None:
    assert api.get(f"{API}/services/%00/").status_code == 400
    assert api.get(f"{API}/routes/?service=%00").status_code == 400
    assert api.get(f"{API}/audit-events/?route=a%00b")["X-Gateway-Error"] == "invalid_path"


def test_the_schema_documents_the_errors_and_the_field_rules(api: APIClient) -> None:
    schema = api.get(f"{API}/schema/?format=json").json()

    create = schema["paths"]["/admin/api/routes/"]["post"]["responses"]
    assert {"201", "400", "401", "403", "409", "415", "422"} <= set(create)
    assert create["409"]["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
    route = schema["components"]["schemas"]["RouteRequest"]
    assert route["additionalProperties"] is False
    assert "/admin" in route["properties"]["path_prefix"]["pattern"]
    limit = next(p for p in schema["paths"]["/admin/api/routes/"]["get"]["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 1000)
    assert all(path.startswith("/admin/api/") for path in schema["paths"])


def test_a_nul_character_in_a_body_is_a_400_before_any_database_query(api: APIClient) -> None:
    api.post(f"{API}/consumers/", {"name": "alice"}, format="json")

    name = api.post(f"{API}/services/", {"name": "a\x00b", "slug": "a"}, format="json")
    reference = api.post(f"{API}/api-keys/", {"consumer": "ali\x00ce"}, format="json")
    metadata = api.post(f"{API}/consumers/", {"name": "bob", "metadata": {"k": "v\x00"}}, format="json")
    nested = api.post(f"{API}/consumers/", {"name": "bob", "metadata": {"k": {"deeper": 1}}}, format="json")

    assert "name" in errors(name)
    assert "consumer" in errors(reference)
    assert "metadata" in errors(metadata) and "metadata" in errors(nested)
    assert (
        api.post(f"{API}/consumers/", {"name": "bob", "metadata": {"k": [1, "x", None]}}, format="json").status_code
        == 201
    )


def test_a_list_of_names_holds_names(api: APIClient) -> None:
    Service.objects.create(name="Orders", slug="orders")

    response = api.post(
        f"{API}/routes/", {"name": "r", "service": "orders", "path_prefix": "/r", "jwt_issuers": [0]}, format="json"
    )

    assert response.status_code == 400 and "jwt_issuers" in errors(response)
