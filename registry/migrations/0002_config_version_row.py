from __future__ import annotations

from typing import Any

from django.db import migrations


def create_row(apps: Any, schema_editor: Any) -> None:
    ConfigVersion = apps.get_model("registry", "ConfigVersion")
    ConfigVersion.objects.get_or_create(pk=1, defaults={"version": 1})


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]

    operations = [migrations.RunPython(create_row, migrations.RunPython.noop)]
