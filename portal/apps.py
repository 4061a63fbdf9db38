from __future__ import annotations

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Developer portal"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portal import checks  # noqa: F401  (checks register themselves)
        from portal.compile import NAME, load_portal
        from portal.models import RoutePortal, ServicePortal
        from registry.sections import Section, attach
        from registry.snapshot import register_loader

        attach(
            Section(
                ServicePortal,
                "Developer portal",
                ("openapi_url", "publish_docs"),
                "The backend's OpenAPI document (3.0 or 3.1), fetched by the Celery refresh (Periodic tasks: "
                "gateway API document refresh) or the 'refresh now' action; see docs/portal.md.",
                list_display=("publish_docs",),
                list_filter=("publish_docs",),
            )
        )
        attach(
            Section(
                RoutePortal,
                "Request validation",
                ("validate_requests",),
                "Against the service's OpenAPI document (developer portal section of the service).",
                list_display=("validate_requests",),
                list_filter=("validate_requests",),
            )
        )
        register_loader(NAME, load_portal)
