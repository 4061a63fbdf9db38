"""The Celery app: health sweeps and the audit and compliance jobs, scheduled by django-celery-beat.

    celery -A gateway_project.celery worker --beat --loglevel info   # embedded: make run starts this

The broker is ``REDIS_URL`` in production and a directory queue in ``var/`` otherwise (see settings).
Imported by ``gateway_project/__init__.py``, so it is the current app of every process and the
apps' ``shared_task``s send to its broker. Every app's ``tasks.py`` is discovered.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings")

app = Celery("gateway")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _changes_come_from_celery(**kwargs: Any) -> None:
    # A worker process only runs tasks: configuration it changes is recorded with source celery.
    from registry.actors import set_actor

    set_actor("celery", "celery")
