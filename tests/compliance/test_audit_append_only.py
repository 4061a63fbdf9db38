"""Postgres refuses UPDATE and DELETE of audit events outside a maintenance transaction."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from compliance import chain
from compliance.models import AuditEvent
from tests.compliance.audit_support import record

pytestmark = [pytest.mark.django_db, pytest.mark.needs_postgres]


@pytest.fixture
def event() -> AuditEvent:
    chain.append([record()])
    return AuditEvent.objects.get(seq=1)


def test_a_plain_update_is_refused(event: AuditEvent) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(status=500)
    assert AuditEvent.objects.get(pk=event.pk).status == 200


def test_a_plain_delete_is_refused_even_in_raw_sql(event: AuditEvent) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM compliance_auditevent")
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_maintenance_transaction_may_update_and_delete(event: AuditEvent) -> None:
    with chain.maintenance():
        AuditEvent.objects.filter(pk=event.pk).update(erased=True)
    assert AuditEvent.objects.get(pk=event.pk).erased
    with chain.maintenance():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert not AuditEvent.objects.exists()


def test_the_maintenance_setting_ends_with_its_transaction(event: AuditEvent) -> None:
    with chain.maintenance():
        pass
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(status=201)
