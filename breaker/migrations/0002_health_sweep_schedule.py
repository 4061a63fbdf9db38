from __future__ import annotations

from typing import Any

from django.db import migrations

SWEEP = "gateway health sweep"


def create_schedule(apps: Any, schema_editor: Any) -> None:
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = interval_model.objects.get_or_create(every=5, period="seconds")
    task_model.objects.get_or_create(
        name=SWEEP,
        defaults={
            "task": "breaker.tasks.probe_targets",
            "interval": every,
            "expire_seconds": 30,  # a sweep queued while no worker ran is not worth running later
            "description": "Probe each target's health path (per-service interval); edit the period here.",
        },
    )


def remove_schedule(apps: Any, schema_editor: Any) -> None:
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=SWEEP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("breaker", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
