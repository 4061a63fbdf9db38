"""Which models the configuration journal (``compliance.config_audit``) records, and under what names.

- **Access** (``kind`` ``access``, actions ``access.<model>.<verb>``): users, groups, permissions and
  every django-otp device (the second factors). A user change that only sets a new password is
  ``access.password.changed``; a device confirmed is ``access.mfa.enrolled``, deleted
  ``access.mfa.removed``. Passwords, keys and codes are never recorded: a change to one is only
  named in ``changed``.
- **Configuration** (``kind`` ``config``, ``gateway.<model>.<verb>``): every model an app tracks with
  ``registry.services.track_changes``, the compliance officer's rules, and every other model
  registered in the Django admin (Celery's periodic tasks and schedules, and whatever an app adds
  later): what a person can change in the admin is journaled.
- **Records the gateway writes itself** (an admin class derived from ``registry.admin.ReadOnlyAdmin``):
  a person can only delete them, so only a deletion made through the admin or the API is journaled
  (the gateway's own housekeeping, such as trimming health history, is not). Those that cannot be
  deleted there (the audit trail, chain gaps, jobs, the config version) are not journaled.

``tests/compliance/test_journal_every_admin_model.py`` enumerates the admin's models and proves each
change leaves one event, so a model registered later cannot be forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import models
from django_otp.models import Device

from compliance.models import AuditEvent, LegalHold, RetentionRule
from registry.actors import current_actor
from registry.admin import ReadOnlyAdmin
from registry.services import tracked_models

# Never recorded, whatever the model; a change to one is named in "changed" without its value.
SECRET_FIELDS = frozenset({"digest", "secret", "password", "client_secret", "key", "encrypted_key", "digests"})
# Bookkeeping, not configuration: a save that changes only these is not a change.
SKIP_FIELDS = frozenset(
    {
        "updated_at",
        "last_used_at",
        "last_login",  # set by every sign-in, which has its own event
        "last_run_at",  # periodic tasks: written by beat on every run
        "total_run_count",
        "date_changed",
        "last_t",  # TOTP devices: the last verified step and clock drift, written by every code check
        "drift",
        "throttling_failure_timestamp",
        "throttling_failure_count",
    }
)
# Audited although no table is built from them and they have their own admin: the officer's rules.
OFFICER_MODELS: tuple[type[models.Model], ...] = (RetentionRule, LegalHold)
# Who deletes records the gateway writes itself when it is a person (see the module docstring).
PEOPLE = frozenset({"admin", "api"})


@dataclass(frozen=True, slots=True)
class Journal:
    kind: str  # AuditEvent.Kind: config or access
    prefix: str  # the action's first part: gateway or access
    deletes_only: bool = False


CONFIG = Journal(AuditEvent.Kind.CONFIG, "gateway")
ACCESS = Journal(AuditEvent.Kind.ACCESS, "access")
PERSON_DELETES = Journal(AuditEvent.Kind.CONFIG, "gateway", deletes_only=True)


def journal_of(model: type[models.Model]) -> Journal | None:
    """How changes to ``model`` are journaled, or None when they are not."""
    if model is AuditEvent:
        return None
    if issubclass(model, Device) or model in (Group, Permission) or model is get_user_model():
        return ACCESS
    if model in OFFICER_MODELS or model in tracked_models():
        return CONFIG
    try:
        model_admin = admin.site.get_model_admin(model)
    except NotRegistered:
        return None
    if isinstance(model_admin, ReadOnlyAdmin):
        return PERSON_DELETES if model_admin.deletable else None
    return CONFIG


def records_deletion(journal: Journal) -> bool:
    return not journal.deletes_only or current_actor().source in PEOPLE


def action(model: type[models.Model], journal: Journal, verb: str, data: dict[str, Any]) -> str:
    """The dotted action of one change: ``gateway.route.updated``, ``access.mfa.enrolled``..."""
    if issubclass(model, Device):
        return f"access.mfa.{_device_verb(verb, data)}"
    if model is get_user_model() and verb == "updated" and data.get("changed") == ["password"]:
        return "access.password.changed"
    return f"{journal.prefix}.{model._meta.model_name}.{verb}"


def _device_verb(verb: str, data: dict[str, Any]) -> str:
    after = data.get("after") or {}
    before = data.get("before") or {}
    if verb == "deleted":
        return "removed"
    if after.get("confirmed") and (verb == "created" or not before.get("confirmed")):
        return "enrolled"
    return "started" if verb == "created" else "updated"


def related_names(model: type[models.Model], ids: list[Any]) -> list[str] | None:
    """Readable names of groups and permissions in a relation change (ids alone tell an officer little)."""
    if model is Permission:
        rows = Permission.objects.filter(pk__in=ids).values_list("content_type__app_label", "codename")
        return sorted(f"{app}.{codename}" for app, codename in rows)
    if model is Group:
        return sorted(Group.objects.filter(pk__in=ids).values_list("name", flat=True))
    return None
