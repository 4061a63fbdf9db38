"""``/admin/api/jwt-revocations/``: add, list, change the expiry, lift; each change in Redis at once
and in the audit journal; bad entries are problem+json."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from compliance.models import AuditEvent
from proxy.redis_clients import sync_client
from revocation import store
from revocation.models import JwtRevocation
from tests.revocation.test_mirror import clear
from tests.support.problems import errors

pytestmark = [pytest.mark.django_db, pytest.mark.needs_redis]
API = "/admin/api/jwt-revocations/"


@pytest.fixture(autouse=True)
def clean_redis() -> Iterator[None]:
    clear()
    yield
    clear()


@pytest.fixture
def api() -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("root"))
    return client


def test_it_revokes_a_jti_until_the_tokens_expiry_and_journals_it(api: APIClient) -> None:
    exp = int(time.time()) + 120
    response = api.post(
        API, {"kind": "jti", "value": "abc", "expires_at": _iso(exp), "reason": "leaked"}, format="json"
    )

    assert response.status_code == 201, response.data
    assert response.data["created_by"] == "root"
    assert 118_000 < sync_client().pttl(store.JTI + "abc") <= 120_000
    event = AuditEvent.objects.get(action="gateway.jwtrevocation.created")
    assert event.actor == "root" and event.data["after"]["value"] == "abc"


def test_a_subject_revocation_defaults_to_now_and_the_configured_lifetime(api: APIClient, settings: object) -> None:
    settings.GATEWAY_JWT_REVOCATION_SECONDS = 600  # type: ignore[attr-defined]
    before = time.time()

    response = api.post(API, {"kind": "subject", "value": "ann", "issuer": "https://idp"}, format="json")

    assert response.status_code == 201, response.data
    row = JwtRevocation.objects.get()
    assert row.issued_before is not None and before - 1 < row.issued_before.timestamp() <= time.time()
    assert row.expires_at is not None and abs(row.expires_at.timestamp() - row.issued_before.timestamp() - 600) < 1
    stored = sync_client().get(store.SUBJECT + '["https://idp","ann"]').decode().split()
    assert float(stored[0]) == pytest.approx(row.issued_before.timestamp())


def test_lifting_a_revocation_removes_it_from_redis_and_is_journaled(api: APIClient) -> None:
    created = api.post(API, {"kind": "jti", "value": "gone"}, format="json").data

    assert api.delete(f"{API}{created['id']}/").status_code == 204
    assert sync_client().exists(store.JTI + "gone") == 0
    assert AuditEvent.objects.filter(action="gateway.jwtrevocation.deleted").count() == 1


def test_only_the_expiry_and_reason_change_after_saving(api: APIClient) -> None:
    created = api.post(API, {"kind": "jti", "value": "x1"}, format="json").data
    later = int(time.time()) + 3600

    response = api.patch(f"{API}{created['id']}/", {"expires_at": _iso(later), "value": "x2"}, format="json")

    assert response.status_code == 200, response.data
    assert response.data["value"] == "x1"
    assert 3_590_000 < sync_client().pttl(store.JTI + "x1") <= 3_600_000


def test_a_jti_with_a_time_is_a_rule_violation_and_a_duplicate_a_conflict(api: APIClient) -> None:
    bad = api.post(API, {"kind": "jti", "value": "y", "issued_before": _iso(time.time())}, format="json")
    assert bad.status_code == 422 and "issued_before" in errors(bad)
    assert api.post(API, {"kind": "jti", "value": "y"}, format="json").status_code == 201
    duplicate = api.post(API, {"kind": "jti", "value": "y"}, format="json")
    assert duplicate.status_code == 409, duplicate.data
    assert api.post(API, {"kind": "token", "value": "z"}, format="json").status_code == 400


def test_a_viewer_cannot_revoke_or_list(api: APIClient) -> None:
    client = APIClient()
    client.force_authenticate(User.objects.create_user("viewer", is_staff=True))

    assert client.get(API).status_code == 403
    assert client.post(API, {"kind": "jti", "value": "q"}, format="json").status_code == 403


def test_when_redis_refuses_nothing_is_saved_and_the_answer_is_503(api: APIClient, settings: object) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # type: ignore[attr-defined]

    response = api.post(API, {"kind": "jti", "value": "nowhere"}, format="json")

    assert response.status_code == 503
    assert response["X-Gateway-Error"] == "revocation_unavailable"
    assert not JwtRevocation.objects.exists()


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def test_an_admin_cannot_revoke_the_subject_of_their_own_sign_in(api: APIClient) -> None:
    root = User.objects.get(username="root")

    answer = api.post(API, {"kind": "subject", "value": str(root.pk), "issuer": "gateway"}, format="json")

    assert answer.status_code == 422 and "value" in errors(answer)
    other = api.post(API, {"kind": "subject", "value": str(root.pk), "issuer": "https://idp"}, format="json")
    assert other.status_code == 201  # another issuer's subject that happens to be the same string


def test_the_schema_offers_only_the_expiry_and_reason_to_change_and_documents_the_503(api: APIClient) -> None:
    schema = api.get("/admin/api/schema/?format=json").json()
    patch = schema["paths"]["/admin/api/jwt-revocations/{id}/"]["patch"]
    body = patch["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]

    assert set(schema["components"]["schemas"][body]["properties"]) == {"expires_at", "reason"}
    assert "application/problem+json" in patch["responses"]["503"]["content"]
    ending = schema["paths"]["/admin/api/admin-sessions/{id}/"]["delete"]["responses"]
    assert "409" in ending and "503" in ending


def test_the_admin_apis_schema_names_the_bearer_token_as_a_way_in() -> None:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert schema["paths"]["/admin/api/jwt-revocations/"]["get"]["security"] == [{"jwtAuth": []}, {"cookieAuth": []}]


def test_when_redis_refuses_the_admin_says_so_and_saves_nothing(admin_client: Any, settings: Any) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    page = admin_client.post(
        "/admin/revocation/jwtrevocation/add/",
        {"kind": "jti", "value": "admin-refused", "issuer": "", "reason": "test"},
        follow=True,
    )
    assert page.status_code == 200
    assert "Nothing was changed" in page.content.decode()
    assert not JwtRevocation.objects.filter(value="admin-refused").exists()
