"""Redaction rules are part of the routing snapshot: a change bumps the config version, so every
gateway process reloads them within about a second."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from compliance.models import RedactionRule
from registry.services import bump_config_version


def _changed(sender: type, **kwargs: Any) -> None:
    if not kwargs.get("raw"):
        bump_config_version()


def connect() -> None:
    post_save.connect(_changed, sender=RedactionRule, dispatch_uid="bump-on-save-RedactionRule")
    post_delete.connect(_changed, sender=RedactionRule, dispatch_uid="bump-on-delete-RedactionRule")
