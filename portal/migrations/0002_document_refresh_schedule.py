from __future__ import annotations

from typing import Any

from django.db import migrations

REFRESH = "gateway API document refresh"


def create_schedule(apps: Any, schema_editor: Any) -> None:
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = interval_model.objects.get_or_create(every=5, period="minutes")
    task_model.objects.get_or_create(
        name=REFRESH,
        defaults={
            "task": "portal.tasks.refresh_documents",
            "interval": every,
            "expire_seconds": 240,  # a refresh queued while no worker ran is replaced by the next one
            "description": "Fetch each documented service's OpenAPI document (developer portal); edit the period here.",
        },
    )


def remove_schedule(apps: Any, schema_editor: Any) -> None:
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=REFRESH).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
