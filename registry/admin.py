"""The Django admin for services, their targets and routes, and a read-only config version."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Model, QuerySet
from django.http import HttpRequest, HttpResponse

from registry import validators as v
from registry.models import ConfigVersion, Route, Service, Target
from registry.services import config_change

admin.site.site_header = "Gateway admin"
admin.site.site_title = "Gateway admin"
admin.site.index_title = "Configuration"


class RouteForm(forms.ModelForm):
    def clean_methods(self) -> str:
        # Checked here so a bad method is reported once: Route.clean() would repeat the field validator.
        value: str = self.cleaned_data["methods"]
        try:
            return ",".join(v.parse_methods(value))
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None


class RouteInlineFormSet(forms.BaseInlineFormSet):
    """Route.clean() only sees saved routes; two new routes on one page must not clash either."""

    def clean(self) -> None:
        super().clean()
        seen: list[Route] = []
        for form in self.forms:
            route = form.instance
            unused_extra = route.pk is None and not form.has_changed()
            if unused_extra or not form.is_valid() or form.cleaned_data.get("DELETE") or not route.enabled:
                continue
            for other in seen:
                if _routes_clash(route, other):
                    raise ValidationError(f"Routes {other.name!r} and {route.name!r} match the same requests.")
            seen.append(route)


def _routes_clash(a: Route, b: Route) -> bool:
    same = v.route_tie_key(a.path_prefix, a.host, a.api_version, a.priority) == v.route_tie_key(
        b.path_prefix, b.host, b.api_version, b.priority
    )
    return same and v.methods_overlap(a.method_list, b.method_list)


class TargetInline(admin.TabularInline):
    model = Target
    fields = ("host", "port", "weight", "enabled")
    extra = 0


class RouteInline(admin.TabularInline):
    model = Route
    form = RouteForm
    formset = RouteInlineFormSet
    fields = ("name", "path_prefix", "host", "methods", "api_version", "priority", "enabled")
    extra = 0
    show_change_link = True


class ConfigAdmin(admin.ModelAdmin):
    """Shared bulk actions: one save per object, so signals bump the config version, grouped as one change."""

    actions = ("enable_selected", "disable_selected")

    # Every admin write is one locked config change: validation and save see the same state as any
    # concurrent API request or gateway_apply, and the whole page bumps the version once.
    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            return super().changeform_view(request, *args, **kwargs)
        with config_change():
            return super().changeform_view(request, *args, **kwargs)

    def delete_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            return super().delete_view(request, *args, **kwargs)
        with config_change():
            return super().delete_view(request, *args, **kwargs)

    @admin.action(description="Enable selected %(verbose_name_plural)s")
    def enable_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._set_enabled(request, queryset, enabled=True)

    @admin.action(description="Disable selected %(verbose_name_plural)s")
    def disable_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._set_enabled(request, queryset, enabled=False)

    def _set_enabled(self, request: HttpRequest, queryset: QuerySet[Any], *, enabled: bool) -> None:
        changed, refused = 0, []
        with config_change():
            for obj in queryset.filter(enabled=not enabled):
                obj.enabled = enabled
                if enabled:
                    try:
                        obj.full_clean()  # an enabled route may clash with another one
                    except ValidationError as exc:
                        refused.append(f"{obj}: {' '.join(exc.messages)}")
                        continue
                obj.save()
                changed += 1
        verb = "Enabled" if enabled else "Disabled"
        self.message_user(request, f"{verb} {changed} {queryset.model._meta.verbose_name_plural}.")
        for message in refused:
            self.message_user(request, f"Not enabled: {message}", level=messages.WARNING)


@admin.register(Service)
class ServiceAdmin(ConfigAdmin):
    list_display = (
        "name",
        "slug",
        "protocol",
        "lb_algorithm",
        "enabled",
        "target_count",
        "route_count",
        "updated_at",
    )
    list_editable = ("enabled",)
    list_filter = ("enabled", "protocol", "lb_algorithm")
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created_at", "updated_at")
    inlines = (TargetInline, RouteInline)
    fieldsets = (
        (None, {"fields": ("name", "slug", "description", "enabled")}),
        (
            "Upstream",
            {
                "fields": ("protocol", "base_path", "lb_algorithm", "preserve_host"),
                "description": "How the gateway reaches this service's targets.",
            },
        ),
        (
            "Timeouts and retries",
            {
                "fields": ("connect_timeout", "read_timeout", "retries"),
                "description": "Retries go to another target, only for idempotent methods.",
            },
        ),
        ("History", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Service]:
        return (
            super()
            .get_queryset(request)
            .annotate(target_total=Count("targets", distinct=True), route_total=Count("routes", distinct=True))
        )

    @admin.display(description="targets", ordering="target_total")
    def target_count(self, obj: Any) -> int:
        return int(obj.target_total)

    @admin.display(description="routes", ordering="route_total")
    def route_count(self, obj: Any) -> int:
        return int(obj.route_total)


@admin.register(Target)
class TargetAdmin(ConfigAdmin):
    list_display = ("address", "service", "weight", "enabled")
    list_editable = ("weight", "enabled")
    list_filter = ("enabled", "service")
    list_select_related = ("service",)
    search_fields = ("host", "service__name", "service__slug")
    autocomplete_fields = ("service",)
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("service", "host", "port")}),
        ("Balancing", {"fields": ("weight", "enabled"), "description": "A weight of 0 keeps the target idle."}),
        ("History", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    @admin.display(description="address", ordering="host")
    def address(self, obj: Target) -> str:
        return obj.address


@admin.register(Route)
class RouteAdmin(ConfigAdmin):
    form = RouteForm
    list_display = (
        "name",
        "host",
        "path_prefix",
        "methods",
        "api_version",
        "priority",
        "service",
        "auth_mode",
        "websocket",
        "enabled",
    )
    list_editable = ("enabled",)
    list_filter = ("enabled", "auth_mode", "websocket", "phi", "audit", "version_source", "service")
    list_select_related = ("service",)
    search_fields = ("name", "path_prefix", "host", "service__name", "service__slug")
    autocomplete_fields = ("service",)
    filter_horizontal = ("jwt_issuers",)
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "service", "enabled")}),
        (
            "Matching",
            {
                "fields": ("path_prefix", "host", "methods", "api_version", "version_source", "priority"),
                "description": "An empty host, method list or version matches any request.",
            },
        ),
        ("Forwarding", {"fields": ("strip_prefix", "max_body_bytes")}),
        (
            "Audit",
            {
                "fields": ("audit", "phi"),
                "description": "What the audit trail records; see docs/compliance.md.",
            },
        ),
        (
            "Authentication",
            {
                "fields": (
                    "auth_mode",
                    "required_roles",
                    "allow_anonymous",
                    "api_key_header",
                    "api_key_query_param",
                    "allow_gateway_users",
                    "jwt_issuers",
                    "identity_headers",
                ),
                "description": "Who may call this route; see docs/authentication.md.",
            },
        ),
        (
            "WebSocket",
            {
                "fields": (
                    "websocket",
                    "websocket_origins",
                    "websocket_token_in",
                    "websocket_max_message_bytes",
                    "websocket_max_connections",
                    "websocket_max_connections_per_consumer",
                    "websocket_idle_timeout",
                ),
                "description": "Upgrades are matched like HTTP and authenticated before the handshake; "
                "see docs/websockets.md.",
            },
        ),
        ("History", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )


@admin.register(ConfigVersion)
class ConfigVersionAdmin(admin.ModelAdmin):
    list_display = ("version", "changed_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


from registry import auth_admin  # noqa: E402, F401  (registers consumers, API keys and JWT issuers)
