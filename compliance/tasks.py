"""Thin Celery tasks: the work is in ``compliance.services``."""

from __future__ import annotations

import os
import socket

from celery import shared_task
from celery.signals import task_prerun

from compliance import services
from compliance.config_audit import acting_as, set_actor


@shared_task(name="compliance.tasks.flush_audit_events", ignore_result=True)
def flush_audit_events() -> int:
    """Safety net for the audit worker: drain the Redis audit stream with the same code."""
    return services.flush_audit_stream(consumer=f"celery-{socket.gethostname()}-{os.getpid()}")


@shared_task(name="compliance.tasks.verify_audit_chain", ignore_result=True)
def verify_audit_chain() -> bool:
    with acting_as("celery", "celery"):
        return bool(services.verify_chain("beat").ok)


@task_prerun.connect
def _changes_come_from_celery(**kwargs: object) -> None:
    # A worker process only runs tasks: configuration it changes is recorded with source celery.
    set_actor("celery", "celery")
