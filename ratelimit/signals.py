"""Every change to a rate policy (its row or its attachments) bumps the config version."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import m2m_changed, post_delete, post_save

from ratelimit.models import RatePolicy
from registry.services import bump_config_version


def _changed(sender: type, **kwargs: Any) -> None:
    if not kwargs.get("raw"):
        bump_config_version()


def _attachments_changed(sender: type, **kwargs: Any) -> None:
    if kwargs.get("action", "").startswith("post_"):
        bump_config_version()


def connect() -> None:
    post_save.connect(_changed, sender=RatePolicy, dispatch_uid="bump-on-save-RatePolicy")
    post_delete.connect(_changed, sender=RatePolicy, dispatch_uid="bump-on-delete-RatePolicy")
    for field in ("routes", "services", "consumers"):
        through = getattr(RatePolicy, field).through
        m2m_changed.connect(_attachments_changed, sender=through, dispatch_uid=f"bump-on-ratepolicy-{field}")
