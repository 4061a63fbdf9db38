from __future__ import annotations

from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Gateway configuration"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from registry import signals

        signals.connect()
