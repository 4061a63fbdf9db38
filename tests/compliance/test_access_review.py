"""The access review: every admin account with its groups, permissions, last sign-in and MFA
status, as CSV and JSON, for officers only, and each export recorded in the chain."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from compliance.models import AuditEvent
from mfa.models import TotpDevice
from mfa.sealing import seal

pytestmark = pytest.mark.django_db
REVIEW = reverse("admin:compliance_access_review")


@pytest.fixture
def accounts(officer: User) -> None:
    root = User.objects.create_superuser("root", "root@example.test", "pw-root-123456")
    TotpDevice.objects.create(user=root, name="app", encrypted_key=seal(b"k" * 20))
    User.objects.create_user("customer", password="pw-cust-123456")  # not an admin account


def test_the_review_lists_every_admin_account_with_groups_permissions_and_mfa(
    accounts: None, officer_client: Client
) -> None:
    response = officer_client.get(REVIEW + "?_format=json")
    assert response.status_code == 200
    rows = {r["username"]: r for r in response.json()["accounts"]}
    assert set(rows) == {"olivia", "root"}
    assert rows["root"]["superuser"] and rows["root"]["permissions"] == ["*"] and rows["root"]["mfa"]
    assert rows["root"]["mfa_methods"] == ["totpdevice"]
    olivia = rows["olivia"]
    assert olivia["groups"] == ["compliance officer"] and not olivia["mfa"]
    assert "compliance.export_auditevent" in olivia["permissions"]
    assert "registry.change_route" not in olivia["permissions"]
    assert olivia["last_sign_in"] is not None  # the officer's client signed in

    (event,) = AuditEvent.objects.filter(action="compliance.access_review.exported")
    assert event.actor == "olivia" and event.data == {"format": "json", "accounts": 2} and event.source == "admin"


def test_the_csv_has_one_row_per_account(accounts: None, officer_client: Client) -> None:
    response = officer_client.get(REVIEW + "?_format=csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["username"], r["mfa"], r["groups"]) for r in rows] == [
        ("olivia", "False", "compliance officer"),
        ("root", "True", ""),
    ]


def test_the_api_serves_it_too_and_viewers_get_nothing(accounts: None, officer: User, viewer_client: Client) -> None:
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(officer)
    assert api.get("/admin/api/access-review/?_format=json").status_code == 200
    assert AuditEvent.objects.filter(action="compliance.access_review.exported", source="api").count() == 1
    assert viewer_client.get(REVIEW).status_code == 403
    assert viewer_client.get("/admin/api/access-review/").status_code == 403
