"""Thin Celery tasks: the work is in ``compliance.services``, ``gdpr`` and ``retention``."""

from __future__ import annotations

import os
import socket

from celery import shared_task
from django.utils import timezone

from compliance import services
from registry.actors import acting_as


@shared_task(name="compliance.tasks.flush_audit_events", ignore_result=True)
def flush_audit_events() -> int:
    """Safety net for the audit worker: ship this host's spools and drain the Redis audit stream with
    the same code."""
    return services.flush_audit_stream(consumer=f"celery-{socket.gethostname()}-{os.getpid()}")


@shared_task(name="compliance.tasks.verify_audit_chain", ignore_result=True)
def verify_audit_chain() -> bool:
    with acting_as("celery", "celery"):
        return bool(services.verify_chain("beat").ok)


@shared_task(name="compliance.tasks.run_compliance_job", acks_late=True)
def run_compliance_job(job_id: int) -> str:
    """An export, GDPR subject export or erasure (ComplianceJob); the officer polls its page."""
    return str(services.run_job(job_id).status)


@shared_task(name="compliance.tasks.export_audit_events", acks_late=True)
def export_audit_events(job_id: int) -> str:
    """An audit export job (the same runner as run_compliance_job, under the name of its kind)."""
    return str(services.run_job(job_id).status)


@shared_task(name="compliance.tasks.purge_audit_events")
def purge_audit_events() -> int:
    """Daily (Periodic tasks: audit retention purge): delete events past their retention rule."""
    from compliance.retention import purge_expired

    return purge_expired(timezone.now()).deleted
