"""Rate policies in the admin roles of registry/migrations/0005_admin_roles.py: admins and operators
manage them, compliance officers and viewers see them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MANAGE = {f"{action}_ratepolicy" for action in ("add", "change", "delete", "view")}
ROLES = {"gateway admin": MANAGE, "operator": MANAGE, "compliance officer": {"view_ratepolicy"}, "viewer": {"view_ratepolicy"}}


def add_permissions(apps, schema_editor):
    app_config = apps.get_app_config("ratelimit")
    original = getattr(app_config, "models_module", None)
    app_config.models_module = original or True  # historical app configs have none
    try:
        create_permissions(app_config, apps=apps, verbosity=0)
    finally:
        app_config.models_module = original
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="ratelimit", codename__in=codenames))


def remove_permissions(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=ROLES):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="ratelimit"))


class Migration(migrations.Migration):
    dependencies = [
        ("ratelimit", "0001_initial"),
        ("registry", "0005_admin_roles"),
    ]

    operations = [migrations.RunPython(add_permissions, remove_permissions)]
