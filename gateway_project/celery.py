"""The Celery app: health sweeps (``breaker.tasks.probe_targets``), scheduled by django-celery-beat.

    celery -A gateway_project.celery worker --beat --loglevel info   # embedded: make run starts this

The broker is ``REDIS_URL`` in production and a directory queue in ``var/`` otherwise (see settings).
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings")

app = Celery("gateway")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["breaker", "compliance"])
