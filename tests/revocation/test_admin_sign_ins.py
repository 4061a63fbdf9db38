"""An admin sees the sign-ins of an account (browser sessions and admin API tokens: when, from which
address) and ends them: the browser is signed out and the tokens refused at once, and so when the
account is deactivated. Every ending is journaled."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from compliance.models import AuditEvent
from revocation.models import AdminSession, JwtRevocation
from tests.revocation.test_mirror import clear

pytestmark = [pytest.mark.django_db, pytest.mark.needs_redis]
PASSWORD = "pw-ada-123456-long"


@pytest.fixture(autouse=True)
def clean_redis() -> Iterator[None]:
    clear()
    yield
    clear()


@pytest.fixture
def ada() -> User:
    return User.objects.create_superuser("ada", password=PASSWORD)


@pytest.fixture
def boss() -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("boss"))
    return client


def signed_in_browser() -> Client:
    browser = Client(REMOTE_ADDR="10.1.2.3", HTTP_USER_AGENT="Firefox/200")
    answer = browser.post("/admin/login/?next=/admin/", {"username": "ada", "password": PASSWORD})
    assert answer.status_code == 302 and answer["Location"] == "/admin/", answer
    assert browser.get("/admin/").status_code == 200
    return browser


def api_tokens() -> dict[str, str]:
    answer = APIClient(REMOTE_ADDR="10.9.9.9").post(
        "/admin/api/token/", {"username": "ada", "password": PASSWORD}, format="json"
    )
    assert answer.status_code == 200, answer.content
    return dict(answer.data)


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_ending_a_session_in_the_admin_signs_the_browser_out_and_is_journaled(ada: User) -> None:
    browser = signed_in_browser()
    row = AdminSession.objects.get(user=ada)
    assert (row.kind, row.address, row.user_agent) == ("session", "10.1.2.3", "Firefox/200")
    boss = Client()
    boss.force_login(User.objects.create_superuser("boss"))

    listed = boss.get("/admin/revocation/adminsession/?q=ada")
    assert listed.status_code == 200 and b"10.1.2.3" in listed.content
    ended = boss.post("/admin/revocation/adminsession/", {"action": "end", "_selected_action": [row.pk]})

    assert ended.status_code == 302
    answer = browser.get("/admin/")
    assert answer.status_code == 302 and answer["Location"].startswith("/admin/login/")
    event = AuditEvent.objects.get(action="gateway.adminsession.deleted")
    assert event.actor == "boss" and event.data["before"]["address"] == "10.1.2.3"


def test_ending_an_api_sign_in_refuses_its_access_and_refresh_tokens_at_once(ada: User, boss: APIClient) -> None:
    tokens = api_tokens()
    assert bearer(tokens["access"]).get("/admin/api/services/").status_code == 200
    refreshed = APIClient().post("/admin/api/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert refreshed.status_code == 200
    second_access = refreshed.data["access"]

    listed = boss.get("/admin/api/admin-sessions/?user=ada").data["results"]
    assert [(s["kind"], s["address"]) for s in listed] == [("api_token", "10.9.9.9")]
    assert boss.delete(f"/admin/api/admin-sessions/{listed[0]['id']}/").status_code == 204

    for access in (tokens["access"], second_access):
        refused = bearer(access).get("/admin/api/services/")
        assert refused.status_code == 401 and refused["Content-Type"] == "application/problem+json"
        assert refused.json()["detail"] == "The token has been revoked."
    again = APIClient().post("/admin/api/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert again.status_code == 401
    assert boss.get("/admin/api/admin-sessions/?user=ada").data["results"] == []
    assert JwtRevocation.objects.filter(kind="jti").count() == 3  # refresh + two access tokens
    assert AuditEvent.objects.filter(action="gateway.jwtrevocation.created", actor="boss").count() == 3


def test_deactivating_an_account_ends_its_sign_ins_and_revokes_its_gateway_tokens(ada: User) -> None:
    browser = signed_in_browser()
    tokens = api_tokens()

    ada.is_active = False
    ada.save()

    assert browser.get("/admin/")["Location"].startswith("/admin/login/")
    assert bearer(tokens["access"]).get("/admin/api/services/").status_code == 401
    assert not AdminSession.objects.filter(user=ada).exists()
    subject = JwtRevocation.objects.get(kind="subject")
    assert (subject.value, subject.issuer) == (str(ada.pk), "gateway")


def test_a_viewer_cannot_list_or_end_sign_ins(ada: User) -> None:
    api_tokens()
    viewer = APIClient()
    viewer.force_authenticate(User.objects.create_user("viewer", is_staff=True))
    row = AdminSession.objects.get()

    assert viewer.get("/admin/api/admin-sessions/").status_code == 403
    assert viewer.delete(f"/admin/api/admin-sessions/{row.pk}/").status_code == 403
    assert AdminSession.objects.filter(pk=row.pk).exists()


def test_the_sign_in_a_request_uses_cannot_end_itself(ada: User) -> None:
    tokens = api_tokens()
    row = AdminSession.objects.get()

    answer = bearer(tokens["access"]).delete(f"/admin/api/admin-sessions/{row.pk}/")

    assert answer.status_code == 409 and answer["X-Gateway-Error"] == "conflict"
    assert AdminSession.objects.filter(pk=row.pk).exists()


def test_sign_ins_that_ended_by_themselves_are_forgotten_without_a_journal_entry(ada: User) -> None:
    past = timezone.now() - timedelta(minutes=1)
    AdminSession.objects.create(user=ada, kind="api_token", key="old-jti", started_at=past, expires_at=past)
    AdminSession.objects.create(user=ada, kind="session", key="s" * 32, started_at=past)  # no such session

    api_tokens()

    assert list(AdminSession.objects.values_list("kind", flat=True)) == ["api_token"]
    assert not AuditEvent.objects.filter(action="gateway.adminsession.deleted").exists()
