from __future__ import annotations

from typing import Any

from django.db import migrations

VERIFY = "audit chain verification"
FLUSH = "audit stream safety flush"


def create_schedules(apps: Any, schema_editor: Any) -> None:
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    daily, _ = crontab_model.objects.get_or_create(
        minute="30", hour="3", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    task_model.objects.get_or_create(
        name=VERIFY,
        defaults={
            "task": "compliance.tasks.verify_audit_chain",
            "crontab": daily,
            "description": "Verify the whole audit hash chain and record the result (AuditVerification).",
        },
    )
    every, _ = interval_model.objects.get_or_create(every=60, period="seconds")
    task_model.objects.get_or_create(
        name=FLUSH,
        defaults={
            "task": "compliance.tasks.flush_audit_events",
            "interval": every,
            "expire_seconds": 50,
            "description": "Safety net for the audit worker: drain the Redis audit stream into the chain.",
        },
    )


def remove_schedules(apps: Any, schema_editor: Any) -> None:
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[VERIFY, FLUSH]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0002_append_only"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
