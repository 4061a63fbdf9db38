"""Verb functions of the audit trail that the command, the Celery task and the worker call."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from compliance import chain, records
from compliance.models import AuditVerification
from compliance.stream import StreamConsumer


def verify_chain(source: str, from_seq: int | None = None, to_seq: int | None = None) -> AuditVerification:
    """Check the chain, store the run as an ``AuditVerification`` and append it to the chain itself."""
    run = AuditVerification.objects.create(source=source)
    result = chain.verify(from_seq, to_seq)
    with transaction.atomic():
        run.finished_at = timezone.now()
        run.ok = result.ok
        run.checked = result.checked
        run.first_broken_seq = result.first_broken_seq
        run.head_seq = result.head_seq
        run.head_hash = result.head_hash
        run.message = result.message
        run.save()
        verb = "succeeded" if result.ok else "failed"
        data: dict[str, Any] = {
            "verification": run.pk,
            "checked": result.checked,
            "from_seq": from_seq,
            "to_seq": to_seq,
            "first_broken_seq": result.first_broken_seq,
            "message": result.message,
        }
        chain.append(
            [
                {
                    "event_id": records.new_event_id(),
                    "kind": "compliance",
                    "at": run.finished_at,
                    "action": f"compliance.verification.{verb}",
                    "source": source,
                    "object_type": "compliance.auditverification",
                    "object_id": str(run.pk),
                    "data": data,
                }
            ]
        )
    return run


def redis_client() -> Any:
    import redis

    return redis.Redis.from_url(settings.GATEWAY_AUDIT_REDIS_URL, socket_timeout=5, socket_connect_timeout=2)


def flush_audit_stream(max_seconds: float = 50.0, consumer: str | None = None) -> int:
    """Write what the Redis audit stream holds into the chain; 0 in the embedded default (no stream)."""
    if not settings.GATEWAY_AUDIT_REDIS_URL:
        return 0
    with redis_client() as client:
        return StreamConsumer(client, settings.GATEWAY_AUDIT_STREAM, consumer=consumer).drain(max_seconds)
