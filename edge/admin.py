"""The edge defaults (one page for all routes) and each consumer's edge settings in the admin.

The route and service settings are sections of those pages (``edge.apps``), not pages of their own.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from edge import environment
from edge.apps import CORS_LAYOUT, IP_LAYOUT, SECURITY_LAYOUT, TRANSFORM_LAYOUT
from edge.models import ConsumerEdge, EdgeDefaults
from registry.admin import ConfigAdmin

DOCS = "See docs/edge-policies.md."


@admin.register(EdgeDefaults)
class EdgeDefaultsAdmin(ConfigAdmin):
    """One row: opening the list opens it (or the form to create it)."""

    actions = ()  # type: ignore[assignment]  # one row, nothing to enable or disable
    readonly_fields = ("updated_at", "from_environment")
    fieldsets = (
        ("CORS", {"fields": CORS_LAYOUT, "description": "For every route whose service and route inherit. " + DOCS}),
        ("CORS from the environment", {"fields": ("from_environment",)}),
        ("Security headers", {"fields": SECURITY_LAYOUT}),
        ("IP allow and deny lists", {"fields": IP_LAYOUT, "description": "A service's or route's allow list replaces "
                                     "this one; deny lists add up."}),
        ("Transformations", {"fields": TRANSFORM_LAYOUT}),
        ("History", {"fields": ("updated_at",), "classes": ("collapse",)}),
    )  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not EdgeDefaults.objects.exists()

    @admin.display(description="CORS_ORIGINS")
    def from_environment(self, obj: EdgeDefaults | None = None) -> str:
        return environment.note()

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        row = EdgeDefaults.objects.first()
        name = "change" if row is not None else "add"
        args = [row.pk] if row is not None else []
        return HttpResponseRedirect(reverse(f"admin:edge_edgedefaults_{name}", args=args))


@admin.register(ConsumerEdge)
class ConsumerEdgeAdmin(ConfigAdmin):
    list_display = ("consumer", "enabled", "ip_allow", "ip_deny", "updated_at")
    list_filter = ("enabled",)
    search_fields = ("consumer__name",)
    autocomplete_fields = ("consumer",)
    readonly_fields = ("updated_at",)
    fieldsets = (
        (None, {"fields": ("consumer", "enabled")}),
        (
            "IP allow and deny lists",
            {
                "fields": IP_LAYOUT,
                "description": "Checked after authentication, on every route the consumer calls, on top of the "
                "route's own lists. " + DOCS,
            },
        ),
        (
            "Request headers",
            {
                "fields": ("request_headers_remove", ("request_headers_set", "request_headers_add")),
                "description": "Applied after the route's transformations.",
            },
        ),
    )
