"""Sign-ins are in the chain: admin and admin API successes and failures (the username tried, never
the password), sign-outs, password changes; the officer's search finds them by kind and action."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings
from rest_framework.test import APIClient

from compliance.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_login_limit")]
PASSWORD = "pw-signin-123456"


@pytest.fixture
def no_login_limit() -> object:
    with override_settings(GATEWAY_LOGIN_RATE_LIMIT=0):
        yield


def access(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(kind="access", action=action).order_by("seq"))


def test_admin_sign_in_failure_and_sign_out_are_recorded_without_the_password() -> None:
    User.objects.create_user("ops", password=PASSWORD, is_staff=True)
    client = Client(REMOTE_ADDR="192.0.2.44")
    client.post("/admin/login/", {"username": "ops", "password": "wrong-guess-987"})
    client.post("/admin/login/", {"username": "nobody", "password": "wrong-guess-987"})
    assert client.post("/admin/login/", {"username": "ops", "password": PASSWORD}).status_code == 302
    client.post("/admin/logout/")

    failed = access("access.signin.failed")
    assert [(e.actor, e.data["reason"], e.source, e.client_ip) for e in failed] == [
        ("ops", "credentials", "admin", "192.0.2.44"),
        ("nobody", "credentials", "admin", "192.0.2.44"),
    ]
    (ok,) = access("access.signin.succeeded")
    assert (ok.actor, ok.source, ok.data["mfa"]) == ("ops", "admin", None)
    assert [e.actor for e in access("access.signout")] == ["ops"]
    everything = str(list(AuditEvent.objects.values_list("data", "actor")))
    assert "wrong-guess-987" not in everything and PASSWORD not in everything


def test_a_non_staff_account_is_refused_and_recorded_as_such() -> None:
    User.objects.create_user("guest", password=PASSWORD)
    Client().post("/admin/login/", {"username": "guest", "password": PASSWORD})
    APIClient().post("/admin/api/token/", {"username": "guest", "password": PASSWORD}, format="json")
    failed = access("access.signin.failed")
    assert [(e.actor, e.data["reason"], e.source) for e in failed] == [
        ("guest", "not_staff", "admin"),
        ("guest", "not_staff", "api"),
    ]


def test_api_tokens_are_recorded_like_sign_ins_and_set_the_last_sign_in() -> None:
    user = User.objects.create_user("bot", password=PASSWORD, is_staff=True)
    api = APIClient()
    assert api.post("/admin/api/token/", {"username": "bot", "password": "nope"}, format="json").status_code == 401
    assert api.post("/admin/api/token/", {"username": "bot", "password": PASSWORD}, format="json").status_code == 200
    assert [(e.actor, e.source) for e in access("access.signin.failed")] == [("bot", "api")]
    assert [(e.actor, e.source) for e in access("access.signin.succeeded")] == [("bot", "api")]
    user.refresh_from_db()
    assert user.last_login is not None  # what the access review shows


def test_a_password_change_is_recorded_without_the_password() -> None:
    user = User.objects.create_user("pia", password=PASSWORD, is_staff=True)
    client = Client()
    client.force_login(user)
    response = client.post(
        "/admin/password_change/",
        {"old_password": PASSWORD, "new_password1": "another-pw-4567890", "new_password2": "another-pw-4567890"},
    )
    assert response.status_code == 302
    (changed,) = access("access.password.changed")
    assert changed.actor == "pia" and changed.object_id == str(user.pk) and changed.data["changed"] == ["password"]
    assert "another-pw-4567890" not in str(changed.data)
