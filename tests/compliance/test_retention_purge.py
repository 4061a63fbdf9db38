"""The retention purge: which rule applies, legal holds, the gaps it leaves (merged when adjacent),
a chain that still verifies, and the purge recorded."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.test import override_settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from compliance import chain
from compliance.models import AuditEvent, ChainGap, LegalHold, RetentionRule
from compliance.pseudonyms import pseudonym
from compliance.retention import purge_expired, runs
from compliance.tasks import purge_audit_events
from registry.models import Consumer, Service
from tests.compliance.officer_support import add, event, mark_erased

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def aged(days: int, **fields: object) -> dict[str, object]:
    return event(at=NOW - timedelta(days=days), **fields)


def left() -> list[str]:
    """The request ids of the proxied requests left (the config events of the rules, holds and
    services a test makes are recorded now, after ``NOW``, so no rule ever expires them)."""
    return list(AuditEvent.objects.filter(kind="request").order_by("seq").values_list("request_id", flat=True))


def test_runs_are_maximal_consecutive_stretches() -> None:
    assert runs([1, 2, 3, 7, 8, 10]) == [(1, 3), (7, 8), (10, 10)]
    assert runs([]) == []


def test_the_default_retention_removes_old_events_and_leaves_a_verifiable_gap() -> None:
    add(
        aged(200, request_id="old1"),
        aged(100, request_id="old2"),
        aged(10, request_id="new1"),
        aged(1, request_id="new2"),
    )
    hash_of_old2 = AuditEvent.objects.get(request_id="old2").hash

    result = purge_expired(NOW)

    assert left() == ["new1", "new2"]
    gap = ChainGap.objects.get()
    assert (gap.seq_from, gap.seq_to, gap.head_hash) == (1, 2, hash_of_old2)
    assert gap.mac == chain.gap_mac(1, 2, hash_of_old2)
    assert result.deleted == 2
    assert chain.verify().ok


def test_a_forged_gap_is_detected_by_verification() -> None:
    add(aged(200, request_id="old"), aged(1, request_id="new"))
    purge_expired(NOW)

    ChainGap.objects.update(seq_to=5)

    assert not chain.verify().ok


def test_service_rules_win_then_the_phi_rule_then_the_default_rule() -> None:
    shop = Service.objects.create(name="Shop", slug="shop")
    RetentionRule.objects.create(service=shop, days=5)
    RetentionRule.objects.create(phi=True, days=400)
    RetentionRule.objects.create(days=30)
    add(
        aged(6, request_id="shop-6d", service="shop"),
        aged(6, request_id="shop-phi-6d", service="shop", phi=True),
        aged(300, request_id="phi-300d", service="clinic", phi=True),
        aged(500, request_id="phi-500d", service="clinic", phi=True),
        aged(20, request_id="other-20d", service="other"),
        aged(40, request_id="other-40d", service="other"),
        aged(0, request_id="head", service="other"),
    )

    purge_expired(NOW)

    assert left() == ["phi-300d", "other-20d", "head"]
    assert chain.verify().ok


@override_settings(GATEWAY_AUDIT_RETENTION_DAYS=0, GATEWAY_AUDIT_PHI_RETENTION_DAYS=10)
def test_without_rules_the_settings_apply_and_zero_keeps_forever() -> None:
    add(aged(5000, request_id="ancient"), aged(20, request_id="phi", phi=True), aged(1, request_id="head"))

    purge_expired(NOW)

    assert left() == ["ancient", "head"]


def test_legal_holds_keep_a_consumers_and_a_services_events() -> None:
    alice = Consumer.objects.create(name="alice")
    billing = Service.objects.create(name="Billing", slug="billing")
    LegalHold.objects.create(consumer=alice, reason="litigation")
    LegalHold.objects.create(service=billing, reason="audit")
    LegalHold.objects.create(service=Service.objects.create(name="Shop", slug="shop"), reason="over", active=False)
    add(
        aged(200, request_id="x1"),
        aged(200, request_id="alice", consumer=str(alice.pk)),
        aged(200, request_id="alice-erased", consumer=pseudonym(str(alice.pk))),
        aged(200, request_id="x2"),
        aged(200, request_id="billing", service="billing"),
        aged(200, request_id="x3"),
        aged(1, request_id="head"),
    )
    mark_erased(request_id="alice-erased")
    # The consumer, services and holds above recorded their config events first: x1 is not seq 1.
    seq = dict(AuditEvent.objects.filter(kind="request").values_list("request_id", "seq"))
    assert AuditEvent.objects.filter(kind="config", seq__lt=seq["x1"]).count() == 6

    purge_expired(NOW)

    assert left() == ["alice", "alice-erased", "billing", "head"]
    assert AuditEvent.objects.filter(kind="config").count() == 6
    singles = [(seq[r], seq[r]) for r in ("x1", "x2", "x3")]
    assert list(ChainGap.objects.values_list("seq_from", "seq_to")) == singles
    assert chain.verify().ok


def test_a_purge_next_to_an_earlier_gap_merges_into_one() -> None:
    add(aged(300, request_id="a"), aged(200, request_id="b"), aged(100, request_id="c"), aged(60, request_id="d"),
        aged(1, request_id="head"))  # fmt: skip
    RetentionRule.objects.create(days=250)
    purge_expired(NOW)
    assert list(ChainGap.objects.values_list("seq_from", "seq_to")) == [(1, 1)]

    RetentionRule.objects.update(days=50)
    purge_expired(NOW)

    gap = ChainGap.objects.get()
    assert (gap.seq_from, gap.seq_to) == (1, 4)
    assert gap.head_hash == AuditEvent.objects.get(request_id="head").prev_hash
    assert gap.mac == chain.gap_mac(1, 4, gap.head_hash)
    assert left() == ["head"]
    assert chain.verify().ok


def test_the_newest_event_is_never_purged() -> None:
    add(aged(300, request_id="a"), aged(300, request_id="b"))

    purge_expired(NOW)

    assert left() == ["b"]
    add(aged(0, request_id="next"))
    assert chain.verify().ok


def test_the_purge_is_recorded_in_the_chain() -> None:
    add(aged(300, request_id="a"), aged(1, request_id="b"))

    purge_audit_events()  # the Celery beat task

    record = AuditEvent.objects.get(action="compliance.retention.purged")
    assert record.source == "celery" and record.data["deleted"] == 1 and record.data["gaps"] == [[1, 1]]
    assert chain.verify().ok


def test_the_purge_is_scheduled_daily_by_a_migration() -> None:
    PeriodicTask.objects.filter(name="audit retention purge").delete()
    importlib.import_module("compliance.migrations.0005_purge_schedule").create_schedule(django_apps, None)

    task = PeriodicTask.objects.get(name="audit retention purge")
    assert task.task == "compliance.tasks.purge_audit_events"
    assert (task.crontab.hour, task.crontab.minute) == ("3", "30")
