"""Verb functions of the audit trail: verify the chain, drain the audit stream (the command, the Celery
tasks and the worker call these), record a compliance action in the chain, export the trail, and run
the long jobs (exports, GDPR subject exports and erasures) that Celery executes."""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone

from compliance import chain, exports, records, search, spool_drain
from compliance.models import AuditEvent, AuditVerification, ComplianceJob
from compliance.stream import StreamConsumer
from proxy.redis_clients import sync_client

log = logging.getLogger(__name__)


def record_compliance_event(
    action: str,
    actor: str,
    data: dict[str, Any],
    source: str = "admin",
    object_type: str = "",
    object_id: str = "",
) -> None:
    """Append one kind="compliance" event (an export, an erasure, a purge...) to the audit chain."""
    chain.append(
        [
            {
                "event_id": uuid.uuid4().hex,
                "kind": AuditEvent.Kind.COMPLIANCE,
                "at": timezone.now(),
                "action": action,
                "actor": actor,
                "source": source,
                "object_type": object_type,
                "object_id": object_id,
                "data": data,
            }
        ]
    )


def export_dir() -> Path:
    path = Path(settings.VAR_DIR) / "exports"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def username(user: AbstractBaseUser | AnonymousUser | None) -> str:
    return user.get_username() if user is not None and user.is_authenticated else ""


@dataclass(frozen=True, slots=True)
class ExportPlan:
    """What an export request turns into: a streamed answer now, or a job (``job`` set)."""

    params: dict[str, str]
    fmt: str
    rows: int
    job: ComplianceJob | None


def start_export(user: Any, params: Mapping[str, str], fmt: str, source: str = "admin") -> ExportPlan:
    """Stream up to GATEWAY_AUDIT_SYNC_EXPORT_LIMIT rows at once; hand larger exports to Celery.

    A synchronous export is recorded here, before the first byte leaves, with its row count; a job
    records itself when its file is written. Raises ValidationError on a bad filter or format.
    """
    from django.core.exceptions import ValidationError

    if fmt not in exports.FORMATS:
        raise ValidationError(f"format must be one of {', '.join(exports.FORMATS)}")
    clean = search.clean_params(params)
    qs = search.search_events(clean)
    limit = settings.GATEWAY_AUDIT_SYNC_EXPORT_LIMIT
    rows = qs[: limit + 1].count()  # bounded: never a full count of a huge result
    if rows <= limit:
        record_compliance_event(
            "compliance.export.created",
            username(user),
            {"filters": clean, "format": fmt, "rows": rows, "delivery": "stream"},
            source=source,
        )
        return ExportPlan(clean, fmt, rows, None)
    job = ComplianceJob.objects.create(
        kind=ComplianceJob.Kind.EXPORT,
        params={"filters": clean, "format": fmt},
        requested_by=user if getattr(user, "pk", None) else None,
    )
    enqueue(job)
    return ExportPlan(clean, fmt, rows, job)


def enqueue(job: ComplianceJob) -> None:
    """Send the job to Celery once the row that names it is committed."""
    from compliance.tasks import export_audit_events, run_compliance_job

    task = export_audit_events if job.kind == ComplianceJob.Kind.EXPORT else run_compliance_job

    def send() -> None:
        try:
            task.apply_async((job.pk,), retry=False)  # fail now, not after kombu's retries
        except Exception as exc:
            log.warning("compliance job %s could not be queued: %s", job.pk, exc)
            ComplianceJob.objects.filter(pk=job.pk).update(
                status=ComplianceJob.Status.FAILED, error=f"not queued: {exc}", finished_at=timezone.now()
            )

    transaction.on_commit(send)


def run_export(job: ComplianceJob) -> None:
    fmt = job.params["format"]
    filters = job.params.get("filters", {})
    name = f"audit-export-{job.pk}-{secrets.token_hex(8)}.{exports.FORMATS[fmt][1]}"
    path = export_dir() / name
    job.rows = exports.write_export(search.search_events(filters), fmt, str(path))
    job.file = name
    record_compliance_event(
        "compliance.export.created",
        username(job.requested_by),
        {"filters": filters, "format": fmt, "rows": job.rows, "delivery": "job", "job": job.pk},
        source="celery",
        object_type="compliancejob",
        object_id=str(job.pk),
    )


def run_job(job_id: int) -> ComplianceJob:
    """Run one ComplianceJob to completion (called by the Celery task, or inline for small jobs)."""
    from compliance import gdpr

    with transaction.atomic():
        job = ComplianceJob.objects.select_for_update(of=("self",)).select_related("requested_by").get(pk=job_id)
        if job.status != ComplianceJob.Status.PENDING:
            return job  # a redelivered task: it ran, or runs, elsewhere
        job.status = ComplianceJob.Status.RUNNING
        job.save(update_fields=["status"])
    try:
        if job.kind == ComplianceJob.Kind.EXPORT:
            run_export(job)
        elif job.kind == ComplianceJob.Kind.SUBJECT_EXPORT:
            gdpr.run_subject_export(job)
        else:
            gdpr.run_erasure(job)
        job.status = ComplianceJob.Status.DONE
    except Exception as exc:
        log.exception("compliance job %s failed", job.pk)
        job.status = ComplianceJob.Status.FAILED
        job.error = f"{type(exc).__name__}: {exc}"
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "rows", "file", "error", "finished_at"])
    return job


def job_file(job: ComplianceJob) -> Path | None:
    """The job's file, if it is done and the file still exists (never a path outside exports/)."""
    if job.status != ComplianceJob.Status.DONE or not job.file or "/" in job.file or job.file.startswith("."):
        return None
    path = export_dir() / job.file
    return path if path.is_file() else None


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
    # The stream consumer blocks on XREADGROUP for up to a few seconds: a longer call timeout.
    return sync_client(settings.GATEWAY_AUDIT_REDIS_URL, timeout=5, connect_timeout=2)


def ship_local_spools(max_seconds: float = 0.0) -> int:
    """The spools on this host (``compliance.spool_drain``): without Redis every one, into the chain
    (the embedded default's writer); with Redis those of stopped processes, into the stream.
    Returns the records shipped."""
    directory = Path(settings.GATEWAY_AUDIT_SPOOL_DIR)
    if not settings.GATEWAY_AUDIT_REDIS_URL:
        return spool_drain.ship_spools(directory, spool_drain.chain_writer(), max_seconds=max_seconds).records
    with redis_client() as client:
        write = spool_drain.stream_writer(client, settings.GATEWAY_AUDIT_STREAM)
        return spool_drain.ship_spools(directory, write, dead_only=True, max_seconds=max_seconds).records


def flush_audit_stream(max_seconds: float = 50.0, consumer: str | None = None) -> int:
    """Write what this host's spools and the Redis audit stream hold into the chain; the records written."""
    shipped = ship_local_spools(max_seconds)
    if not settings.GATEWAY_AUDIT_REDIS_URL:
        return shipped
    with redis_client() as client:
        return StreamConsumer(client, settings.GATEWAY_AUDIT_STREAM, consumer=consumer).drain(max_seconds)
