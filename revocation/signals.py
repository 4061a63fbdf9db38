"""Every change to a revocation row reaches every process; sign-ins are recorded; a deactivated
account's sign-ins end."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_delete, post_save, pre_save

from registry.actors import current_actor
from revocation import services
from revocation.models import JwtRevocation


def _before_save(sender: type, instance: JwtRevocation, raw: bool = False, **kwargs: Any) -> None:
    services.fill_defaults(instance)
    if not instance.created_by:
        instance.created_by = current_actor().name[:150]
    previous = JwtRevocation.objects.filter(pk=instance.pk).first() if instance.pk else None
    instance._previous_entry = services.entry_of(previous) if previous is not None else None  # type: ignore[attr-defined]


def _after_save(sender: type, instance: JwtRevocation, **kwargs: Any) -> None:
    previous = getattr(instance, "_previous_entry", None)
    services.distribute(add=[services.entry_of(instance)], remove=[previous] if previous is not None else [])


def _after_delete(sender: type, instance: JwtRevocation, **kwargs: Any) -> None:
    services.distribute(remove=[services.entry_of(instance)])


def _signed_in(sender: Any, request: Any, user: Any, tokens: dict[str, str] | None = None, **kwargs: Any) -> None:
    services.record_sign_in(user, request, tokens)


def _user_before_save(sender: type, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if instance.pk is None or raw:
        return
    was = get_user_model()._default_manager.filter(pk=instance.pk).values_list("is_active", flat=True).first()
    instance._deactivated = bool(was) and not instance.is_active


def _user_after_save(sender: type, instance: Any, **kwargs: Any) -> None:
    if getattr(instance, "_deactivated", False):
        instance._deactivated = False
        services.user_deactivated(instance)


def connect() -> None:
    pre_save.connect(_before_save, sender=JwtRevocation, dispatch_uid="revocation-defaults")
    post_save.connect(_after_save, sender=JwtRevocation, dispatch_uid="revocation-distribute")
    post_delete.connect(_after_delete, sender=JwtRevocation, dispatch_uid="revocation-lift")
    user_logged_in.connect(_signed_in, dispatch_uid="revocation-record-sign-in")
    user = get_user_model()
    pre_save.connect(_user_before_save, sender=user, dispatch_uid="revocation-user-before")
    post_save.connect(_user_after_save, sender=user, dispatch_uid="revocation-user-deactivated")
