"""``/admin/api/token/`` asks for the code as well: an account that must use MFA gets no token
without it."""

from __future__ import annotations

import time

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from compliance.models import AuditEvent
from tests.mfa.support import PASSWORD, code, staff, with_app

pytestmark = pytest.mark.django_db


def token(username: str, otp: str | None = None) -> tuple[int, dict[str, object]]:
    data = {"username": username, "password": PASSWORD}
    if otp is not None:
        data["otp"] = otp
    with override_settings(GATEWAY_LOGIN_RATE_LIMIT=0):
        response = APIClient().post("/admin/api/token/", data, format="json")
    body = response.json()
    if response.status_code != 200:  # a problem: the reason is in X-Gateway-Error and the type
        assert body["type"] == f"urn:gateway:error:{response['X-Gateway-Error']}"
        body["reason"] = response["X-Gateway-Error"]
    return response.status_code, body


@override_settings(GATEWAY_ADMIN_MFA="required")
def test_an_mfa_required_account_gets_no_token_without_the_code() -> None:
    user = staff("root", superuser=True)
    status, body = token("root")
    assert status == 401 and body["reason"] == "mfa_enrolment_required"
    with_app(user)
    status, body = token("root")
    assert status == 401 and body["reason"] == "mfa_required"
    status, body = token("root", "12345x")
    assert status == 401 and body["reason"] == "mfa_invalid"
    time.sleep(1.1)  # a wrong code holds the device back for a second (django-otp's throttling)
    status, body = token("root", code())
    assert status == 200 and body["access"]
    reasons = list(AuditEvent.objects.filter(action="access.signin.failed").values_list("data__reason", flat=True))
    assert reasons == ["mfa_enrolment_required", "mfa_code_missing", "mfa_code_invalid"]
    (issued,) = AuditEvent.objects.filter(action="access.signin.succeeded")
    assert issued.source == "api" and issued.actor == "root"


def test_the_schema_documents_the_otp_field() -> None:
    staff_user = staff("doc", superuser=True)
    client = APIClient()
    client.force_authenticate(staff_user)
    schema = client.get("/admin/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    properties = schema["components"]["schemas"]["StaffTokenObtainPairRequest"]["properties"]  # request half
    assert "otp" in properties
