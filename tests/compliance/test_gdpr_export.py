"""GDPR subject export: everything held about a consumer, an admin user or an IP, as one JSON document."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from compliance.gdpr import export_subject
from compliance.models import AuditEvent, ComplianceJob, LegalHold
from compliance.pseudonyms import pseudonym
from compliance.services import export_dir
from registry.actors import acting_as
from registry.models import ApiKey, Consumer
from registry.services import issue_api_key
from tests.compliance.officer_support import add, event, streamed

pytestmark = pytest.mark.django_db
GDPR = reverse("admin:compliance_compliancejob_gdpr")


@pytest.fixture
def alice() -> Consumer:
    """Alice and bob as the admin makes them: each change records its config event (control-plane audit)."""
    with acting_as("root", "admin"):
        alice = Consumer.objects.create(name="alice", metadata={"email": "alice@example.com"})  # created
        bob = Consumer.objects.create(name="bob")  # bob: created
        issue_api_key(alice, label="laptop")  # apikey created
        issue_api_key(bob, label="bob's")  # bob's apikey: created
        alice.roles = "orders:read"
        alice.save()  # updated
        bob.roles = "orders:read"
        bob.save()  # bob: updated
        LegalHold.objects.create(consumer=alice, reason="case 7")
    add(
        event(request_id="a1", consumer=str(alice.pk), consumer_name="alice", client_ip="198.51.100.1"),
        event(request_id="a2", consumer=str(alice.pk), consumer_name="alice", client_ip="198.51.100.2", status=429),
        event(request_id="b1", consumer=str(bob.pk), consumer_name="bob", client_ip="198.51.100.1"),
    )
    return alice


def test_a_consumer_export_holds_the_row_its_keys_events_and_config_changes(alice: Consumer) -> None:
    doc = export_subject("consumer", "alice")

    assert doc["subject"] == {"kind": "consumer", "value": str(alice.pk), "pseudonym": pseudonym(str(alice.pk))}
    assert doc["consumer"]["name"] == "alice" and doc["consumer"]["metadata"] == {"email": "alice@example.com"}
    (key,) = doc["consumer"]["api_keys"]
    assert key["label"] == "laptop" and key["prefix"] and "digest" not in key
    assert doc["legal_holds"][0]["reason"] == "case 7"
    events = doc["audit_events"]
    assert [e["request_id"] for e in events if e["kind"] == "request"] == ["a1", "a2"]
    config = [e for e in events if e["kind"] == "config"]
    assert [e["action"] for e in config] == [
        "gateway.consumer.created",
        "gateway.apikey.created",
        "gateway.consumer.updated",
    ]
    alices_key = str(ApiKey.objects.get(consumer=alice).pk)
    assert [e["object_id"] for e in config] == [str(alice.pk), alices_key, str(alice.pk)]
    assert config[2]["actor"] == "root" and config[2]["data"]["changed"] == ["roles"]
    assert (config[2]["data"]["before"]["roles"], config[2]["data"]["after"]["roles"]) == ("", "orders:read")


def test_an_ip_export_holds_the_events_of_that_ip_recorded_plainly_or_as_a_pseudonym(alice: Consumer) -> None:
    add(event(request_id="p1", client_ip=pseudonym("198.51.100.1")))

    doc = export_subject("ip", "198.51.100.1")

    assert sorted(e["request_id"] for e in doc["audit_events"]) == ["a1", "b1", "p1"]
    assert "consumer" not in doc


def test_a_user_export_holds_the_account_and_what_they_did() -> None:
    root = User.objects.create_user("root", email="root@example.com", is_staff=True)
    add(event(request_id="", kind="config", action="gateway.route.created", actor="root"), event(actor="other"))

    doc = export_subject("user", str(root.pk))

    assert doc["user"]["email"] == "root@example.com" and doc["user"]["groups"] == []
    # What was done to their account (it was created), and what they did.
    assert [e["action"] for e in doc["audit_events"]] == ["access.user.created", "gateway.route.created"]


@pytest.mark.parametrize(
    ("kind", "value", "error"),
    [("ip", "10.0.0.300", "is not an IP address"), ("consumer", "nobody", "No consumer is named"),
     ("consumer", "", "This field is required")],
)  # fmt: skip
def test_the_gdpr_page_refuses_a_subject_that_does_not_parse_or_exist(
    officer_client: Client, kind: str, value: str, error: str
) -> None:
    response = officer_client.post(GDPR, {"kind": kind, "value": value, "action": "export"})

    assert response.status_code == 200
    assert error in response.content.decode()
    assert not ComplianceJob.objects.exists()


def test_the_gdpr_page_exports_a_subject_and_records_it_by_pseudonym(officer_client: Client, alice: Consumer) -> None:
    response = officer_client.post(GDPR, {"kind": "consumer", "value": "alice", "action": "export"})

    job = ComplianceJob.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{job.pk}/change/")
    # Alice's two requests and the three config events about her (created, key issued, updated).
    assert (job.kind, job.status, job.rows) == ("subject_export", "done", 5)
    download = officer_client.get(reverse("admin:compliance_compliancejob_download", args=[job.pk]))
    doc = json.loads(streamed(download))
    assert doc["consumer"]["name"] == "alice" and len(doc["audit_events"]) == 5
    assert [e["request_id"] for e in doc["audit_events"] if e["kind"] == "request"] == ["a1", "a2"]
    record = AuditEvent.objects.get(action="compliance.gdpr.exported")
    assert record.actor == "olivia" and record.data["subject"] == pseudonym(str(alice.pk))
    assert "alice" not in json.dumps(record.data)
    assert (export_dir() / job.file).is_file()
