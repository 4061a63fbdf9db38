"""The hash chain itself: order, links, redelivery, sealing of personal fields, purge gaps."""

from __future__ import annotations

import json

import pytest

from compliance import chain, pseudonyms
from compliance.models import AuditEvent, ChainGap
from tests.compliance.audit_support import record

pytestmark = pytest.mark.django_db


def test_appended_events_get_consecutive_seqs_linked_in_insertion_order() -> None:
    events = chain.append([record(path="/a"), record(path="/b"), record(path="/c")])
    stored = list(AuditEvent.objects.order_by("seq"))
    assert [e.path for e in stored] == ["/a", "/b", "/c"]
    assert [e.seq for e in stored] == [1, 2, 3]
    assert stored[0].prev_hash == chain.GENESIS
    assert stored[1].prev_hash == stored[0].hash and stored[2].prev_hash == stored[1].hash
    assert [e.hash for e in events] == [e.hash for e in stored]
    assert all(e.hash == chain.link(e.prev_hash, e) for e in stored)
    more = chain.append([record(path="/d")])
    assert more[0].seq == 4 and more[0].prev_hash == stored[2].hash


def test_a_redelivered_record_is_not_stored_twice() -> None:
    batch = [record(), record()]
    chain.append(batch)
    again = chain.append([batch[1], record(), batch[0]])
    assert len(again) == 1
    assert AuditEvent.objects.count() == 3
    assert chain.verify().ok


def test_the_hash_is_an_hmac_with_the_audit_key(settings: pytest.FixtureRequest) -> None:
    chain.append([record()])
    event = AuditEvent.objects.get(seq=1)
    assert event.hash == chain.link(event.prev_hash, event)
    settings.GATEWAY_AUDIT_KEY = "another key"  # type: ignore[attr-defined]
    assert event.hash != chain.link(event.prev_hash, event)
    result = chain.verify()
    assert not result.ok and result.first_broken_seq == 1


def test_the_sealed_form_holds_personal_fields_as_pseudonyms_and_no_chain_fields() -> None:
    chain.append([record(client_ip="198.51.100.9", consumer="7", actor="")])
    event = AuditEvent.objects.get(seq=1)
    sealed = json.loads(chain.sealed_form(event))
    assert sealed["client_ip"] == pseudonyms.pseudonym("198.51.100.9")
    assert sealed["consumer"] == pseudonyms.pseudonym("7")
    assert not {"seq", "prev_hash", "hash", "erased", "id"} & set(sealed)
    assert sealed["at"].endswith("Z") and "T" in sealed["at"]


def test_erasing_personal_fields_by_their_pseudonyms_keeps_the_chain_valid() -> None:
    chain.append([record(client_ip="203.0.113.5", consumer="9"), record()])
    with chain.maintenance():
        AuditEvent.objects.filter(seq=1).update(
            client_ip=pseudonyms.pseudonym("203.0.113.5"), consumer=pseudonyms.pseudonym("9"), erased=True
        )
    assert chain.verify().ok


def test_a_verification_names_nothing_on_an_empty_chain() -> None:
    result = chain.verify()
    assert result.ok and result.checked == 0 and result.first_broken_seq is None


def test_a_purge_gap_with_a_valid_mac_is_crossed_and_a_forged_one_is_reported() -> None:
    chain.append([record() for _ in range(6)])
    third = AuditEvent.objects.get(seq=3)
    with chain.maintenance():
        AuditEvent.objects.filter(seq__lte=3).delete()
    gap = ChainGap.objects.create(seq_from=1, seq_to=3, head_hash=third.hash, mac=chain.gap_mac(1, 3, third.hash))
    result = chain.verify()
    assert result.ok and result.checked == 3
    chain.append([record()])  # the head after a purge is still the newest event
    assert AuditEvent.objects.get(seq=7).prev_hash == AuditEvent.objects.get(seq=6).hash
    ChainGap.objects.filter(pk=gap.pk).update(seq_to=4)  # a DBA widening the gap to hide event #4
    result = chain.verify()
    assert not result.ok and result.first_broken_seq == 1


def test_a_range_verification_checks_only_that_range_and_links_to_the_record_before_it() -> None:
    chain.append([record() for _ in range(5)])
    result = chain.verify(from_seq=2, to_seq=4)
    assert result.ok and result.checked == 3 and result.head_seq == 4


def test_records_are_clamped_to_the_column_sizes_and_cleaned_of_nul() -> None:
    (event,) = chain.append([record(path="/x" * 3000, method="GET\x00")])
    stored = AuditEvent.objects.get(seq=event.seq)
    assert len(stored.path) == 2000 and "\x00" not in stored.method
    assert chain.verify().ok


def test_every_field_survives_the_database_round_trip_unchanged() -> None:
    rec = record(
        headers={"user-agent": "curl/8", "x": "ü"},
        data={"upstream_ms": 0.123, "nested": {"a": [1, 2]}},
        latency_ms=0.1 + 0.2,
        bytes_in=7,
        bytes_out=2**40,
        phi=True,
        status=None,
        error_reason="",
        at=1_790_000_000.123456,
    )
    chain.append([rec])
    stored = AuditEvent.objects.get(seq=1)
    assert chain.sealed_form(stored) == chain.sealed_values(chain.normalise(rec))
    assert chain.verify().ok
