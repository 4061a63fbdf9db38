"""Retention: delete audit events past their rule, keep the chain verifiable across the hole.

Which rule applies to an event: its service's rule, else (for events of PHI routes) the PHI rule, else
the default rule, else the settings GATEWAY_AUDIT_PHI_RETENTION_DAYS / GATEWAY_AUDIT_RETENTION_DAYS
(0 there: keep forever). Events of a consumer or service under an active legal hold are never
purged, nor is the newest event (the chain head the next event links to).

Before a run of consecutive events is deleted, a ``ChainGap`` row records it with the hash of its
last event, so verification links the event after the hole to that hash; a run next to an existing
gap is merged into it (one row, a new MAC). Gap and deletion happen in one maintenance transaction
per batch, so a crash leaves either both or neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet

from compliance.models import AuditEvent, ChainGap, LegalHold, RetentionRule
from compliance.pseudonyms import pseudonym

BATCH = 5000


@dataclass(slots=True)
class PurgeResult:
    deleted: int = 0
    gaps: list[tuple[int, int]] = field(default_factory=list)  # (seq_from, seq_to) of the rows written


def expired_events(now: datetime) -> QuerySet[AuditEvent]:
    """Events past their retention rule and not under a legal hold (the head excluded)."""
    rules = list(RetentionRule.objects.select_related("service"))
    by_service = {r.service.slug: r.days for r in rules if r.service is not None}
    phi_days = next((r.days for r in rules if r.service is None and r.phi), settings.GATEWAY_AUDIT_PHI_RETENTION_DAYS)
    default_days = next(
        (r.days for r in rules if r.service is None and not r.phi), settings.GATEWAY_AUDIT_RETENTION_DAYS
    )
    expired = Q(pk__in=[])
    for slug, days in by_service.items():
        expired |= Q(service=slug, at__lt=now - timedelta(days=days))
    other = ~Q(service__in=list(by_service))
    if phi_days:
        expired |= other & Q(phi=True, at__lt=now - timedelta(days=phi_days))
    if default_days:
        expired |= other & Q(phi=False, at__lt=now - timedelta(days=default_days))

    holds = LegalHold.objects.filter(active=True)
    held_consumers = [str(pk) for pk in holds.exclude(consumer=None).values_list("consumer_id", flat=True)]
    held_services = list(holds.exclude(service=None).values_list("service__slug", flat=True))
    qs = AuditEvent.objects.filter(expired)
    if held_consumers:
        qs = qs.exclude(consumer__in=held_consumers + [pseudonym(c) for c in held_consumers])
    if held_services:
        qs = qs.exclude(service__in=held_services)
    head = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    return qs.exclude(seq=head) if head is not None else qs


def runs(seqs: list[int]) -> list[tuple[int, int]]:
    """Maximal runs of consecutive numbers in an ascending list: [1,2,3,7,8] -> [(1,3),(7,8)]."""
    out: list[tuple[int, int]] = []
    for seq in seqs:
        if out and seq == out[-1][1] + 1:
            out[-1] = (out[-1][0], seq)
        else:
            out.append((seq, seq))
    return out


def write_gap(seq_from: int, seq_to: int, head_hash: str) -> ChainGap:
    """Record the hole seq_from..seq_to, merged with a gap just before or after it."""
    from compliance import chain

    before = ChainGap.objects.filter(seq_to=seq_from - 1).first()
    after = ChainGap.objects.filter(seq_from=seq_to + 1).first()
    if before is not None:
        seq_from = before.seq_from
        before.delete()
    if after is not None:
        seq_to, head_hash = after.seq_to, after.head_hash
        after.delete()
    return ChainGap.objects.create(
        seq_from=seq_from, seq_to=seq_to, head_hash=head_hash, mac=chain.gap_mac(seq_from, seq_to, head_hash)
    )


def purge_expired(now: datetime, actor: str = "", source: str = "celery") -> PurgeResult:
    from compliance import chain
    from compliance.services import record_compliance_event

    result = PurgeResult()
    after = 0
    while True:
        with chain.maintenance():
            batch = list(expired_events(now).filter(seq__gt=after).order_by("seq").values_list("seq", "hash")[:BATCH])
            hashes = dict(batch)
            for seq_from, seq_to in runs([seq for seq, _ in batch]):
                gap = write_gap(seq_from, seq_to, hashes[seq_to])
                AuditEvent.objects.filter(seq__gte=seq_from, seq__lte=seq_to).delete()
                result.gaps.append((gap.seq_from, gap.seq_to))
            result.deleted += len(batch)
        if len(batch) < BATCH:
            break
        after = batch[-1][0]
    record_compliance_event(
        "compliance.retention.purged",
        actor,
        {"deleted": result.deleted, "gaps": [list(g) for g in result.gaps], "before": now.isoformat()},
        source=source,
    )
    return result
