"""GDPR erasure: personal fields become pseudonyms, the rest stays, the chain stays valid, the
consumer stops working, what was erased was exported first, and the erasure is recorded."""

from __future__ import annotations

import json

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from compliance import chain
from compliance.gdpr import erase_subject
from compliance.models import AuditEvent, ComplianceJob
from compliance.pseudonyms import pseudonym
from compliance.services import export_dir, run_job
from registry.actors import acting_as
from registry.models import ApiKey, Consumer
from registry.services import issue_api_key
from tests.compliance.officer_support import add, event

pytestmark = pytest.mark.django_db
GDPR = reverse("admin:compliance_compliancejob_gdpr")


@pytest.fixture
def alice() -> Consumer:
    with acting_as("ann", "admin"):  # config events: gateway.consumer.created, gateway.apikey.created
        alice = Consumer.objects.create(name="alice", metadata={"email": "alice@example.com"})
        issue_api_key(alice, label="laptop")
    add(
        event(request_id="a1", consumer=str(alice.pk), consumer_name="alice", client_ip="198.51.100.1", status=201),
        event(request_id="o1", consumer="99", consumer_name="other", client_ip="198.51.100.1"),
        event(request_id="o2", consumer="99", consumer_name="other", client_ip="198.51.100.9"),
    )
    return alice


def test_erasing_a_consumer_pseudonymises_its_events_and_keeps_the_rest(alice: Consumer) -> None:
    before = {e.request_id: e for e in AuditEvent.objects.all()}

    result = erase_subject("consumer", "alice", actor="olivia")

    erased = AuditEvent.objects.get(request_id="a1")
    # The request, the configuration events about alice (her creation, her key's issue) and those of
    # her anonymisation (her row, her key), whose "before" held her name.
    assert erased.erased and result.events == AuditEvent.objects.filter(erased=True).count() == 5
    assert not AuditEvent.objects.filter(erased=True, consumer="99").exists()
    assert erased.consumer == pseudonym(str(alice.pk)) and erased.client_ip == pseudonym("198.51.100.1")
    kept = ("seq", "hash", "prev_hash", "status", "path", "route", "service", "at", "event_id")
    assert all(getattr(erased, f) == getattr(before["a1"], f) for f in kept)
    other = AuditEvent.objects.get(request_id="o1")
    assert not other.erased and other.client_ip == "198.51.100.1"
    assert chain.verify().ok


def test_the_consumer_is_anonymised_disabled_and_its_keys_revoked(alice: Consumer) -> None:
    erase_subject("consumer", str(alice.pk), actor="olivia")

    alice.refresh_from_db()
    assert alice.name.startswith("erased-") and not alice.enabled and alice.metadata == {}
    assert all(k.revoked_at is not None and k.label == "" for k in ApiKey.objects.filter(consumer=alice))
    change = AuditEvent.objects.get(action="gateway.consumer.updated")  # recorded as the officer's change
    assert (change.actor, change.source, change.erased) == ("olivia", "admin", True)
    revoked = AuditEvent.objects.filter(action="gateway.apikey.updated")  # each revocation is recorded
    assert revoked.count() == ApiKey.objects.filter(consumer=alice).count() == 1


def test_an_erasure_leaves_no_name_or_email_in_configuration_events(alice: Consumer) -> None:
    erase_subject("consumer", "alice", actor="olivia")

    for stored in AuditEvent.objects.exclude(consumer="99"):
        text = json.dumps([stored.data, stored.consumer_name, stored.consumer])
        assert "alice@example.com" not in text and '"alice"' not in text and "laptop" not in text, stored
    assert AuditEvent.objects.get(action="gateway.consumer.created").actor == "ann"  # not the subject
    assert chain.verify().ok


def test_the_consumer_row_can_be_left_alone(alice: Consumer) -> None:
    erase_subject("consumer", "alice", actor="olivia", anonymise_consumer=False)

    alice.refresh_from_db()
    assert alice.name == "alice" and alice.enabled
    assert AuditEvent.objects.get(request_id="a1").erased


def test_what_is_erased_is_exported_first(alice: Consumer) -> None:
    result = erase_subject("consumer", "alice", actor="olivia")

    doc = json.loads((export_dir() / result.export_file).read_text())
    assert doc["consumer"]["name"] == "alice"
    exported = doc["audit_events"]
    # Every event erased, each as it was before: the request and the config events about alice (her
    # creation and her key's issue), with the real client IP and actor. The erasure also erases the
    # events of alice's anonymisation, made after the export: they hold nothing the export lacks.
    erased = AuditEvent.objects.filter(erased=True).order_by("seq")
    anonymisation = ("gateway.consumer.updated", "gateway.apikey.updated")
    before = erased.exclude(action__in=anonymisation)
    assert [e["event_id"] for e in exported] == list(before.values_list("event_id", flat=True))
    assert len(exported) == 3 and result.events == 5
    assert [(e["request_id"], e["client_ip"]) for e in exported if e["kind"] == "request"] == [("a1", "198.51.100.1")]
    config = [(e["action"], e["actor"]) for e in exported if e["kind"] == "config"]
    assert config == [("gateway.consumer.created", "ann"), ("gateway.apikey.created", "ann")]
    assert all(e.actor in ("ann", "olivia") for e in erased.filter(kind="config"))  # admins are not erased


def test_the_erasure_is_recorded_without_the_erased_identity(alice: Consumer) -> None:
    erase_subject("ip", "198.51.100.1", actor="olivia")

    record = AuditEvent.objects.get(action="compliance.gdpr.erased")
    assert record.actor == "olivia" and record.kind == "compliance"
    assert record.data == {"subject_kind": "ip", "subject": pseudonym("198.51.100.1"), "events": 2,
                           "consumer_anonymised": False}  # fmt: skip
    assert "198.51.100.1" not in json.dumps(record.data)
    assert chain.verify().ok


def test_erasing_an_ip_erases_every_personal_field_of_its_events(alice: Consumer) -> None:
    erase_subject("ip", "198.51.100.1", actor="olivia")

    other = AuditEvent.objects.get(request_id="o1")
    assert other.erased and other.client_ip == pseudonym("198.51.100.1") and other.consumer == pseudonym("99")
    assert not AuditEvent.objects.get(request_id="o2").erased


def test_a_second_erasure_finds_nothing_left(alice: Consumer) -> None:
    erase_subject("ip", "198.51.100.1", actor="olivia")
    assert erase_subject("ip", "198.51.100.1", actor="olivia").events == 0


def test_the_gdpr_page_wants_a_confirmation_to_erase(officer_client: Client, alice: Consumer) -> None:
    response = officer_client.post(GDPR, {"kind": "consumer", "value": "alice", "action": "erase"})

    assert "Tick this to erase." in response.content.decode()
    assert not AuditEvent.objects.filter(erased=True).exists()


@override_settings(GATEWAY_AUDIT_SYNC_GDPR_LIMIT=0)
def test_a_large_erasure_runs_as_a_job_that_forgets_the_subject(officer_client: Client, alice: Consumer) -> None:
    response = officer_client.post(
        GDPR, {"kind": "consumer", "value": "alice", "action": "erase", "confirm": "on", "anonymise_consumer": "on"}
    )

    assert response.status_code == 202
    job = ComplianceJob.objects.get()
    assert job.status == "pending"
    run_job(job.pk)  # what the Celery task run_compliance_job does
    job.refresh_from_db()
    # The request a1, the two config events about alice and the two of her anonymisation.
    assert (job.kind, job.status, job.rows) == ("erasure", "done", 5)
    assert job.params["value"] == pseudonym(str(alice.pk))
    erased = AuditEvent.objects.filter(erased=True).order_by("seq")
    assert list(erased.values_list("request_id", "action")) == [
        ("", "gateway.consumer.created"),
        ("", "gateway.apikey.created"),
        ("a1", "request.proxied"),
        ("", "gateway.consumer.updated"),  # her anonymisation, whose "before" held her name
        ("", "gateway.apikey.updated"),
    ]
    assert officer_client.get(reverse("admin:compliance_compliancejob_download", args=[job.pk])).status_code == 200
