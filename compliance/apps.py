from __future__ import annotations

from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Audit and compliance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # checks and officer_checks register system checks; redaction_admin registers admin pages.
        from compliance import capture, checks, config_audit, officer_checks, redaction_admin, signins  # noqa: F401
        from compliance.compile import NAME, load_audit
        from compliance.models import RedactionRule, RetentionRule, RouteAudit
        from proxy import lifespan, observe
        from registry.declarative import kinds
        from registry.models import Service
        from registry.sections import Section, attach
        from registry.services import track_changes
        from registry.snapshot import register_loader

        attach(
            Section(
                RouteAudit,
                "Audit",
                ("audit", "phi"),
                "What the audit trail records; see docs/compliance.md.",
                list_filter=("phi", "audit"),
            )
        )
        track_changes(RedactionRule)
        kinds.register(kinds.Kind("redaction_rules", RedactionRule, "redaction rule", identity=("kind", "name")))
        kinds.register(
            kinds.Kind(
                "retention_rules",
                RetentionRule,
                "retention rule",
                identity=("service", "phi"),
                refs={"service": kinds.Ref(Service, "slug")},
            )
        )
        register_loader(NAME, load_audit)
        observe.subscribe(capture.observe_request, before_last_byte=True)
        drainer = capture.drainer
        lifespan.add_task("audit-drainer", drainer.run, before=drainer.open, after=drainer.close)
        config_audit.connect()
        signins.connect()
