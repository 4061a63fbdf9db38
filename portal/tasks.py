"""Thin Celery tasks: the work is in ``portal.services``."""

from __future__ import annotations

from celery import shared_task

from portal import services


@shared_task(name="portal.tasks.refresh_documents", ignore_result=True)
def refresh_documents() -> int:
    """Fetch every documented service's OpenAPI document (django-celery-beat runs this; see the
    PeriodicTask "gateway API document refresh"). Returns how many were refreshed without error."""
    return sum(result.ok for result in services.refresh_documents())


@shared_task(name="portal.tasks.refresh_document", ignore_result=True)
def refresh_document(service_id: int) -> bool:
    from registry.models import Service

    service = Service.objects.filter(pk=service_id).prefetch_related("targets").first()
    return service is not None and services.refresh_document(service).ok
