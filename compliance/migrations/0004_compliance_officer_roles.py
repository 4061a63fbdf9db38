"""The admin roles' permissions on the compliance app (the groups come from registry 0005).

compliance officer: view every compliance model, export and verify audit events, add/change
retention rules, legal holds, redaction rules and compliance jobs; never a change on registry or
breaker models. viewer: view audit events, no export. gateway admin: every compliance permission.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MODELS = ("auditevent", "chaingap", "redactionrule", "retentionrule", "legalhold", "auditverification", "compliancejob")
OFFICER_EDITS = ("retentionrule", "legalhold", "redactionrule", "compliancejob")

OFFICER = (
    {f"view_{m}" for m in MODELS}
    | {"export_auditevent", "verify_auditevent"}
    | {f"{a}_{m}" for a in ("add", "change") for m in OFFICER_EDITS}
)
VIEWER = {"view_auditevent"}


def grant(apps, schema_editor):
    app_config = apps.get_app_config("compliance")
    original = getattr(app_config, "models_module", None)
    app_config.models_module = original or True  # historical app configs lack one (see registry 0005)
    try:
        create_permissions(app_config, apps=apps, verbosity=0)
    finally:
        app_config.models_module = original
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    mine = Permission.objects.filter(content_type__app_label="compliance")
    officer, _ = Group.objects.get_or_create(name="compliance officer")
    officer.permissions.add(*mine.filter(codename__in=OFFICER))
    # Defensive: whatever else happened to the group, it never changes the gateway's configuration.
    officer.permissions.remove(
        *Permission.objects.filter(content_type__app_label__in=("registry", "breaker")).exclude(codename__startswith="view_")
    )
    viewer, _ = Group.objects.get_or_create(name="viewer")
    viewer.permissions.add(*mine.filter(codename__in=VIEWER))
    admin, _ = Group.objects.get_or_create(name="gateway admin")
    admin.permissions.add(*mine)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    mine = Permission.objects.filter(content_type__app_label="compliance")
    for group in Group.objects.filter(name__in=("compliance officer", "viewer", "gateway admin")):
        group.permissions.remove(*mine)


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0003_audit_schedules"),
        ("registry", "0005_admin_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
