"""Thin Celery tasks of the compliance officer's tools; the work is in services, gdpr and retention.

Bound to the project's app (not shared_task), so a web process that has not imported
``gateway_project.celery`` still sends them to the configured broker."""

from __future__ import annotations

from django.utils import timezone

from gateway_project.celery import app


@app.task(name="compliance.tasks.run_compliance_job", acks_late=True)
def run_compliance_job(job_id: int) -> str:
    """An export, GDPR subject export or erasure (ComplianceJob); the officer polls its page."""
    from compliance.services import run_job

    return str(run_job(job_id).status)


@app.task(name="compliance.tasks.export_audit_events", acks_late=True)
def export_audit_events(job_id: int) -> str:
    """An audit export job (the same runner as run_compliance_job, under the name of its kind)."""
    from compliance.services import run_job

    return str(run_job(job_id).status)


@app.task(name="compliance.tasks.purge_audit_events")
def purge_audit_events() -> int:
    """Daily (Periodic tasks: audit retention purge): delete events past their retention rule."""
    from compliance.retention import purge_expired

    return purge_expired(timezone.now()).deleted
