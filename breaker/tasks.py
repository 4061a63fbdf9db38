"""Thin Celery tasks: the work is in ``breaker.services``."""

from __future__ import annotations

from celery import shared_task

from breaker import services


@shared_task(name="breaker.tasks.probe_targets", ignore_result=True)
def probe_targets() -> int:
    """Probe every target that is due (django-celery-beat runs this; see the sweep's PeriodicTask)."""
    return len(services.sweep())
