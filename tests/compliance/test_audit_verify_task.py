"""The daily Celery beat job verifies the chain and records the result, in the chain too."""

from __future__ import annotations

import pytest
from django_celery_beat.models import PeriodicTask

from compliance import chain
from compliance.models import AuditEvent, AuditVerification
from compliance.tasks import flush_audit_events, verify_audit_chain
from tests.compliance.audit_support import record

pytestmark = pytest.mark.django_db


def test_the_verification_and_the_safety_flush_are_scheduled() -> None:
    verify = PeriodicTask.objects.get(task="compliance.tasks.verify_audit_chain")
    assert verify.enabled and verify.crontab is not None and verify.crontab.hour == "3"
    flush = PeriodicTask.objects.get(task="compliance.tasks.flush_audit_events")
    assert flush.enabled and flush.interval is not None


def test_the_task_records_a_successful_run_in_the_table_and_the_chain() -> None:
    chain.append([record(), record()])
    assert verify_audit_chain.apply().get() is True
    run = AuditVerification.objects.get()
    assert run.ok and run.source == "beat" and run.checked == 2 and run.finished_at is not None
    last = AuditEvent.objects.order_by("-seq").first()
    assert last is not None and last.action == "compliance.verification.succeeded" and last.source == "beat"


def test_the_task_records_a_broken_chain() -> None:
    chain.append([record(), record(), record()])
    with chain.maintenance():
        AuditEvent.objects.filter(seq=2).update(status=418)
    assert verify_audit_chain.apply().get() is False
    run = AuditVerification.objects.get()
    assert run.ok is False and run.first_broken_seq == 2


def test_the_safety_flush_has_nothing_to_do_without_a_stream(settings: pytest.FixtureRequest) -> None:
    settings.GATEWAY_AUDIT_REDIS_URL = ""  # type: ignore[attr-defined]
    assert flush_audit_events.apply().get() == 0
