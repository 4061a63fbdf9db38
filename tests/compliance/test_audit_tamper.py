"""Tampering done directly in SQL, as a DBA could (inside a maintenance transaction, so the triggers
let it through): ``audit_verify`` finds it and names the first broken record."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection

from compliance import chain
from compliance.models import AuditEvent, AuditVerification
from compliance.services import verify_chain
from tests.compliance.audit_support import record

pytestmark = pytest.mark.django_db


def _verify() -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit_verify", stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code or 0), err.getvalue()
    return 0, out.getvalue()


def _sql(statement: str, params: list[int]) -> None:
    with chain.maintenance(), connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.fixture
def ten() -> None:
    chain.append([record(path=f"/p/{i}") for i in range(10)])


def test_an_intact_chain_verifies_with_exit_code_0(ten: None) -> None:
    code, out = _verify()
    assert code == 0 and "OK" in out


def test_an_updated_record_is_reported(ten: None) -> None:
    _sql("UPDATE compliance_auditevent SET status = 500 WHERE seq = %s", [4])
    code, err = _verify()
    assert code == 1 and "#4" in err and "altered" in err


def test_a_deleted_record_is_reported(ten: None) -> None:
    _sql("DELETE FROM compliance_auditevent WHERE seq = %s", [6])
    code, err = _verify()
    assert code == 1 and "#6" in err and "missing" in err


def test_a_deleted_record_with_the_following_seqs_renumbered_is_reported(ten: None) -> None:
    _sql("DELETE FROM compliance_auditevent WHERE seq = %s", [6])
    _sql("UPDATE compliance_auditevent SET seq = seq - 1 WHERE seq > %s", [6])
    code, err = _verify()
    assert code == 1 and "#6" in err


def test_an_inserted_forged_record_is_reported(ten: None) -> None:
    last = AuditEvent.objects.get(seq=10)
    forged = chain.build_event(record(path="/forged"))
    forged.seq, forged.prev_hash, forged.hash = 11, last.hash, "f" * 64  # no key: the hash cannot be right
    forged.save()
    code, err = _verify()
    assert code == 1 and "#11" in err


def test_a_forged_record_with_a_recomputed_plain_sha256_is_reported(ten: None) -> None:
    import hashlib

    last = AuditEvent.objects.get(seq=10)
    forged = chain.build_event(record(path="/forged"))
    forged.seq, forged.prev_hash = 11, last.hash
    forged.hash = hashlib.sha256(last.hash.encode() + chain.sealed_form(forged)).hexdigest()
    forged.save()
    code, err = _verify()
    assert code == 1 and "#11" in err


def test_deleting_the_newest_records_is_reported_against_the_last_verification(ten: None) -> None:
    assert verify_chain("command").ok  # sees the head #10 (and appends itself as #11)
    _sql("DELETE FROM compliance_auditevent WHERE seq >= %s", [9])
    code, err = _verify()
    assert code == 1 and "#9" in err and "missing" in err


def test_each_run_is_stored_and_appended_to_the_chain(ten: None) -> None:
    _verify()
    run = AuditVerification.objects.get()
    assert run.ok and run.head_seq == 10 and run.checked == 10 and run.source == "command"
    event = AuditEvent.objects.get(seq=11)
    assert event.action == "compliance.verification.succeeded" and event.object_id == str(run.pk)
    _sql("UPDATE compliance_auditevent SET path = '/x' WHERE seq = %s", [2])
    _verify()
    failed = AuditVerification.objects.order_by("-pk").first()
    assert failed is not None and not failed.ok and failed.first_broken_seq == 2
    assert AuditEvent.objects.order_by("-seq").first().action == "compliance.verification.failed"  # type: ignore[union-attr]


def test_a_range_can_be_verified_from_the_command(ten: None) -> None:
    _sql("UPDATE compliance_auditevent SET status = 500 WHERE seq = %s", [8])
    out = io.StringIO()
    call_command("audit_verify", "--from", "2", "--to", "5", stdout=out)
    assert "OK" in out.getvalue()
    with pytest.raises(SystemExit):
        call_command("audit_verify", "--from", "6", "--to", "9", stdout=io.StringIO(), stderr=io.StringIO())
