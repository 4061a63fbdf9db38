"""Every saved or deleted piece of core configuration bumps the config version."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save

from registry.models import ApiKey, Consumer, JwtIssuer, Route, Service, Target
from registry.services import bump_config_version, track_changes


def _user_changed(sender: type, instance: Any, **kwargs: Any) -> None:
    # A linked user's admin API tokens act as its consumer: deactivating the user must reach the table.
    # Logins save last_login on every sign-in; those are not configuration changes.
    fields = kwargs.get("update_fields")
    if kwargs.get("raw") or (fields is not None and set(fields) <= {"last_login"}):
        return
    if Consumer.objects.filter(user_id=instance.pk).exists():
        bump_config_version()


def connect() -> None:
    user_model = get_user_model()
    post_save.connect(_user_changed, sender=user_model, dispatch_uid="bump-on-linked-user-save")
    post_delete.connect(_user_changed, sender=user_model, dispatch_uid="bump-on-linked-user-delete")
    for model in (Service, Target, Consumer, ApiKey, JwtIssuer):
        track_changes(model)
    track_changes(Route, "jwt_issuers")
