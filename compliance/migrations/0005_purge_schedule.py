from __future__ import annotations

from typing import Any

from django.db import migrations

PURGE = "audit retention purge"


def create_schedule(apps: Any, schema_editor: Any) -> None:
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    daily, _ = crontab_model.objects.get_or_create(
        minute="30", hour="3", day_of_week="*", day_of_month="*", month_of_year="*"
    )
    task_model.objects.get_or_create(
        name=PURGE,
        defaults={
            "task": "compliance.tasks.purge_audit_events",
            "crontab": daily,
            "expire_seconds": 6 * 3600,
            "description": "Delete audit events past their retention rule (legal holds excepted); edit the time here.",
        },
    )


def remove_schedule(apps: Any, schema_editor: Any) -> None:
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=PURGE).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0004_compliance_officer_roles"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
