"""The project: settings, URLconf, ASGI entry, Celery app, health views, start commands."""

from gateway_project.celery import app as celery_app

__all__ = ["celery_app"]
