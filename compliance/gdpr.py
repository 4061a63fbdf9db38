"""GDPR for a data subject (a consumer, an admin user, or a client IP): export everything held about
them, and erase it.

One contract per subject (pretix's habit): export what you are about to erase, then erase it. Audit
events are never deleted by an erasure: their personal fields (``PERSONAL_FIELDS``) are replaced by
their keyed pseudonyms and they are marked ``erased``. The chain hashes personal fields only in
their pseudonymised ("sealed") form, so every hash stays valid. The erasure itself is recorded, naming
the subject only by pseudonym.

A consumer's own row is anonymised too (renamed ``erased-<pseudonym>``, disabled, metadata and user
link cleared, every key revoked), unless the officer unticks it: the consumer stops working, which is
what a subject asking to be forgotten means for an API client. An admin user's account is left to
the gateway admins (it may be needed to sign in); only its name in the audit trail is erased.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone

from compliance import exports
from compliance.models import PERSONAL_DATA, PERSONAL_FIELDS, AuditEvent, ComplianceJob, LegalHold
from compliance.pseudonyms import pseudonym, sealed_data
from registry.auth_models import ApiKey, Consumer

KINDS = ("consumer", "user", "ip")
BATCH = 2000
KEY_FIELDS = ("prefix", "label", "created_at", "expires_at", "last_used_at", "revoked_at")  # never the digest
CONSUMER_FIELDS = ("id", "name", "roles", "enabled", "metadata", "created_at", "updated_at")
USER_FIELDS = (
    "id",
    "username",
    "email",
    "first_name",
    "last_name",
    "is_staff",
    "is_active",
    "date_joined",
    "last_login",
)


@dataclass(frozen=True, slots=True)
class Subject:
    kind: str
    value: str  # the identifier recorded in audit events: consumer id, username, or IP
    consumer: Consumer | None = None
    user: Any = None

    @property
    def pseudonym(self) -> str:
        return pseudonym(self.value)

    def events(self) -> QuerySet[AuditEvent]:
        both = [self.value, self.pseudonym]
        if self.kind == "ip":
            match = Q(client_ip__in=both)
        elif self.kind == "user":
            # What they did, and what was done to their account (access.user.*).
            match = Q(actor__in=both)
            if self.user is not None:
                match |= Q(object_type="auth.user", object_id=str(self.user.pk))
        else:
            assert self.consumer is not None
            keys = [str(pk) for pk in ApiKey.objects.filter(consumer=self.consumer).values_list("pk", flat=True)]
            match = (
                Q(consumer__in=both)
                | Q(object_type__iendswith="consumer", object_id=self.value)
                | Q(object_type__iendswith="apikey", object_id__in=keys)
            )
        return AuditEvent.objects.filter(match).order_by("seq")


def resolve_subject(kind: str, value: str) -> Subject:
    """The subject named by an officer; raises ValidationError if it does not parse or exist."""
    value = value.strip()
    if kind == "ip":
        try:
            return Subject("ip", str(ipaddress.ip_address(value)))
        except ValueError:
            raise ValidationError(f"{value!r} is not an IP address.") from None
    if kind == "consumer":
        query = Q(name=value) | Q(pk=int(value)) if value.isdigit() else Q(name=value)
        consumer = Consumer.objects.filter(query).first()
        if consumer is None:
            raise ValidationError(f"No consumer is named or numbered {value!r}.")
        return Subject("consumer", str(consumer.pk), consumer=consumer)
    if kind == "user":
        users = get_user_model().objects
        user = users.filter(pk=int(value)).first() if value.isdigit() else None
        user = user or users.filter(username=value).first()
        return Subject("user", user.get_username() if user else value, user=user)
    raise ValidationError(f"subject kind must be one of {', '.join(KINDS)}")


def _fields(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: exports._plain(getattr(obj, name)) for name in names}


def _held(subject: Subject) -> dict[str, Any]:
    held: dict[str, Any] = {}
    if subject.consumer is not None:
        consumer = subject.consumer
        held["consumer"] = _fields(consumer, CONSUMER_FIELDS) | {
            "user": consumer.user.get_username() if consumer.user else None,
            "api_keys": [_fields(k, KEY_FIELDS) for k in consumer.api_keys.order_by("created_at")],
        }
        holds = LegalHold.objects.filter(consumer=consumer)
        held["legal_holds"] = [{"reason": h.reason, "active": h.active, "created_at": exports._plain(h.created_at)}
                               for h in holds]  # fmt: skip
    if subject.user is not None:
        held["user"] = _fields(subject.user, USER_FIELDS) | {
            "groups": sorted(subject.user.groups.values_list("name", flat=True)),
        }
    return held


def subject_export_chunks(subject: Subject, tally: exports.Tally | None = None) -> Iterator[str]:
    """The subject's JSON document, in blocks: what is held about them, then their audit events."""
    head = {
        "subject": {"kind": subject.kind, "value": subject.value, "pseudonym": subject.pseudonym},
        "generated_at": timezone.now().isoformat(),
        **_held(subject),
    }
    yield json.dumps(head, indent=1)[:-2] + ',\n "audit_events": '
    yield from exports.export_chunks(subject.events(), "json", tally)
    yield "}\n"


def export_subject(kind: str, value: str) -> dict[str, Any]:
    """Everything held about a subject, as one JSON-ready document (small subjects; jobs stream it)."""
    return dict(json.loads("".join(subject_export_chunks(resolve_subject(kind, value)))))


def _write(subject: Subject, name: str) -> int:
    from compliance.services import export_dir

    tally = exports.Tally()
    with open(export_dir() / name, "w", encoding="utf-8") as out:
        for block in subject_export_chunks(subject, tally):
            out.write(block)
    return tally.rows


@dataclass(frozen=True, slots=True)
class Erasure:
    subject: str  # the subject's pseudonym
    events: int
    consumer_anonymised: bool
    export_file: str


def _erase_events(subject: Subject) -> int:
    from compliance import chain

    erased = 0
    # The admin who changed a consumer is not that consumer's data subject: actors are erased only
    # when the subject is that user.
    fields = PERSONAL_FIELDS if subject.kind == "user" else tuple(f for f in PERSONAL_FIELDS if f != "actor")
    while True:
        with chain.maintenance():
            batch = list(subject.events().filter(erased=False)[:BATCH])
            for event in batch:
                for field in fields:
                    setattr(event, field, pseudonym(getattr(event, field)))
                if event.object_type in PERSONAL_DATA:
                    event.data = sealed_data(event.data, PERSONAL_DATA[event.object_type])
                event.erased = True
            AuditEvent.objects.bulk_update(batch, [*fields, "data", "erased"])
        erased += len(batch)
        if len(batch) < BATCH:
            return erased


def _anonymise_consumer(consumer: Consumer) -> None:
    from registry.services import config_change

    now = timezone.now()
    with config_change():
        consumer.name = "erased-" + pseudonym(str(consumer.pk)).removeprefix("pseud:")[:24]
        consumer.enabled = False
        consumer.metadata = {}
        consumer.user = None
        consumer.save()
        # One save per key, not a bulk update: each revocation is recorded in the audit trail.
        for key in ApiKey.objects.filter(consumer=consumer):
            key.revoked_at = key.revoked_at or now
            key.label = ""
            key.save(update_fields=["revoked_at", "label"])


def erase_subject(
    kind: str, value: str, actor: str, anonymise_consumer: bool = True, source: str = "admin", name: str = ""
) -> Erasure:
    """Export the subject to ``name`` (under exports/), then (for a consumer) anonymise the consumer
    row, then pseudonymise their audit events, including the configuration events that the
    anonymisation itself just recorded (their "before" holds the old name); record the erasure."""
    from compliance.services import record_compliance_event

    subject = resolve_subject(kind, value)
    name = name or f"gdpr-erasure-{subject.pseudonym.removeprefix('pseud:')[:16]}-{timezone.now():%Y%m%d%H%M%S}.json"
    _write(subject, name)
    anonymised = bool(anonymise_consumer and subject.consumer is not None)
    if anonymised:
        assert subject.consumer is not None
        from registry.actors import acting_as

        # Its config event names the officer who erased, not the shell's OS user or "celery".
        with acting_as(actor, source):
            _anonymise_consumer(subject.consumer)
    events = _erase_events(subject)
    record_compliance_event(
        "compliance.gdpr.erased",
        actor,
        {"subject_kind": kind, "subject": subject.pseudonym, "events": events, "consumer_anonymised": anonymised},
        source=source,
    )
    return Erasure(subject.pseudonym, events, anonymised, name)


def run_subject_export(job: ComplianceJob) -> None:
    from compliance.services import record_compliance_event, username

    subject = resolve_subject(job.params["kind"], job.params["value"])
    job.file = f"gdpr-export-{job.pk}-{subject.pseudonym.removeprefix('pseud:')[:16]}.json"
    job.rows = _write(subject, job.file)
    record_compliance_event(
        "compliance.gdpr.exported",
        username(job.requested_by),
        {"subject_kind": subject.kind, "subject": subject.pseudonym, "events": job.rows, "job": job.pk},
        source="celery",
        object_type="compliancejob",
        object_id=str(job.pk),
    )


def run_erasure(job: ComplianceJob) -> None:
    from compliance.services import username

    kind, value = job.params["kind"], job.params["value"]
    result = erase_subject(
        kind,
        value,
        username(job.requested_by),
        anonymise_consumer=bool(job.params.get("anonymise_consumer", True)),
        source="celery",
        name=f"gdpr-erasure-{job.pk}.json",
    )
    job.rows, job.file = result.events, result.export_file
    # The job row must not keep what the erasure removed: only the pseudonym stays.
    job.params = {**job.params, "value": result.subject}
    job.save(update_fields=["params"])
