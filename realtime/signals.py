"""Channel rules are part of the compiled table: saving or deleting one bumps the config version."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from realtime.models import Channel
from registry.services import bump_config_version


def _changed(sender: type, **kwargs: Any) -> None:
    if not kwargs.get("raw"):
        bump_config_version()


def connect() -> None:
    post_save.connect(_changed, sender=Channel, dispatch_uid="bump-on-save-Channel")
    post_delete.connect(_changed, sender=Channel, dispatch_uid="bump-on-delete-Channel")
