"""The edge defaults and consumer edge settings in the admin roles of registry/migrations/0005_admin_roles.py:
admins and operators manage them, compliance officers and viewers see them. (Route and service
settings are sections of those pages, covered by the route and service permissions.)"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MODELS = ("edgedefaults", "consumeredge")
MANAGE = {f"{action}_{model}" for action in ("add", "change", "delete", "view") for model in MODELS}
VIEW = {f"view_{model}" for model in MODELS}
ROLES = {"gateway admin": MANAGE, "operator": MANAGE, "compliance officer": VIEW, "viewer": VIEW}


def add_permissions(apps, schema_editor):
    app_config = apps.get_app_config("edge")
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
        group.permissions.add(*Permission.objects.filter(content_type__app_label="edge", codename__in=codenames))


def remove_permissions(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=ROLES):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="edge"))


class Migration(migrations.Migration):
    dependencies = [
        ("edge", "0001_initial"),
        ("registry", "0005_admin_roles"),
    ]

    operations = [migrations.RunPython(add_permissions, remove_permissions)]
