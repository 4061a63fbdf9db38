"""Every saved or deleted piece of configuration bumps the config version."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_delete, post_save

from registry.models import ApiKey, Consumer, JwtIssuer, Route, Service, Target
from registry.services import bump_config_version


def _changed(sender: type, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return  # loaddata: the fixture's own rows, bumped by the command that loads them
    bump_config_version()


def _route_issuers_changed(sender: type, **kwargs: Any) -> None:
    if kwargs.get("action", "").startswith("post_"):
        bump_config_version()


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
    m2m_changed.connect(_route_issuers_changed, sender=Route.jwt_issuers.through, dispatch_uid="bump-on-route-issuers")
    for model in (Service, Target, Route, Consumer, ApiKey, JwtIssuer):
        post_save.connect(_changed, sender=model, dispatch_uid=f"bump-on-save-{model.__name__}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"bump-on-delete-{model.__name__}")
