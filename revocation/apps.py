from __future__ import annotations

from django.apps import AppConfig


class RevocationConfig(AppConfig):
    name = "revocation"
    verbose_name = "Revocation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from proxy import lifespan
        from revocation import signals
        from revocation.mirror import mirror

        signals.connect()
        lifespan.add_task("jwt-revocations", mirror.run, before=mirror.start, after=mirror.stop)
