"""The admin roles (registry 0005) get the Channel model: operators manage it, the others view it."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = {
    "gateway admin": ("add", "change", "delete", "view"),
    "operator": ("add", "change", "delete", "view"),
    "compliance officer": ("view",),
    "viewer": ("view",),
}


def grant(apps, schema_editor):
    app_config = apps.get_app_config("realtime")
    original = getattr(app_config, "models_module", None)
    app_config.models_module = original or True
    try:
        create_permissions(app_config, apps=apps, verbosity=0)
    finally:
        app_config.models_module = original
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, actions in ROLES.items():
        group = Group.objects.filter(name=name).first()
        if group is None:
            continue
        codenames = [f"{action}_channel" for action in actions]
        group.permissions.add(*Permission.objects.filter(content_type__app_label="realtime", codename__in=codenames))


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=ROLES):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="realtime"))


class Migration(migrations.Migration):
    dependencies = [
        ("realtime", "0001_initial"),
        ("registry", "0005_admin_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
