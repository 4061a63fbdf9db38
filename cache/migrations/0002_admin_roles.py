"""The response cache in the admin roles of registry/migrations/0005_admin_roles.py: admins and operators
change route cache settings and purge; compliance officers and viewers see the settings and the purge log."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SETTINGS = {f"{action}_routecache" for action in ("add", "change", "delete", "view")}
PURGES = {"add_cachepurge", "view_cachepurge"}
READ = {"view_routecache", "view_cachepurge"}
ROLES = {"gateway admin": SETTINGS | PURGES, "operator": SETTINGS | PURGES, "compliance officer": READ, "viewer": READ}


def add_permissions(apps, schema_editor):
    app_config = apps.get_app_config("cache")
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
        group.permissions.add(*Permission.objects.filter(content_type__app_label="cache", codename__in=codenames))


def remove_permissions(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=ROLES):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="cache"))


class Migration(migrations.Migration):
    dependencies = [
        ("cache", "0001_initial"),
        ("registry", "0005_admin_roles"),
    ]

    operations = [migrations.RunPython(add_permissions, remove_permissions)]
