"""The four admin roles as Django groups: gateway admin, operator, compliance officer, viewer.

Permissions are created here (Django would only create them after every migration has run).
Apps added later (audit, exports) extend the compliance officer's group in their own migrations.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CONFIG_MODELS = ("service", "target", "route")
AUTH_MODELS = ("consumer", "apikey", "jwtissuer")
READ_MODELS = CONFIG_MODELS + AUTH_MODELS + ("configversion",)
HEALTH_MODELS = ("targethealth", "healthcheckresult", "breakerevent")  # the breaker app's, read-only


def _codenames(actions, models):
    return {f"{action}_{model}" for action in actions for model in models}


ROLES = {
    "gateway admin": None,  # every permission of every app
    "operator": _codenames(("add", "change", "delete", "view"), CONFIG_MODELS)
    | _codenames(("view",), HEALTH_MODELS)
    | {"view_configversion"},
    "compliance officer": _codenames(("view",), READ_MODELS),
    "viewer": _codenames(("view",), CONFIG_MODELS + HEALTH_MODELS + ("consumer", "configversion")),
}


def create_roles(apps, schema_editor):
    for app_config in apps.get_app_configs():
        # create_permissions skips apps without a models module, which historical app configs lack.
        original = getattr(app_config, "models_module", None)
        app_config.models_module = original or True
        try:
            create_permissions(app_config, apps=apps, verbosity=0)
        finally:
            app_config.models_module = original
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        if codenames is None:
            permissions = Permission.objects.all()
        else:
            permissions = Permission.objects.filter(
                content_type__app_label__in=("registry", "breaker"), codename__in=codenames
            )
        group.permissions.set(permissions)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0004_auth"),
        ("breaker", "0002_health_sweep_schedule"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
