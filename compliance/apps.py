from __future__ import annotations

from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Audit and compliance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # checks and officer_checks register system checks; redaction_admin registers admin pages.
        from compliance import capture, checks, config_audit, officer_checks, redaction_admin, signals  # noqa: F401
        from proxy import lifespan, observe
        from registry import routing

        observe.subscribe(capture.observe_request)
        routing.register_loader("compliance", capture.load_rules)
        lifespan.add_hooks(capture.start, capture.stop)
        config_audit.connect()
        signals.connect()
