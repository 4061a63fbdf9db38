"""The admin login asks for the second factor of accounts that have one, in the same step as the
password; a session that skipped it counts as signed out."""

from __future__ import annotations

import time

import pytest
from django.test import Client, override_settings

from compliance.models import AuditEvent
from tests.mfa.support import PASSWORD, code, staff, with_app, with_backup_codes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_login_limit")]


@pytest.fixture
def no_login_limit() -> object:
    with override_settings(GATEWAY_LOGIN_RATE_LIMIT=0):
        yield


def sign_in(client: Client, username: str, otp: str = "") -> int:
    response = client.post("/admin/login/?next=/admin/", {"username": username, "password": PASSWORD, "otp_token": otp})
    return int(response.status_code)


def failures(reason: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="access.signin.failed", data__reason=reason))


def test_an_account_with_an_app_needs_its_code() -> None:
    user = staff("amy")
    with_app(user)
    client = Client()
    assert sign_in(client, "amy") == 200  # the form again, with an error
    assert [e.actor for e in failures("mfa_code_missing")] == ["amy"]
    assert sign_in(client, "amy", "000000" if code() != "000000" else "111111") == 200
    assert [e.actor for e in failures("mfa_code_invalid")] == ["amy"]
    assert client.get("/admin/").status_code == 302  # still signed out

    time.sleep(1.1)  # django-otp throttles a device after a wrong code: 1 s, doubling per failure
    assert sign_in(client, "amy", code()) == 302
    assert client.get("/admin/").status_code == 200
    (event,) = AuditEvent.objects.filter(action="access.signin.succeeded")
    assert event.actor == "amy" and event.data["mfa"] == "totpdevice" and event.source == "admin"
    # A code is good once: replaying it is refused.
    assert sign_in(Client(), "amy", code()) == 200


def test_a_backup_code_signs_in_once() -> None:
    user = staff("ben")
    with_app(user)
    with_backup_codes(user, "abcde-fghjk")
    assert sign_in(Client(), "ben", "ABCDE FGHJK") == 302
    assert sign_in(Client(), "ben", "abcde-fghjk") == 200


def test_accounts_without_a_second_factor_sign_in_with_the_password_when_optional() -> None:
    staff("cid")
    client = Client()
    assert sign_in(client, "cid") == 302
    assert client.get("/admin/").status_code == 200


def test_a_session_that_skipped_the_code_counts_as_signed_out() -> None:
    user = staff("dee")
    client = Client()
    client.force_login(user)
    assert client.get("/admin/").status_code == 200
    with_app(user)  # set up from another session: this one never gave a code
    assert client.get("/admin/").status_code == 302


@override_settings(GATEWAY_ADMIN_MFA="required")
def test_a_required_account_without_a_second_factor_reaches_only_the_enrolment_page() -> None:
    staff("eve", superuser=True)
    client = Client()
    assert sign_in(client, "eve") == 302
    response = client.get("/admin/registry/route/")
    assert response.status_code == 302 and response["Location"] == "/admin/mfa/enrol/"
    assert client.get("/admin/mfa/enrol/").status_code == 200
    assert client.get("/admin/api/services/").status_code in (401, 403)  # anonymous to the API


@override_settings(GATEWAY_ADMIN_MFA="required", GATEWAY_ADMIN_MFA_GROUPS=["compliance officer"])
def test_required_applies_to_superusers_and_the_named_groups_only() -> None:
    staff("fay")
    client = Client()
    assert sign_in(client, "fay") == 302
    assert client.get("/admin/").status_code == 200


@override_settings(GATEWAY_ADMIN_MFA="off")
def test_off_asks_no_code() -> None:
    with_app(staff("gus"))
    assert sign_in(Client(), "gus") == 302
